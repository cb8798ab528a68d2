// The introspection part of `npm run bench` (issue: opaque tokens): with the cache on, one opaque token
// repeated against bare Express in the same run (target ≥ 0.85×), and the number of AS calls for 10,000
// requests over 100 distinct tokens (target: 100, and 1 for 100 identical requests at once).
import { writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { APPS, ORDERS, BENCH_DIR, fail, log, median, pinSelf, positiveInt, preflight, runMain, startApp, startAuthorizationServer, stopApp, tempDir, wrk, checkRun } from './lib.mjs';

const DURATION = positiveInt('BENCH_DURATION', 5);
const ROUNDS = positiveInt('BENCH_ROUNDS', 3);

function get(port, token, agent) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/orders', headers: { authorization: `Bearer ${token}` }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
  });
}

await runMain(async () => {
  preflight();
  pinSelf('1');
  const as = await startAuthorizationServer();
  const env = { BENCH_ISSUER: as.issuer, BENCH_RESOURCE: ORDERS, BENCH_CLIENT_ID: as.resourceServerClient.clientId, BENCH_CLIENT_SECRET: as.resourceServerClient.clientSecret };
  const bareApp = APPS.find((a) => a.id === 'bare');
  const kitApp = { label: 'oauth-resource-server (introspection)', file: 'apps/kit-opaque.mjs' };
  const dir = tempDir();
  const one = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders', format: 'opaque' });
  const oneFile = join(dir, 'opaque-one.txt');
  writeFileSync(oneFile, `${one}\n`);

  // 1. AS calls: 10,000 requests over 100 distinct tokens, then 100 identical requests at once.
  const kit = await startApp(kitApp, env);
  const tokens = [];
  for (let i = 0; i < 100; i++) tokens.push(await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders', format: 'opaque' }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let before = as.requests.introspection;
  for (let round = 0; round < 100; round++) {
    const statuses = await Promise.all(tokens.map((t) => get(kit.port, t, agent)));
    if (statuses.some((s) => s !== 200)) fail(`introspection app answered ${statuses.find((s) => s !== 200)}`);
  }
  const callsFor10k = as.requests.introspection - before;
  const fresh = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders', format: 'opaque' });
  before = as.requests.introspection;
  await Promise.all(Array.from({ length: 100 }, () => get(kit.port, fresh, agent)));
  const callsFor100Concurrent = as.requests.introspection - before;
  agent.destroy();

  // 2. Throughput, interleaved: bare Express; the kit with one opaque token repeated (cache warm); the kit
  // with its cache off over 500 opaque tokens (every request an AS call; distinct tokens, so requests in
  // flight are never coalesced); the peer's JWT path (one RS256 token: it has no cache, every request is a
  // full check). The AS shares core 1 with wrk, as it would share a machine with other work.
  const pool = [];
  for (let i = 0; i < 500; i++) pool.push(await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders', format: 'opaque' }));
  const poolFile = join(dir, 'opaque-pool.txt');
  writeFileSync(poolFile, `${pool.join('\n')}\n`);
  const jwtFile = join(dir, 'jwt-one.txt');
  writeFileSync(jwtFile, `${await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' })}\n`);
  const uncached = await startApp({ label: 'oauth-resource-server (introspection, no cache)', file: 'apps/kit-opaque.mjs' }, { ...env, BENCH_INTROSPECTION_CACHE: 'off' });
  const peer = await startApp(APPS.find((a) => a.id === 'peer'), { ...env, BENCH_JWKS_URI: as.jwksUri });
  const bare = await startApp(bareApp, env);
  const runs = [
    { id: 'bare', app: bare, file: oneFile },
    { id: 'kit', app: kit, file: oneFile },
    { id: 'uncached', app: uncached, file: poolFile },
    { id: 'peer', app: peer, file: jwtFile },
  ];
  for (const r of runs) checkRun(`warm-up ${r.app.label}`, await wrk(r.app.port, r.file, 2, r.app.child.pid));
  const rps = Object.fromEntries(runs.map((r) => [r.id, []]));
  let uncachedCalls = 0;
  let uncachedRequests = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runs.map((_, i) => runs[(i + round) % runs.length])) {
      const calls = as.requests.introspection;
      const res = await wrk(r.app.port, r.file, DURATION, r.app.child.pid);
      checkRun(`${r.app.label} round ${round + 1}`, res);
      rps[r.id].push(res.rps);
      if (r.id === 'uncached') {
        uncachedCalls += as.requests.introspection - calls;
        uncachedRequests += res.requests;
      }
      log(`  round ${round + 1} ${r.app.label.padEnd(48)} ${String(Math.round(res.rps)).padStart(6)} req/s  p99 ${(res.p99_us / 1000).toFixed(2)} ms  app CPU ${Math.round(res.appCpu * 100)} %`);
    }
  }
  for (const r of runs) await stopApp(r.app);
  const ratio = (a, b) => median(rps[a].map((x, i) => x / rps[b][i]));
  const cachedBare = ratio('kit', 'bare');
  const uncachedPeer = ratio('uncached', 'peer');
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  // Every uncached request is one AS call (wrk's last requests may be cut off before they are counted).
  const perRequest = uncachedCalls / uncachedRequests;
  const lines = [
    '',
    '## Opaque tokens (introspection)',
    '',
    `| measure | value | target |`,
    `|---|---:|---|`,
    `| bare Express req/s (median, same run) | ${fmt(median(rps.bare))} | |`,
    `| one opaque token repeated, cache warm: kit req/s (median) | ${fmt(median(rps.kit))} | |`,
    `| kit cached × bare (median of per-round ratios) | ${cachedBare.toFixed(2)} | ≥ 0.85: ${cachedBare >= 0.85 ? 'PASS' : 'MISS'} |`,
    `| 500 opaque tokens, cache off (an AS call per request): kit req/s (median) | ${fmt(median(rps.uncached))} | |`,
    `| express-oauth2-jwt-bearer, one JWT (its every-request path): req/s (median) | ${fmt(median(rps.peer))} | |`,
    `| kit uncached × peer's JWT path | ${uncachedPeer.toFixed(2)} | ≥ 1.0: ${uncachedPeer >= 1 ? 'PASS' : 'MISS'} |`,
    `| AS introspection calls per uncached request | ${perRequest.toFixed(3)} | ≈ 1 (checks the cache was off) |`,
    `| AS introspection calls for 10,000 requests over 100 distinct tokens | ${callsFor10k} | 100: ${callsFor10k === 100 ? 'PASS' : 'MISS'} |`,
    `| AS introspection calls for 100 identical requests at once (uncached token) | ${callsFor100Concurrent} | 1: ${callsFor100Concurrent === 1 ? 'PASS' : 'MISS'} |`,
    '',
    `wrk -t1 -c32 -d${DURATION}s, ${ROUNDS} interleaved rounds; apps on core 0, wrk + the AS (oidc-provider, in the bench process) on core 1.`,
  ];
  console.log(lines.join('\n'));
  appendFileSync(join(BENCH_DIR, 'RESULTS.md'), `${lines.join('\n')}\n`);
  log('appended to bench/RESULTS.md');
  return 0;
});
