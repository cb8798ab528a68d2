#!/usr/bin/env node
// In-process cost of one cache-miss JWT verification (signature, header, claims, audience, scopes), with the
// verified-token cache off so that every call is a miss. Compares builds: pass one or more dist/esm directories
// (default: this checkout's, after `npm run build`); rounds are interleaved and medians reported.
//
//   node bench/verify-miss.mjs [--hs256] [distEsmDir ...]
//
// The token carries the default RFC 9068 claims and `profile` is left at its default. RS256 by default; --hs256
// makes the signature cheap (~2 µs instead of ~25 µs), so that what the kit adds around it stands out.
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const hs256 = args.includes('--hs256');
const dirs = args.filter((a) => a !== '--hs256');
if (dirs.length === 0) dirs.push(new URL('../dist/esm', import.meta.url).pathname);
const ROUNDS = 15;
const CALLS = 4000;

const { privateKey, publicKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
const issuer = 'https://issuer.test';
const resource = 'https://api.example.com';
const now = Math.floor(Date.now() / 1000);
const secret = new TextEncoder().encode('a-32-byte-or-longer-shared-secret!');
const token = await new SignJWT({
  iss: issuer,
  sub: 'u',
  aud: resource,
  client_id: 'c',
  iat: now,
  exp: now + 3600,
  jti: 'j',
  scope: 'read:orders write:orders',
})
  .setProtectedHeader({ alg: hs256 ? 'HS256' : 'RS256', typ: 'at+jwt', kid: 'k1' })
  .sign(hs256 ? secret : privateKey);
const trusted = hs256 ? { issuer, secret, algorithms: ['HS256'] } : { issuer, jwks: { keys: [jwk] } };
const req = { headers: { authorization: `Bearer ${token}` }, method: 'GET', url: '/orders' };

const servers = [];
for (const dir of dirs) {
  const { ResourceServer } = await import(pathToFileURL(resolve(dir, 'index.js')).href);
  const rs = new ResourceServer({ issuer: trusted, resource, cache: false, logger: false });
  const first = rs.authenticate(req);
  if (!first || first instanceof Promise || first.context.clientId !== 'c')
    throw new Error(`${dir}: the token is not verified synchronously`);
  servers.push({ dir, rs, samples: [] });
}

for (let round = 0; round < ROUNDS; round++) {
  for (const s of servers) {
    for (let i = 0; i < 500; i++) s.rs.authenticate(req); // warm
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) s.rs.authenticate(req);
    s.samples.push(Number(process.hrtime.bigint() - t0) / CALLS / 1000);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const s of servers) {
  console.log(
    `${hs256 ? 'HS256' : 'RS256'} cache-miss verify: median ${median(s.samples).toFixed(2)} µs, best round ${Math.min(...s.samples).toFixed(2)} µs  (${s.dir})`,
  );
}
