#!/usr/bin/env node
// In-process A/B of builds on the per-request path, without HTTP: what `ResourceServer#authenticate` costs per
// call in three scenarios, for each build given (default: this checkout's dist/esm, after `npm run build`).
// Rounds are interleaved between builds; medians reported. Used to show that a change leaves the path no slower.
//
//   node bench/ab.mjs [distEsmDir ...]
//
//   hit   one RS256 token, cached (the hot path: hash, cache hit, audience check)
//   new   a never-seen RS256 token per call, default cache (admission on second sight)
//   off   a never-seen RS256 token per call, `cache: false`
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push(new URL('../dist/esm', import.meta.url).pathname);
const ROUNDS = 9;
const HIT_CALLS = 200_000;
const NEW_CALLS = 2_000;

const { privateKey, publicKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
const issuer = 'https://issuer.test';
const resource = 'https://api.example.com';
const now = Math.floor(Date.now() / 1000);
const sign = (i) =>
  new SignJWT({
    iss: issuer,
    sub: `user-${i}`,
    aud: resource,
    client_id: 'c',
    iat: now,
    exp: now + 3600,
    jti: `j-${i}`,
    scope: 'read:orders write:orders',
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
    .sign(privateKey);
const fresh = [];
const needed = ROUNDS * dirs.length * 2 * (NEW_CALLS + 200);
for (let i = 0; i < needed; i++) fresh.push(await sign(i));
let next = 0;
const request = (token) => ({ headers: { authorization: `Bearer ${token}` }, method: 'GET', url: '/orders' });
const hitRequest = request(await sign('hot'));

const builds = [];
for (const dir of dirs) {
  const { ResourceServer } = await import(pathToFileURL(resolve(dir, 'index.js')).href);
  const trusted = { issuer, jwks: { keys: [jwk] } };
  const cached = new ResourceServer({ issuer: trusted, resource, logger: false });
  const uncached = new ResourceServer({ issuer: trusted, resource, cache: false, logger: false });
  for (const rs of [cached, uncached]) {
    const first = rs.authenticate(hitRequest);
    if (!first || first instanceof Promise || first.context.clientId !== 'c')
      throw new Error(`${dir}: the token is not verified synchronously`);
  }
  builds.push({ dir, cached, uncached, hit: [], new: [], off: [] });
}

const time = (calls, fn) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn();
  return Number(process.hrtime.bigint() - t0) / calls / 1000;
};
for (let round = 0; round < ROUNDS; round++) {
  for (const b of builds) {
    time(20_000, () => b.cached.authenticate(hitRequest));
    b.hit.push(time(HIT_CALLS, () => b.cached.authenticate(hitRequest)));
    time(200, () => b.cached.authenticate(request(fresh[next++])));
    b.new.push(time(NEW_CALLS, () => b.cached.authenticate(request(fresh[next++]))));
    b.off.push(time(NEW_CALLS, () => b.uncached.authenticate(request(fresh[next++]))));
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log('median µs per authenticate() call (hit: cached token; new: a new token, default cache; off: cache off)');
for (const b of builds) {
  console.log(`  hit ${median(b.hit).toFixed(3)}  new ${median(b.new).toFixed(2)}  off ${median(b.off).toFixed(2)}   ${b.dir}`);
}
