// The introspection part of `npm run bench` (issue: opaque tokens): with the cache on, one opaque token
// repeated against bare Express in the same run (target ≥ 0.85×), and the number of AS calls for 10,000
// requests over 100 distinct tokens (target: 100, and 1 for 100 identical requests at once).
import { writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { APPS, ORDERS, BENCH_DIR, fail, log, pinSelf, positiveInt, preflight, runMain, startApp, startAuthorizationServer, stopApp, tempDir, wrk, checkRun } from './lib.mjs';

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
  const bareApp = APPS.find((a) => a.file.includes('bare'));
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

  // 2. Throughput, one opaque token repeated (cache warm), interleaved with bare Express.
  const bare = await startApp(bareApp, env);
  await wrk(kit.port, oneFile, 1, kit.child.pid);
  await wrk(bare.port, oneFile, 1, bare.child.pid);
  const rps = { bare: [], kit: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, app] of r % 2 ? [['kit', kit], ['bare', bare]] : [['bare', bare], ['kit', kit]]) {
      const res = await wrk(app.port, oneFile, DURATION, app.child.pid);
      checkRun(`${name} round ${r + 1}`, res);
      rps[name].push(res.rps);
    }
  }
  await stopApp(kit);
  await stopApp(bare);
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const ratio = median(rps.kit.map((k, i) => k / rps.bare[i]));
  const lines = [
    '',
    '## Opaque tokens (introspection)',
    '',
    `| measure | value | target |`,
    `|---|---:|---|`,
    `| one opaque token repeated, cache warm: kit req/s (median) | ${Math.round(median(rps.kit)).toLocaleString('en')} | |`,
    `| bare Express req/s (median, same run) | ${Math.round(median(rps.bare)).toLocaleString('en')} | |`,
    `| kit × bare (median of per-round ratios) | ${ratio.toFixed(2)} | ≥ 0.85: ${ratio >= 0.85 ? 'PASS' : 'MISS'} |`,
    `| AS introspection calls for 10,000 requests over 100 distinct tokens | ${callsFor10k} | 100: ${callsFor10k === 100 ? 'PASS' : 'MISS'} |`,
    `| AS introspection calls for 100 identical requests at once (uncached token) | ${callsFor100Concurrent} | 1: ${callsFor100Concurrent === 1 ? 'PASS' : 'MISS'} |`,
    '',
    `wrk -t1 -c32 -d${DURATION}s, ${ROUNDS} interleaved rounds; apps on core 0, wrk + AS on core 1.`,
  ];
  console.log(lines.join('\n'));
  appendFileSync(join(BENCH_DIR, 'RESULTS.md'), `${lines.join('\n')}\n`);
  log('appended to bench/RESULTS.md');
  return 0;
});
