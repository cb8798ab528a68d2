#!/usr/bin/env node
// Bytes allocated and time per call on the per-request path, with real Node requests (an IncomingMessage whose
// headers are built from its raw list, a fresh header string each, as the HTTP parser gives): a cached RS256 token.
// Heap used before and after 20,000 calls with the young generation made large enough that no GC runs between.
//
//   node --expose-gc --max-semi-space-size=256 --min-semi-space-size=256 bench/alloc-probe.mjs
import http from 'node:http';
import net from 'node:net';
import { hash } from 'node:crypto';

if (typeof globalThis.gc !== 'function') {
  console.error('run with --expose-gc --max-semi-space-size=256 --min-semi-space-size=256');
  process.exit(2);
}
const { ResourceServer } = await import('../dist/esm/index.js');
const { extractBearerToken } = await import('../dist/esm/token/extract.js');
const { createTestIssuer, signTestToken } = await import('../dist/esm/testing/index.js');
const testIssuer = await createTestIssuer();
const resource = 'https://api.example.com';
const token = await signTestToken(testIssuer, { audience: resource, scope: 'read:orders', expiresIn: 3600 });
const rs = new ResourceServer({ issuer: testIssuer.trustedIssuer, resource, logger: false });
const socket = new net.Socket();
const CALLS = 20_000;

function request() {
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/orders';
  const raw = ['Host', 'localhost', 'Authorization', `Bearer ${token} `.slice(0, -1)];
  req._addHeaderLines(raw, raw.length);
  return req;
}

function measure(label, fn) {
  const reqs = Array.from({ length: CALLS }, request);
  for (const r of reqs) void r.headers; // built first: bare Express pays for that too
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (const r of reqs) fn(r);
  const ns = Number(process.hrtime.bigint() - t0) / CALLS;
  const bytes = (process.memoryUsage().heapUsed - before) / CALLS;
  console.log(`${label.padEnd(34)} ${bytes.toFixed(0).padStart(5)} bytes/call ${ns.toFixed(0).padStart(6)} ns/call`);
}

for (let i = 0; i < 3; i++) rs.authenticate(request()); // cached from its second sight
const o = rs.options;
for (let round = 0; round < 3; round++) {
  measure('SHA-256 of the token (reference)', (r) => hash('sha256', r.headers.authorization.slice(7), 'base64url'));
  measure('extractBearerToken', (r) => extractBearerToken(r, o.tokenLocations, o.maxTokenLength, false));
  measure('authenticate (cached token)', (r) => rs.authenticate(r));
}
