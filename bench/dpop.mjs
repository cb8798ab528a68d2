// The DPoP part of `npm run bench` (RFC 9449): GET /orders with one DPoP-bound RS256 access token
// (cnf.jkt) and a fresh ES256 proof on every request (the kit refuses a replayed jti, so no proof is ever
// sent twice), for bare Express, this kit (`dpop: { mode: 'allowed' }`) and express-oauth2-jwt-bearer
// (`dpop: { enabled: true }`), interleaved, apps on core 0, wrk + AS on core 1. Appends to RESULTS.md.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { join } from 'node:path';
import {
  BENCH_DIR,
  ORDERS,
  checkRun,
  fail,
  getOrders,
  log,
  median,
  pinSelf,
  positiveInt,
  preflight,
  profileArgs,
  runMain,
  startApp,
  startAuthorizationServer,
  stopApp,
  tempDir,
  wrk,
} from './lib.mjs';

const DURATION = positiveInt('BENCH_DURATION', 5);
const ROUNDS = positiveInt('BENCH_ROUNDS', 3);
const WARMUP = positiveInt('BENCH_WARMUP', 4);
const ORIGIN = new URL(ORDERS).origin; // the kit compares htu with its configured origin, never Host

const APPS = [
  { id: 'bare', label: 'bare Express 5', file: 'apps/bare.mjs', htu: () => `${ORIGIN}/orders` },
  { id: 'kit', label: 'oauth-resource-server (DPoP)', file: 'apps/kit-dpop.mjs', htu: () => `${ORIGIN}/orders` },
  // The peer builds htu from the request it got: wrk's Host header is 127.0.0.1:<port>.
  { id: 'peer', label: 'express-oauth2-jwt-bearer (DPoP)', file: 'apps/peer-dpop.mjs', htu: (port) => `http://127.0.0.1:${port}/orders` },
];

const b64u = (x) => Buffer.from(x).toString('base64url');

/** The client's proof key (its RFC 7638 thumbprint goes in the token's cnf.jkt), and a writer of files of
 * `DPoP <token> <proof>` lines, each proof with its own jti. */
function proofKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { crv, x, y } = publicKey.export({ format: 'jwk' });
  const jkt = createHash('sha256')
    .update(JSON.stringify({ crv, kty: 'EC', x, y }))
    .digest('base64url');
  const header = b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv, x, y } }));
  return {
    jkt,
    write(file, count, htu, accessToken) {
      const ath = createHash('sha256').update(accessToken).digest('base64url');
      const iat = Math.floor(Date.now() / 1000);
      const lines = new Array(count);
      for (let i = 0; i < count; i++) {
        const payload = b64u(JSON.stringify({ jti: randomBytes(12).toString('base64url'), htm: 'GET', htu, iat, ath }));
        const input = `${header}.${payload}`;
        const sig = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
        lines[i] = `DPoP ${accessToken} ${input}.${sig}`;
      }
      writeFileSync(file, `${lines.join('\n')}\n`);
    },
  };
}

const dpopGet = (port, token, proof) => getOrders(port, { authorization: `DPoP ${token}`, dpop: proof });

await runMain(async () => {
  const started = Date.now();
  preflight();
  const as = await startAuthorizationServer();
  const dir = tempDir();
  const key = proofKey();
  const token = await as.signToken({
    claims: { aud: ORDERS, scope: 'read:orders', cnf: { jkt: key.jkt }, exp: Math.floor(Date.now() / 1000) + 3600 },
  });
  pinSelf('1');

  const env = { BENCH_ISSUER: as.issuer, BENCH_RESOURCE: ORDERS, BENCH_JWKS_URI: as.jwksUri };
  const running = [];
  // BENCH_CPU_PROF=<dir>: the kit runs under --cpu-prof (its numbers are then not comparable).
  for (const app of APPS)
    running.push(await startApp(app, env, app.id === 'kit' && process.env.BENCH_CPU_PROF ? profileArgs(process.env.BENCH_CPU_PROF) : []));
  const rps = Object.fromEntries(APPS.map((a) => [a.id, []]));
  const replay = {};
  let proofsSigned = 0;
  /** Sign `count` proofs for one app (on both cores, between measurements). */
  const proofsFor = (r, count, name) => {
    pinSelf('0,1');
    const file = join(dir, name);
    key.write(file, count, r.htu(r.port), token);
    proofsSigned += count;
    pinSelf('1');
    return file;
  };
  try {
    // Check before measuring: every app answers 200 to a fresh proof; the kit refuses a replayed one.
    for (const r of running) {
      const file = proofsFor(r, 1, `check-${r.id}.txt`);
      const [, tok, proof] = readFileSync(file, 'utf8').trim().split(' ');
      const first = await dpopGet(r.port, tok, proof);
      if (first.status !== 200)
        fail(`${r.label} answered ${first.status} to a fresh DPoP proof: ${first.challenge ?? ''} ${first.body.slice(0, 200)}`);
      const again = await dpopGet(r.port, tok, proof);
      replay[r.id] = again.status;
      if (r.id === 'kit' && again.status !== 401) fail(`${r.label} answered ${again.status} to a replayed DPoP proof`);
    }
    const warm = {};
    for (const r of running) {
      const w = await wrk(r.port, proofsFor(r, r.id === 'bare' ? 10_000 : 20_000 * WARMUP, `warm-${r.id}.txt`), WARMUP, r.child.pid);
      checkRun(`warm-up ${r.label}`, w);
      warm[r.id] = w.rps;
    }
    log(`warmed up (${running.map((r) => `${r.id} ${Math.round(warm[r.id])}/s`).join(', ')})`);
    for (let round = 0; round < ROUNDS; round++) {
      const order = running.map((_, i) => running[(i + round) % running.length]);
      for (const r of order) {
        // Sized from the fastest rate seen for this app; bare Express never reads a proof and may cycle.
        const rate = Math.max(warm[r.id], ...rps[r.id]);
        const count = r.id === 'bare' ? 10_000 : Math.ceil((Math.max(rate, 2000) * DURATION * 2) / 1000) * 1000;
        const res = await wrk(r.port, proofsFor(r, count, `round-${round}-${r.id}.txt`), DURATION, r.child.pid);
        checkRun(`${r.label} / round ${round + 1}`, res);
        if (r.id !== 'bare' && res.issued > res.pool)
          fail(`${r.label}: proofs ran out (${res.issued} requests for ${res.pool} proofs): a replayed proof would be refused`);
        rps[r.id].push(res.rps);
        log(
          `  round ${round + 1} ${r.label.padEnd(34)} ${String(Math.round(res.rps)).padStart(6)} req/s  p99 ${(res.p99_us / 1000).toFixed(2)} ms  app CPU ${Math.round(res.appCpu * 100)} %`,
        );
      }
    }
  } finally {
    await Promise.all(running.map(stopApp));
  }
  const ratio = (a, b) => median(rps[a].map((x, i) => x / rps[b][i]));
  const kitBare = ratio('kit', 'bare');
  const kitPeer = ratio('kit', 'peer');
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const lines = [
    '',
    '## DPoP (RFC 9449)',
    '',
    '| app | req/s (median) | × bare | × peer | a replayed proof |',
    '|---|---:|---:|---:|---|',
    `| bare Express 5 | ${fmt(median(rps.bare))} | 1.00 | | |`,
    `| oauth-resource-server, \`dpop: { mode: 'allowed' }\` | ${fmt(median(rps.kit))} | ${kitBare.toFixed(2)} | ${kitPeer.toFixed(2)} | ${replay.kit === 401 ? 'refused (401)' : replay.kit} |`,
    `| express-oauth2-jwt-bearer, \`dpop: { enabled: true }\` | ${fmt(median(rps.peer))} | ${ratio('peer', 'bare').toFixed(2)} | 1.00 | ${replay.peer === 200 ? 'accepted (200)' : `refused (${replay.peer})`} |`,
    '',
    `One DPoP-bound RS256 token (cnf.jkt; cached by the kit after its first check) with a fresh ES256 proof per request ` +
      `(${fmt(proofsSigned)} proofs signed, none sent twice; the kit's replay check is on). wrk -t1 -c32 -d${DURATION}s, ` +
      `${ROUNDS} interleaved rounds; apps on core 0, wrk + AS on core 1. Took ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  ];
  console.log(lines.join('\n'));
  appendFileSync(join(BENCH_DIR, 'RESULTS.md'), `${lines.join('\n')}\n`);
  log('appended to bench/RESULTS.md');
  return 0;
});
