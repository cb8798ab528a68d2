// The introspection part of `npm run bench` (opaque tokens):
// 1. AS calls, counted at the dev AS (oidc-provider): 10,000 requests over 100 distinct tokens (target 100), and
//    100 identical requests at once with a token not yet cached (target 1).
// 2. Throughput against the light loopback AS (bench/lite-as.mjs, a process of its own on core 1 beside wrk: the dev
//    AS's own CPU per call would hide the client's): bare Express; the kit with one opaque token repeated (cache
//    warm, target ≥ 0.85× bare); the kit with its cache off over 10,000 distinct tokens (an AS call per request:
//    target ≥ 0.9× the raw client and ≥ 1.0× the peer's JWT path); a raw keep-alive node:http introspection
//    middleware (bench/apps/raw-introspection.mjs) over the same tokens; express-oauth2-jwt-bearer with one RS256
//    token (it has no cache: every request is its full check). Interleaved rounds, medians of per-round ratios,
//    p99 for every app, the AS's CPU per introspection call and the connections it accepted.
import { writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import {
  APPS,
  ORDERS,
  BENCH_DIR,
  fail,
  log,
  median,
  pinSelf,
  positiveInt,
  preflight,
  runMain,
  startApp,
  startAuthorizationServer,
  stopApp,
  tempDir,
  track,
  wrk,
  checkRun,
} from './lib.mjs';

const DURATION = positiveInt('BENCH_DURATION', 5);
// Five rounds: one round's ratio moves ±10 % on this machine; the median of five is the verdict of one run.
const ROUNDS = positiveInt('BENCH_ROUNDS', 5);
const DISTINCT = 10_000;
const CLIENT = { clientId: 'bench-rs', clientSecret: 'bench-rs-secret' };

function get(port, token, agent) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/orders', headers: { authorization: `Bearer ${token}` }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
  });
}

/** The light AS, pinned to core 1: its issuer, and its counters (introspection calls, connections, CPU µs). */
async function startLiteAs() {
  const child = track(
    spawn('taskset', ['-c', '1', process.execPath, join(BENCH_DIR, 'lite-as.mjs')], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, LITE_AS_CLIENT_ID: CLIENT.clientId, LITE_AS_CLIENT_SECRET: CLIENT.clientSecret, LITE_AS_RESOURCE: ORDERS },
    }),
  );
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const port = Number((await next()).split(' ')[1]);
  return {
    issuer: `http://127.0.0.1:${port}`,
    async stats() {
      child.stdin.write('stats\n');
      return JSON.parse((await next()).slice('STATS '.length));
    },
    close: () => child.stdin.end(),
  };
}

await runMain(async () => {
  preflight();
  pinSelf('1');
  const as = await startAuthorizationServer();
  const devEnv = {
    BENCH_ISSUER: as.issuer,
    BENCH_RESOURCE: ORDERS,
    BENCH_CLIENT_ID: as.resourceServerClient.clientId,
    BENCH_CLIENT_SECRET: as.resourceServerClient.clientSecret,
  };
  const opaqueApp = (label) => ({ label, file: 'apps/kit-opaque.mjs' });
  const dir = tempDir();

  // 1. AS calls at the dev AS: 10,000 requests over 100 distinct tokens, then 100 identical requests at once.
  const counted = await startApp(opaqueApp('oauth-resource-server (introspection)'), devEnv);
  const tokens = [];
  for (let i = 0; i < 100; i++) tokens.push(await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders', format: 'opaque' }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let before = as.requests.introspection;
  for (let round = 0; round < 100; round++) {
    const statuses = await Promise.all(tokens.map((t) => get(counted.port, t, agent)));
    if (statuses.some((s) => s !== 200)) fail(`introspection app answered ${statuses.find((s) => s !== 200)}`);
  }
  const callsFor10k = as.requests.introspection - before;
  const fresh = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders', format: 'opaque' });
  before = as.requests.introspection;
  await Promise.all(Array.from({ length: 100 }, () => get(counted.port, fresh, agent)));
  const callsFor100Concurrent = as.requests.introspection - before;
  agent.destroy();
  await stopApp(counted);

  // 2. Throughput against the light AS, interleaved.
  const lite = await startLiteAs();
  const liteEnv = {
    BENCH_ISSUER: lite.issuer,
    BENCH_RESOURCE: ORDERS,
    BENCH_CLIENT_ID: CLIENT.clientId,
    BENCH_CLIENT_SECRET: CLIENT.clientSecret,
    BENCH_INTROSPECTION_ENDPOINT: `${lite.issuer}/introspect`,
  };
  const oneFile = join(dir, 'opaque-one.txt');
  writeFileSync(oneFile, `${randomBytes(32).toString('base64url')}\n`);
  const poolFile = join(dir, 'opaque-pool.txt');
  writeFileSync(poolFile, `${Array.from({ length: DISTINCT }, () => randomBytes(32).toString('base64url')).join('\n')}\n`);
  const jwtFile = join(dir, 'jwt-one.txt');
  writeFileSync(jwtFile, `${await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' })}\n`);
  const runs = [
    {
      id: 'bare',
      app: await startApp(
        APPS.find((a) => a.id === 'bare'),
        liteEnv,
      ),
      file: oneFile,
    },
    { id: 'cached', app: await startApp(opaqueApp('oauth-resource-server (introspection, cache warm)'), liteEnv), file: oneFile },
    {
      id: 'uncached',
      app: await startApp(opaqueApp('oauth-resource-server (introspection, cache off)'), { ...liteEnv, BENCH_INTROSPECTION_CACHE: 'off' }),
      file: poolFile,
      introspects: true,
    },
    {
      id: 'raw',
      app: await startApp({ label: 'raw keep-alive introspection middleware', file: 'apps/raw-introspection.mjs' }, liteEnv),
      file: poolFile,
      introspects: true,
    },
    {
      id: 'peer',
      app: await startApp(
        APPS.find((a) => a.id === 'peer'),
        { ...devEnv, BENCH_JWKS_URI: as.jwksUri },
      ),
      file: jwtFile,
    },
  ];
  for (const r of runs) checkRun(`warm-up ${r.app.label}`, await wrk(r.app.port, r.file, 2, r.app.child.pid));
  const rps = Object.fromEntries(runs.map((r) => [r.id, []]));
  const p99 = Object.fromEntries(runs.map((r) => [r.id, []]));
  const asUs = Object.fromEntries(runs.map((r) => [r.id, []]));
  const perRequest = Object.fromEntries(runs.map((r) => [r.id, { calls: 0, requests: 0, connections: 0 }]));
  let sharedRuns = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runs.map((_, i) => runs[(i + round) % runs.length])) {
      const s0 = await lite.stats();
      const res = await wrk(r.app.port, r.file, DURATION, r.app.child.pid);
      const s1 = await lite.stats();
      checkRun(`${r.app.label} round ${round + 1}`, res);
      rps[r.id].push(res.rps);
      p99[r.id].push(res.p99_us / 1000);
      const calls = s1.introspections - s0.introspections;
      if (r.introspects) asUs[r.id].push((s1.cpuUs - s0.cpuUs) / calls);
      perRequest[r.id].calls += calls;
      perRequest[r.id].requests += res.requests;
      perRequest[r.id].connections += s1.connections - s0.connections;
      // The light AS is a process of this benchmark, not other load: its CPU during the run is taken out.
      const other = res.foreign - (s1.cpuUs - s0.cpuUs) / res.duration_us;
      const sharedRun = res.appCpu < 0.9 || other > 0.25;
      if (sharedRun) sharedRuns++;
      log(
        `  round ${round + 1} ${r.app.label.padEnd(52)} ${String(Math.round(res.rps)).padStart(6)} req/s  p99 ${(res.p99_us / 1000).toFixed(2)} ms  ` +
          `app CPU ${Math.round(res.appCpu * 100)} %  other load ${other.toFixed(2)} cores${r.introspects ? `  AS ${((s1.cpuUs - s0.cpuUs) / calls).toFixed(0)} µs/call` : ''}`,
      );
    }
  }
  for (const r of runs) await stopApp(r.app);
  lite.close();

  const ratio = (a, b) => median(rps[a].map((x, i) => x / rps[b][i]));
  const cachedBare = ratio('cached', 'bare');
  const uncachedRaw = ratio('uncached', 'raw');
  const uncachedPeer = ratio('uncached', 'peer');
  const rawPeer = ratio('raw', 'peer');
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const verdict = (ok) => (ok ? 'PASS' : 'MISS');
  const label = {
    bare: 'bare Express 5',
    cached: 'kit, one opaque token repeated (cache warm)',
    uncached: `kit, cache off, ${fmt(DISTINCT)} distinct opaque tokens (an AS call per request)`,
    raw: `raw keep-alive node:http introspection middleware, same ${fmt(DISTINCT)} tokens`,
    peer: 'express-oauth2-jwt-bearer, one RS256 JWT (its every-request path)',
  };
  const callsPerRequest = (id) => perRequest[id].calls / perRequest[id].requests;
  const lines = [
    '',
    '## Opaque tokens (introspection)',
    '',
    '| app | req/s (median) | p99 ms (median) | AS CPU per introspection call (median) | AS calls per request | connections the AS accepted while measured |',
    '|---|---:|---:|---:|---:|---:|',
    ...runs.map(
      (r) =>
        `| ${label[r.id]} | ${fmt(median(rps[r.id]))} | ${median(p99[r.id]).toFixed(2)} | ${r.introspects ? `${median(asUs[r.id]).toFixed(0)} µs` : ''} | ${r.introspects || r.id === 'cached' ? callsPerRequest(r.id).toFixed(3) : ''} | ${r.introspects ? perRequest[r.id].connections : ''} |`,
    ),
    '',
    '| measure | value | target |',
    '|---|---:|---|',
    `| kit uncached × raw keep-alive client (median of per-round ratios) | ${uncachedRaw.toFixed(2)} | ≥ 0.90: ${verdict(uncachedRaw >= 0.9)} |`,
    `| kit uncached × peer's JWT path | ${uncachedPeer.toFixed(2)} | ≥ 1.0: ${verdict(uncachedPeer >= 1)} |`,
    `| raw keep-alive client × peer's JWT path (reference) | ${rawPeer.toFixed(2)} | |`,
    `| kit cached × bare | ${cachedBare.toFixed(2)} | ≥ 0.85: ${verdict(cachedBare >= 0.85)} |`,
    `| AS introspection calls per uncached request (kit) | ${callsPerRequest('uncached').toFixed(3)} | ≈ 1 (checks the cache was off) |`,
    `| AS introspection calls for 10,000 requests over 100 distinct tokens (dev AS) | ${callsFor10k} | 100: ${verdict(callsFor10k === 100)} |`,
    `| AS introspection calls for 100 identical requests at once, token not cached (dev AS) | ${callsFor100Concurrent} | 1: ${verdict(callsFor100Concurrent === 1)} |`,
    '',
    `wrk -t1 -c32 -d${DURATION}s, ${ROUNDS} interleaved rounds; apps on core 0; wrk and the light AS (bench/lite-as.mjs, its own process) on core 1; ` +
      `the peer's keys and token from the dev AS (oidc-provider, in the bench process). ` +
      (sharedRuns
        ? `Warning: the machine was shared during ${sharedRuns} of ${ROUNDS * runs.length} runs (app under 90 % of core 0, or other processes over 0.25 cores).`
        : 'No competing load seen.'),
  ];
  console.log(lines.join('\n'));
  appendFileSync(join(BENCH_DIR, 'RESULTS.md'), `${lines.join('\n')}\n`);
  log('appended to bench/RESULTS.md');
  return 0;
});
