#!/usr/bin/env node
// How many DPoP proofs one process checks per second, in-process (ResourceServer.authenticate(), no HTTP):
// the rate the default dpop.maxReplayEntries is sized from (DEFAULTS.dpopProofsPerSecond × the replay
// window), and what a full replay set costs in memory. One DPoP-bound token (verified once, then cached)
// and a fresh proof per call, per proof algorithm. Proofs are signed before the clock starts.
//
//   npm run build && node --expose-gc bench/dpop-capacity.mjs        (BENCH_PROOFS=30000 per algorithm)
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { ResourceServer } from '../dist/esm/index.js';

const PROOFS = Number(process.env.BENCH_PROOFS ?? 30_000);
const ISSUER = 'https://as.example.com';
const API = 'https://api.example.com';
const b64u = (x) => Buffer.from(x).toString('base64url');

const asKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const asJwk = { ...asKey.publicKey.export({ format: 'jwk' }), kid: 'as', alg: 'ES256' };
function accessToken(jkt) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64u(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'as' }))}.${b64u(JSON.stringify({ iss: ISSUER, sub: 'u', aud: API, client_id: 'c', iat: now, exp: now + 3600, jti: 'j', cnf: { jkt } }))}`;
  return `${input}.${b64u(sign('sha256', Buffer.from(input), { key: asKey.privateKey, dsaEncoding: 'ieee-p1363' }))}`;
}

const ALGS = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  Ed25519: () => generateKeyPairSync('ed25519'),
};
function signer(alg, privateKey) {
  if (alg === 'RS256') return (d) => sign('sha256', d, privateKey);
  if (alg === 'ES256') return (d) => sign('sha256', d, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return (d) => sign(null, d, privateKey);
}
function thumbprint(jwk) {
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: 'RSA', n: jwk.n }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y }
        : { crv: jwk.crv, kty: 'OKP', x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

// Memory of a full replay set (the default bound), first, on a fresh heap: fill a set with N distinct keys
// and compare the heap before and after.
if (typeof globalThis.gc === 'function') {
  globalThis.gc();
  const { ExpiringSet } = await import('../dist/esm/stores/expiring-set.js');
  const N = Number(process.env.BENCH_REPLAY_ENTRIES ?? 2_130_000);
  // As the kit's keys: 128 bits of a SHA-256, base64url (22 characters).
  const keys = Array.from({ length: N }, () => createHash('sha256').update(randomBytes(16)).digest().toString('base64url', 0, 16));
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const set = new ExpiringSet({ ttlMs: 71_000, maxEntries: N });
  const now = Date.now();
  for (const k of keys) set.add(k, now);
  globalThis.gc();
  const entry = (process.memoryUsage().heapUsed - before) / N;
  // The key strings are held by `keys` here; in the kit the set is their only holder.
  const keyBytes = 16 + 24; // a one-byte string header plus 22 characters, rounded to 8 bytes
  console.log(
    `replay set of ${set.size} entries: ~${Math.round(entry + keyBytes)} bytes per entry (${Math.round(entry)} for the Map entry, ~${keyBytes} for the key)`,
  );
}

const results = [];
for (const [alg, make] of Object.entries(ALGS)) {
  const { privateKey, publicKey } = make();
  const jwk = publicKey.export({ format: 'jwk' });
  const token = accessToken(thumbprint(jwk));
  const ath = createHash('sha256').update(token).digest('base64url');
  const header = b64u(JSON.stringify({ typ: 'dpop+jwt', alg, jwk }));
  const sig = signer(alg, privateKey);
  const iat = Math.floor(Date.now() / 1000);
  const proofs = Array.from({ length: PROOFS }, () => {
    const input = `${header}.${b64u(JSON.stringify({ jti: randomBytes(12).toString('base64url'), htm: 'GET', htu: `${API}/orders`, iat, ath }))}`;
    return `${input}.${b64u(sig(Buffer.from(input)))}`;
  });
  // A fresh server per algorithm, with room for every proof: this measures checks, not refusals.
  const rs = new ResourceServer({
    issuer: { issuer: ISSUER, jwks: { keys: [asJwk] } },
    resource: API,
    dpop: { baseUrl: API, algorithms: [alg], maxReplayEntries: PROOFS + 1 },
    logger: false,
  });
  const req = (p) => ({ method: 'GET', url: '/orders', headers: { authorization: `DPoP ${token}`, dpop: p } });
  await rs.authenticate(req(proofs[0])); // the token is verified once and cached
  const warm = Math.min(2000, PROOFS / 10);
  for (let i = 1; i < warm; i++) rs.authenticate(req(proofs[i]));
  const start = process.hrtime.bigint();
  for (let i = warm; i < PROOFS; i++) rs.authenticate(req(proofs[i]));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  results.push({ alg, perSecond: Math.round((PROOFS - warm) / seconds) });
}
for (const r of results) console.log(`${r.alg.padEnd(8)} ${String(r.perSecond).padStart(7)} proofs/s`);
