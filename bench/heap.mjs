#!/usr/bin/env -S node --expose-gc
// Heap per cached token (issue: lean cache entries): the kit with its default cache, heap used after GC with
// 10,000 distinct tokens cached minus heap used before, divided by 10,000. RS256 JWTs with the claims an
// authorization server typically puts in an access token (iss, sub, aud, client_id, scope, iat, exp, jti), each
// verified three times (the cache admits a JWT on its second sight; the third is a hit); and opaque tokens, each
// introspected once at the light loopback AS (bench/lite-as.mjs). The reference: a payload-only LRU (the
// decoded payload under the token's SHA-256), the least a verified-token cache can hold.
//
//   node --expose-gc bench/heap.mjs [--results] [distEsmDir ...]   (default: this checkout's dist/esm; build first)
//
// Prints one JSON line per build: `{ dir, jwtBytes, opaqueBytes, payloadLruBytes }`; with --results, also appends
// a section with the target (≤ 600 bytes per cached token) to bench/RESULTS.md (`npm run bench` does).
import { generateKeyPairSync, randomBytes, sign, hash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { resolve, join, dirname } from 'node:path';
import { LRUCache } from 'lru-cache';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const N = Number(process.env.HEAP_TOKENS ?? 10_000);
const results = process.argv.includes('--results');
const dirs = process.argv.slice(2).filter((a) => a !== '--results');
const TARGET_BYTES = 600;
if (dirs.length === 0) dirs.push(fileURLToPath(new URL('../dist/esm', import.meta.url)));
const ISSUER = 'https://as.example.com';
const RESOURCE = 'https://api.example.com/orders';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench-1', alg: 'RS256', use: 'sig' };
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const header = b64({ alg: 'RS256', typ: 'at+jwt', kid: 'bench-1' });
const now = Math.floor(Date.now() / 1000);
const tokens = Array.from({ length: N }, (_, i) => {
  const payload = b64({
    iss: ISSUER,
    sub: `user-${100000 + i}`,
    aud: RESOURCE,
    client_id: 'web-app-4f2a9c',
    scope: 'read:orders write:orders',
    iat: now,
    exp: now + 3600,
    jti: randomBytes(12).toString('base64url'),
  });
  return `${header}.${payload}.${sign('sha256', Buffer.from(`${header}.${payload}`), privateKey).toString('base64url')}`;
});
const opaque = Array.from({ length: N }, () => randomBytes(32).toString('base64url'));

function heapAfterGc() {
  for (let i = 0; i < 4; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
}

async function liteAs() {
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'lite-as.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, LITE_AS_RESOURCE: RESOURCE },
  });
  const port = await new Promise((r) => createInterface({ input: child.stdout }).once('line', (l) => r(Number(l.split(' ')[1]))));
  return { child, issuer: `http://127.0.0.1:${port}` };
}

const as = await liteAs();
try {
  for (const dir of dirs) {
    const { ResourceServer } = await import(pathToFileURL(resolve(dir, 'index.js')).href);
    const req = (t) => ({ headers: { authorization: `Bearer ${t}` }, method: 'GET', url: '/orders' });

    // JWTs: the default cache.
    let rs = new ResourceServer({ issuer: { issuer: ISSUER, jwks: { keys: [jwk] } }, resource: RESOURCE, logger: false });
    const warm = `${header}.${b64({ iss: ISSUER, sub: 'w', aud: RESOURCE, client_id: 'w', scope: 'read:orders', iat: now, exp: now + 3600, jti: 'w' })}`;
    rs.authenticate(req(`${warm}.${sign('sha256', Buffer.from(warm), privateKey).toString('base64url')}`));
    let before = heapAfterGc();
    for (let pass = 0; pass < 3; pass++) for (const t of tokens) rs.authenticate(req(t));
    const jwtBytes = (heapAfterGc() - before) / N;
    rs = undefined;

    // Opaque tokens: introspected once each (an active answer is cached at once).
    rs = new ResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { clientId: 'rs-client', clientSecret: 'rs-secret', endpoint: `${as.issuer}/introspect` },
      },
      resource: RESOURCE,
      logger: false,
    });
    // Warm-up as wide as the measurement, so that its keep-alive sockets are open before the baseline.
    await Promise.all(Array.from({ length: 64 }, (_, i) => rs.authenticate(req(`warm-up-token-${i}`))));
    rs.verifier.clearCache();
    before = heapAfterGc();
    for (let i = 0; i < N; i += 64) await Promise.all(opaque.slice(i, i + 64).map((t) => rs.authenticate(req(t))));
    const opaqueBytes = (heapAfterGc() - before) / N;
    rs = undefined;

    // The reference: decoded payloads under their SHA-256.
    let lru = new LRUCache({ max: 50_000 });
    before = heapAfterGc();
    for (const t of tokens) lru.set(hash('sha256', t, 'base64url'), JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString('utf8')));
    const payloadLruBytes = (heapAfterGc() - before) / N;
    lru = undefined;
    console.log(
      JSON.stringify({
        dir,
        jwtBytes: Math.round(jwtBytes),
        opaqueBytes: Math.round(opaqueBytes),
        payloadLruBytes: Math.round(payloadLruBytes),
      }),
    );
    if (results) {
      const verdict = (b) => `≤ ${TARGET_BYTES}: ${b <= TARGET_BYTES ? 'PASS' : 'MISS'}`;
      appendFileSync(
        new URL('RESULTS.md', import.meta.url),
        [
          '',
          '## Heap per cached token',
          '',
          '| cached token | bytes of heap per token (after GC, 10,000 cached) | target |',
          '|---|---:|---|',
          `| RS256 JWT, default cache (iss, sub, aud, client_id, scope, iat, exp, jti) | ${Math.round(jwtBytes)} | ${verdict(jwtBytes)} |`,
          `| opaque token, introspected (default cache) | ${Math.round(opaqueBytes)} | ${verdict(opaqueBytes)} |`,
          `| reference: the decoded payload under its SHA-256 in an LRU | ${Math.round(payloadLruBytes)} | |`,
          '',
          `\`node --expose-gc bench/heap.mjs\`: heap used after GC with ${N.toLocaleString('en-US')} distinct tokens cached, minus before, per token; each JWT verified three times (it is cached on its second sight).`,
          '',
        ].join('\n'),
      );
    }
  }
} finally {
  as.child.stdin.end();
}
