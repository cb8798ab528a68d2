#!/usr/bin/env node
// `npm run bench`: whole-server throughput of GET /orders guarded by `read:orders` (RS256 JWT access tokens),
// for (a) bare Express 5, (b) this kit, (c) express-oauth2-jwt-bearer and (f) the floor, the least a correct
// middleware does (apps/floor.mjs, the bound of what this machine allows): each app alone on core 0 (`taskset -c 0`), `wrk -t1 -c32` and the loopback
// authorization server (this process) on core 1, a warm-up per app, interleaved rounds, medians of
// per-round ratios. Prints the table and writes bench/RESULTS.md.
//
// Environment: BENCH_DURATION (s per measured run, default 5), BENCH_ROUNDS (default 5), BENCH_WARMUP
// (s, default 4), BENCH_PEER_CONFIG=static (peer configured without discovery), BENCH_CPU_PROF=<dir>
// (run the kit app under `node --cpu-prof`: its numbers are then not comparable), BENCH_STRICT=1 (exit 1
// on a MISS). Needs `wrk` (Debian package `wrk`), `taskset` and 2 cores; run `npm run build` first.
import { writeFileSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  APPS,
  BENCH_DIR,
  CONNECTIONS,
  ROOT,
  ORDERS,
  checkRun,
  checkTokens,
  fail,
  log,
  median,
  pinSelf,
  positiveInt,
  preflight,
  profileArgs,
  runMain,
  signMany,
  startApp,
  startAuthorizationServer,
  stopApp,
  tempDir,
  verifyApp,
  wrk,
} from './lib.mjs';

const DURATION = positiveInt('BENCH_DURATION', 5);
const ROUNDS = positiveInt('BENCH_ROUNDS', 5);
const WARMUP = positiveInt('BENCH_WARMUP', 4);
const DISTINCT = 10_000;

const SCENARIOS = [
  { id: 'one', label: 'one token repeated' },
  { id: 'distinct', label: `${DISTINCT.toLocaleString('en-US')} distinct tokens cycling` },
  { id: 'new', label: 'every token new' },
  { id: 'mostly', label: 'about 90 % repeats (1 request in 10 a new token)' },
];
const HOT = 1000; // the repeated tokens of the `mostly` scenario: the first of the 10,000 distinct ones

// The targets of the kit, as ratios within one run.
const TARGETS = {
  one: [
    { text: '≥ 0.90× bare', vs: 'bare', min: 0.9 },
    { text: '≥ 2× peer', vs: 'peer', min: 2 },
  ],
  distinct: [
    { text: '≥ 0.90× bare', vs: 'bare', min: 0.9 },
    { text: '≥ 2× peer', vs: 'peer', min: 2 },
  ],
  new: [{ text: '≥ 1.5× peer', vs: 'peer', min: 1.5 }],
  mostly: [{ text: '≥ 1.4× peer', vs: 'peer', min: 1.4 }],
};

/** The median of per-round ratios a[i] / b[i]. */
const ratios = (a, b) => median(a.map((x, i) => x / b[i]));
const roundUp = (n, step = 1000) => Math.ceil(n / step) * step;
const fmtInt = (x) => Math.round(x).toLocaleString('en-US');

async function main() {
  const started = Date.now();
  const wrkVersion = preflight();
  const tmp = tempDir();
  const kitNodeArgs = process.env.BENCH_CPU_PROF ? profileArgs(process.env.BENCH_CPU_PROF) : [];

  // 1. The authorization server (this process) and the tokens. Signing uses both cores; nothing runs yet.
  const as = await startAuthorizationServer();
  log(`authorization server at ${as.issuer}`);
  const one = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' }); // through the token endpoint
  const files = { one: join(tmp, 'one.txt'), distinct: join(tmp, 'distinct.txt') };
  writeFileSync(files.one, `${one}\n`);
  let t0 = Date.now();
  const distinct = await signMany(as, DISTINCT, files.distinct);
  log(`signed ${DISTINCT} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const checks = await checkTokens(as, [one, distinct[0], distinct[DISTINCT - 1]]);
  pinSelf('1');

  /** Sign more tokens on both cores (only between measurements), then back to core 1. */
  let signSeconds = 0;
  let signedNew = 0;
  const signNew = async (count, name) => {
    pinSelf('0,1');
    const t = Date.now();
    const file = join(tmp, name);
    await signMany(as, count, file);
    signSeconds += (Date.now() - t) / 1000;
    signedNew += count;
    pinSelf('1');
    return file;
  };
  /** For `mostly`: `requests` lines, one in ten a token never sent before, the rest cycling the hot tokens. */
  const signMixed = async (requests, name) => {
    const fresh = readFileSync(await signNew(Math.ceil(requests / 10), `fresh-${name}`), 'utf8')
      .trim()
      .split('\n');
    const lines = Array.from({ length: requests }, (_, i) => (i % 10 === 0 ? fresh[i / 10] : distinct[i % HOT]));
    const file = join(tmp, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };
  // Kit and peer must not meet a "new" token twice: a run that wraps around its file is measured again.
  const fresh = { new: signNew, mostly: signMixed };

  const appEnv = { BENCH_ISSUER: as.issuer, BENCH_RESOURCE: ORDERS, BENCH_JWKS_URI: as.jwksUri };
  const results = {};
  // p99 latency (ms) per scenario, app and round, as wrk reports it.
  const p99s = {};
  // shared[scenario][app][round]: during that run the app got under 90 % of core 0, or other processes used
  // over a quarter of a core: the machine was shared. Medians use only rounds in which no run was shared,
  // when at least 3 such rounds exist.
  const shared = {};
  let pool;

  for (const scenario of SCENARIOS) {
    let warmFile = files[scenario.id];
    let roundFiles = Array.from({ length: ROUNDS }, () => files[scenario.id]);
    const make = fresh[scenario.id];
    if (make) {
      // The warm-up slice is sized from the cache-warm rates measured so far (an upper bound).
      const upper = Math.max(...['one', 'distinct'].flatMap((s) => [...results[s].kit, ...results[s].peer, ...results[s].floor]));
      warmFile = await make(roundUp(upper * WARMUP * 1.3), `${scenario.id}-warm.txt`);
    }

    // 2. Fresh app processes per scenario: one scenario's cache contents cannot help or hurt another's.
    log(`scenario "${scenario.label}": starting apps`);
    const running = [];
    for (const app of APPS) running.push(await startApp(app, appEnv, app.id === 'kit' ? kitNodeArgs : []));
    try {
      for (const r of running) await verifyApp(r, checks);
      const warmRate = {};
      for (const r of running) {
        // Warm-up (JIT, caches); for the 10,000-token scenario until every token has been sent three times:
        // the kit needs about that long to reach its steady state there.
        let issued = 0;
        for (let k = 0; k < 6; k++) {
          const w = await wrk(r.port, warmFile, WARMUP);
          checkRun(`warm-up ${r.label} / ${scenario.label}`, w);
          issued += w.issued;
          warmRate[r.id] = w.rps;
          if (scenario.id !== 'distinct' || issued >= 3 * DISTINCT) break;
        }
      }
      log(`  warmed up (${running.map((r) => `${r.id} ${fmtInt(warmRate[r.id])}/s`).join(', ')})`);

      if (make) {
        // Every round gets its own slice, so no kit or peer process ever sees a token twice (bare Express
        // may cycle through its slice: it never reads the token). Sized from this scenario's warm-up rates.
        const est = Math.max(warmRate.kit, warmRate.peer, warmRate.floor, median(results.distinct.peer));
        const slice = roundUp(est * DURATION * 1.3);
        const names = Array.from({ length: ROUNDS }, (_, r) => `${scenario.id}-${r + 1}.txt`);
        roundFiles = [];
        for (const name of names) roundFiles.push(await make(slice, name));
        if (scenario.id === 'new') pool = { slice };
        log(
          `  ${scenario.label}: ${ROUNDS} slices of ${fmtInt(slice)} requests, ${fmtInt(signedNew)} new tokens signed so far in ${signSeconds.toFixed(0)} s`,
        );
      }

      results[scenario.id] = Object.fromEntries(APPS.map((a) => [a.id, []]));
      p99s[scenario.id] = Object.fromEntries(APPS.map((a) => [a.id, []]));
      shared[scenario.id] = Object.fromEntries(APPS.map((a) => [a.id, []]));
      for (let round = 0; round < ROUNDS; round++) {
        // Interleaved, with the app order rotated each round.
        const order = running.map((_, i) => running[(i + round) % running.length]);
        for (const r of order) {
          const what = `${r.label} / ${scenario.label} / round ${round + 1}`;
          let res = await wrk(r.port, roundFiles[round], DURATION, r.child.pid);
          checkRun(what, res);
          if (make && r.auth && res.issued > res.pool) {
            // Faster than the slice allowed for: sign a bigger, fresh slice and measure this run again.
            log(`  ${what}: ${res.issued} requests for ${res.pool} lines; re-running with a larger fresh slice`);
            const extra = await make(roundUp(res.issued * 1.5), `${scenario.id}-extra-${r.id}-${round + 1}.txt`);
            res = await wrk(r.port, extra, DURATION, r.child.pid);
            checkRun(what, res);
            if (res.issued > res.pool) fail(`${what}: tokens repeated again (${res.issued} requests, ${res.pool} tokens)`);
          }
          results[scenario.id][r.id][round] = res.rps;
          p99s[scenario.id][r.id][round] = res.p99_us / 1000;
          shared[scenario.id][r.id][round] = res.appCpu < 0.9 || res.foreign > 0.25;
          log(
            `  round ${round + 1} ${r.label.padEnd(26)} ${String(Math.round(res.rps)).padStart(6)} req/s  p50 ${(res.p50_us / 1000).toFixed(2)} ms  ` +
              `p99 ${(res.p99_us / 1000).toFixed(2)} ms  app CPU ${Math.round(res.appCpu * 100)} %  other load ${res.foreign.toFixed(2)} cores`,
          );
        }
      }
    } finally {
      await Promise.all(running.map(stopApp));
    }
  }
  pool.total = signedNew;

  // 3. Report.
  const { text, misses, usedNote } = table(results, shared, p99s);
  const elapsed = (Date.now() - started) / 1000;
  const settings =
    `wrk -t1 -c${CONNECTIONS} -d${DURATION}s, ${ROUNDS} interleaved rounds, ${WARMUP} s warm-up per app and scenario, ` +
    `fresh app processes per scenario; apps on core 0, wrk + AS on core 1; ${fmtInt(pool.total)} never-sent tokens signed in all ` +
    `(every token new: ${fmtInt(pool.slice)} per round, disjoint, plus a warm-up slice; bare Express may cycle its slice, it never reads the token)`;
  console.log('');
  console.log(text);
  console.log('');
  console.log(`${settings}. Ratios are medians of per-round ratios. Took ${elapsed.toFixed(0)} s.`);
  const nShared = SCENARIOS.reduce((n, s) => n + APPS.reduce((m, a) => m + shared[s.id][a.id].filter(Boolean).length, 0), 0);
  const noiseNote = nShared
    ? `Warning: the machine was shared during ${nShared} of ${SCENARIOS.length * APPS.length * ROUNDS} runs (app under 90 % of core 0, ` +
      `or other processes over 0.25 cores; marked † per round in bench/RESULTS.md). ${usedNote}`
    : 'No competing load seen: every app had ≥ 90 % of core 0 and other processes used ≤ 0.25 cores in every run.';
  console.log(noiseNote);

  const v = versions();
  const md = [
    '# Benchmark results',
    '',
    `Generated by \`npm run bench\` (bench/run.mjs) on ${new Date().toISOString()}.`,
    '',
    `- Node ${process.version}, ${cpuModel()} (${cpus().length} cores), ${wrkVersion}`,
    `- ${Object.entries(v)
      .map(([k, x]) => `${k} ${x ?? '?'}`)
      .join(', ')}`,
    `- ${settings}`,
    `- GET /orders guarded by \`read:orders\`, RS256 tokens signed with the dev authorization server's key. ` +
      `Kit: \`oauthResourceServer({ issuer, resource, logger: false })\` + \`requireScopes('read:orders')\` (defaults otherwise). ` +
      `Peer: \`auth(${process.env.BENCH_PEER_CONFIG === 'static' ? '{ issuer, jwksUri, tokenSigningAlg: "RS256", audience }' : '{ issuerBaseURL: issuer, audience }'})\` + \`requiredScopes('read:orders')\`.` +
      ' Floor: apps/floor.mjs, the least a correct middleware does (node:crypto RS256 with keys imported once, iss / aud / exp / scope, ' +
      'a Map by token text); not a product, the bound of what this machine allows.',
    `- Run time ${elapsed.toFixed(0)} s. Compare ratios within one run only; differences under ~15 % are noise.`,
    `- ${noiseNote}`,
    ...(kitNodeArgs.length ? ['- **The kit ran under `--cpu-prof`: its numbers are not comparable.**'] : []),
    '',
    '## Medians',
    '',
    text,
    '',
    'Targets: cache warm (one token, or 10,000 tokens repeating) ≥ 0.90× bare Express and ' +
      '≥ 2× express-oauth2-jwt-bearer; every token new (RS256) ≥ 1.5× express-oauth2-jwt-bearer; about 90 % hits ' +
      `≥ 1.4× express-oauth2-jwt-bearer (there, nine requests in ten cycle ${HOT.toLocaleString('en-US')} tokens, the tenth carries one never sent before).`,
    '',
    '## Per round (req/s)',
    '',
    perRound(results, shared),
    '',
  ].join('\n');
  writeFileSync(join(BENCH_DIR, 'RESULTS.md'), md);
  log('wrote bench/RESULTS.md');
  return misses > 0 && process.env.BENCH_STRICT === '1' ? 1 : 0;
}

/** Rounds whose three runs all had the machine to themselves, when there are at least 3; else all rounds. */
function usableRounds(shared, scenarioId) {
  const clean = [];
  for (let i = 0; i < ROUNDS; i++) if (APPS.every((a) => !shared[scenarioId][a.id][i])) clean.push(i);
  return clean.length >= Math.min(3, ROUNDS) ? { rounds: clean, clean: true } : { rounds: [...Array(ROUNDS).keys()], clean: false };
}

function table(results, shared, p99s) {
  const rows = [];
  const notes = [];
  let misses = 0;
  for (const s of SCENARIOS) {
    const { rounds, clean } = usableRounds(shared, s.id);
    const pick = (app) => rounds.map((i) => results[s.id][app][i]);
    const [bare, kit, peer, floor] = ['bare', 'kit', 'peer', 'floor'].map(pick);
    const kitBare = ratios(kit, bare);
    const kitPeer = ratios(kit, peer);
    const peerBare = ratios(peer, bare);
    // The floor's ratio to the target's reference: a target above it is beyond this machine, whatever the code.
    const floorVs = (vs) => ratios(floor, vs === 'bare' ? bare : peer);
    const verdicts = TARGETS[s.id].map((t) => {
      const ok = (t.vs === 'bare' ? kitBare : kitPeer) >= t.min;
      if (!ok) misses++;
      return `${t.text}: ${ok ? 'PASS' : 'MISS'} (floor ${floorVs(t.vs).toFixed(2)})`;
    });
    const used = clean ? `${rounds.length}/${ROUNDS} clean` : `${ROUNDS}/${ROUNDS}, shared machine`;
    if (!clean) notes.push(s.label);
    const p99 = (app) => median(rounds.map((i) => p99s[s.id][app][i])).toFixed(2);
    rows.push(
      `| ${s.label} | ${used} | ${fmtInt(median(bare))} | ${fmtInt(median(kit))} | ${fmtInt(median(peer))} | ` +
        `${kitBare.toFixed(2)} | ${kitPeer.toFixed(2)} | ${peerBare.toFixed(2)} | ${fmtInt(median(floor))} | ${ratios(kit, floor).toFixed(2)} | ` +
        `${p99('bare')} / ${p99('kit')} / ${p99('peer')} / ${p99('floor')} | ${verdicts.join('; ')} |`,
    );
  }
  const text = [
    "| scenario | rounds used | bare req/s | kit req/s | peer req/s | kit × bare | kit × peer | peer × bare | floor req/s | kit × floor | p99 ms bare / kit / peer / floor | target (kit), and the floor's own ratio |",
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
  const usedNote = notes.length
    ? `Fewer than 3 clean rounds for: ${notes.join(', ')} (all rounds used): re-run on a quiet machine before drawing conclusions.`
    : 'Medians use only the rounds in which no run was shared.';
  return { text, misses, usedNote };
}

function perRound(results, shared) {
  const lines = [
    `| scenario | app | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`).join(' | ')} |`,
    `|---|---|${'---:|'.repeat(ROUNDS)}`,
  ];
  for (const s of SCENARIOS) {
    for (const a of APPS) {
      lines.push(
        `| ${s.label} | ${a.label} | ${results[s.id][a.id].map((x, i) => `${fmtInt(x)}${shared[s.id][a.id][i] ? ' †' : ''}`).join(' | ')} |`,
      );
    }
  }
  lines.push('', '† the machine was shared during this run (app under 90 % of core 0, or other processes over 0.25 cores).');
  return lines.join('\n');
}

function versions() {
  const v = (...parts) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, 'node_modules', ...parts, 'package.json'), 'utf8')).version;
    } catch {
      return undefined;
    }
  };
  return {
    'oauth-resource-server': JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    express: v('express'),
    'express-oauth2-jwt-bearer': v('express-oauth2-jwt-bearer'),
    'jose (kit)': v('jose'),
    'jose (peer)': v('express-oauth2-jwt-bearer', 'node_modules', 'jose') ?? v('jose'),
    'lru-cache (kit)': v('lru-cache'),
    'oidc-provider (dev AS)': v('oidc-provider'),
  };
}

function cpuModel() {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? '?';
  } catch {
    return cpus()[0]?.model ?? '?';
  }
}

await runMain(main);
