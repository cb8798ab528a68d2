#!/usr/bin/env node
// Per-request cost under HTTP, in µs, of the kit and of the floor (apps/floor-middleware.mjs), in ONE app process
// (apps/variants.mjs) that switches guard between short wrk runs: one heap, one JIT state, so what differs between
// variants is their own per-request work. Separate processes (run.mjs, layers.mjs) also see each app's heap and GC
// history, and move ±5 % between processes here; this moves about ±2 µs. One cached RS256 token.
//
//   node bench/variants.mjs        (BENCH_ROUNDS, default 20; BENCH_DURATION, s per run, default 2)
import { join } from 'node:path';
import {
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

const ROUNDS = positiveInt('BENCH_ROUNDS', 20);
const DURATION = positiveInt('BENCH_DURATION', 2);
const VARIANTS = [
  { id: 'none', label: 'two layers calling next()', auth: false },
  { id: 'kit', label: 'oauth-resource-server (cached)', auth: true },
  { id: 'floor', label: 'floor (minimal middleware)', auth: true },
];

async function main() {
  preflight();
  const as = await startAuthorizationServer();
  const file = join(tempDir(), 'one.txt');
  const tokens = await signMany(as, 1, file);
  pinSelf('1');
  const env = { BENCH_ISSUER: as.issuer, BENCH_RESOURCE: ORDERS, BENCH_JWKS_URI: as.jwksUri };
  const app = await startApp({ id: 'variants', label: 'variants', file: 'apps/variants.mjs', auth: false }, env);
  let out = '';
  app.child.stdout.on('data', (d) => {
    out += d;
  });
  const use = async (v) => {
    const mark = out.length;
    app.child.stdin.write(`variant ${v.id}\n`);
    while (!out.slice(mark).includes(`VARIANT ${v.id}`)) await new Promise((r) => setTimeout(r, 5));
  };
  const rps = Object.fromEntries(VARIANTS.map((v) => [v.id, []]));
  try {
    const checks = await checkTokens(as, [tokens[0]]);
    for (const v of VARIANTS) {
      await use(v);
      await verifyApp({ ...app, label: v.label, auth: v.auth }, checks);
      checkRun(`warm-up ${v.label}`, await wrk(app.port, file, 3, app.child.pid));
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = VARIANTS[(round + k) % VARIANTS.length];
        await use(v);
        const res = await wrk(app.port, file, DURATION, app.child.pid);
        checkRun(v.label, res);
        rps[v.id].push(res.rps);
      }
    }
  } finally {
    await stopApp(app);
  }
  log(`${ROUNDS} rounds of ${DURATION} s in one process, one cached RS256 token; medians of per-round values`);
  for (const v of VARIANTS) {
    const ratio = median(rps[v.id].map((x, i) => x / rps.none[i]));
    const us = median(rps[v.id].map((x, i) => 1e6 / x - 1e6 / rps.none[i]));
    console.log(
      `${v.label.padEnd(34)}${String(Math.round(median(rps[v.id]))).padStart(6)} req/s   × none ${ratio.toFixed(3)}   +${us.toFixed(1)} µs/request`,
    );
  }
  return 0;
}

runMain(main);
