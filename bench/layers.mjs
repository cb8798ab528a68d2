#!/usr/bin/env node
// Where the kit's cost on the hot path goes: bare Express, bare Express with two no-op layers (the kit's app-wide
// middleware and route-level requirement, doing nothing), bare Express with the kit loaded but unused (its heap
// alone), and the kit with one cached token. Short runs, many interleaved rounds (the order rotates), medians of
// per-round ratios: this machine's speed drifts over seconds.
//
//   node bench/layers.mjs        (BENCH_ROUNDS, default 15; BENCH_DURATION, s per run, default 2)
import { join } from 'node:path';
import {
  APPS,
  ORDERS,
  checkRun,
  checkTokens,
  log,
  median,
  pinSelf,
  positiveInt,
  preflight,
  runMain,
  signMany,
  startApp,
  startAuthorizationServer,
  stopApp,
  tempDir,
  verifyApp,
  wrk,
} from './lib.mjs';

const ROUNDS = positiveInt('BENCH_ROUNDS', 15);
const DURATION = positiveInt('BENCH_DURATION', 2);

async function main() {
  preflight();
  const as = await startAuthorizationServer();
  const file = join(tempDir(), 'one.txt');
  const tokens = await signMany(as, 1, file);
  pinSelf('1');
  const apps = [
    APPS.find((a) => a.id === 'bare'),
    { id: 'layers', label: 'bare Express 5 + two no-op layers', file: 'apps/bare-layers.mjs', auth: false },
    { id: 'loaded', label: 'bare Express 5, the kit loaded, unused', file: 'apps/bare-kit-loaded.mjs', auth: false },
    APPS.find((a) => a.id === 'kit'),
    // Extra apps to compare in the same rounds (bisecting the kit's cost): BENCH_EXTRA=apps/a.mjs,apps/b.mjs
    ...(process.env.BENCH_EXTRA ?? '')
      .split(',')
      .filter(Boolean)
      .map((file) => ({ id: file, label: file, file, auth: false })),
  ];
  const env = { BENCH_ISSUER: as.issuer, BENCH_RESOURCE: ORDERS, BENCH_JWKS_URI: as.jwksUri };
  const running = [];
  for (const app of apps) running.push(await startApp(app, env));
  const rps = Object.fromEntries(apps.map((a) => [a.id, []]));
  try {
    const checks = await checkTokens(as, [tokens[0]]);
    for (const r of running) {
      if (r.auth) await verifyApp(r, checks);
      checkRun('warm-up', await wrk(r.port, file, 3, r.child.pid));
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < running.length; k++) {
        const r = running[(round + k) % running.length];
        const res = await wrk(r.port, file, DURATION, r.child.pid);
        checkRun(r.label, res);
        rps[r.id].push(res.rps);
      }
    }
  } finally {
    for (const r of running) await stopApp(r);
  }
  const ratio = (a, b) => median(rps[a].map((x, i) => x / rps[b][i]));
  log(`${ROUNDS} rounds of ${DURATION} s, one cached RS256 token; medians of per-round ratios`);
  console.log(`bare Express 5                      ${Math.round(median(rps.bare))} req/s`);
  console.log(`bare + two no-op layers             ${Math.round(median(rps.layers))} req/s   × bare ${ratio('layers', 'bare').toFixed(2)}`);
  console.log(`bare, the kit loaded and unused     ${Math.round(median(rps.loaded))} req/s   × bare ${ratio('loaded', 'bare').toFixed(2)}`);
  console.log(
    `oauth-resource-server (cached)      ${Math.round(median(rps.kit))} req/s   × bare ${ratio('kit', 'bare').toFixed(2)}   × two no-op layers ${ratio('kit', 'layers').toFixed(2)}`,
  );
  for (const app of apps.slice(4)) {
    console.log(`${app.file.padEnd(36)}${Math.round(median(rps[app.id]))} req/s   × bare ${ratio(app.id, 'bare').toFixed(2)}`);
  }
}

await runMain(main);
