// `npm run soak`: mixed traffic for a while (default 60 s) against this kit's app on core 0, from a
// keep-alive load generator on core 1: valid, expired, other-audience, missing-scope and garbage tokens,
// and a stream of distinct invalid tokens (default 1,000,000 over the run). Reports req/s, p50/p99, answers
// by kind, and the app's resident memory at start and end: the caches are bounded, so memory stays flat.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  APPS,
  BILLING,
  ORDERS,
  fail,
  log,
  pinSelf,
  positiveInt,
  preflight,
  runMain,
  startApp,
  startAuthorizationServer,
  stopApp,
} from './lib.mjs';

const SECONDS = positiveInt('SOAK_SECONDS', 60);
const DISTINCT_INVALID = positiveInt('SOAK_INVALID_TOKENS', 1_000_000);
const CONCURRENCY = positiveInt('SOAK_CONCURRENCY', 32);

const rssMiB = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

await runMain(async () => {
  preflight();
  pinSelf('1');
  const as = await startAuthorizationServer();
  const kit = await startApp(
    APPS.find((a) => a.id === 'kit'),
    { BENCH_ISSUER: as.issuer, BENCH_RESOURCE: ORDERS },
  );
  const now = Math.floor(Date.now() / 1000);
  const kinds = {
    valid: {
      tokens: await Promise.all(
        Array.from({ length: 200 }, () => as.signToken({ claims: { aud: ORDERS, scope: 'read:orders', exp: now + 3600 } })),
      ),
      expect: 200,
    },
    expired: {
      tokens: [await as.signToken({ claims: { aud: ORDERS, scope: 'read:orders', exp: now - 60, iat: now - 120 } })],
      expect: 401,
    },
    otherAudience: { tokens: [await as.signToken({ claims: { aud: BILLING, scope: 'read:billing', exp: now + 3600 } })], expect: 401 },
    missingScope: { tokens: [await as.signToken({ claims: { aud: ORDERS, scope: 'write:orders', exp: now + 3600 } })], expect: 403 },
    garbage: { tokens: ['not-a-token', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.', `${'x'.repeat(9000)}`], expect: [400, 401] },
  };
  const counts = {};
  const latencies = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let sentInvalid = 0;
  let wrong = 0;
  const started = Date.now();
  const end = started + SECONDS * 1000;
  const rssStart = rssMiB(kit.child.pid);
  let turn = 0;
  const pick = () => {
    // Every other request carries a never-seen invalid token until the target is reached; the rest is the mix.
    if (sentInvalid < DISTINCT_INVALID && turn++ % 2 === 0) {
      sentInvalid++;
      return [
        'distinctInvalid',
        `eyJ${randomBytes(24).toString('base64url')}.${randomBytes(48).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
        401,
      ];
    }
    const names = Object.keys(kinds);
    const name = names[Math.floor(Math.random() * names.length)];
    const k = kinds[name];
    return [name, k.tokens[Math.floor(Math.random() * k.tokens.length)], k.expect];
  };
  const one = () =>
    new Promise((resolve) => {
      const [kind, token, expected] = pick();
      const t0 = process.hrtime.bigint();
      const req = http.get(
        { host: '127.0.0.1', port: kit.port, path: '/orders', agent, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
            const key = `${kind} ${res.statusCode}`;
            counts[key] = (counts[key] ?? 0) + 1;
            if (res.statusCode >= 500 || !(Array.isArray(expected) ? expected.includes(res.statusCode) : res.statusCode === expected))
              wrong++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        counts[`${kind} socket-error`] = (counts[`${kind} socket-error`] ?? 0) + 1;
        wrong++;
        resolve();
      });
    });
  log(`soak: ${SECONDS} s, ${CONCURRENCY} connections, ${DISTINCT_INVALID.toLocaleString('en')} distinct invalid tokens`);
  // Memory samples along the run: flat (bounded caches) after the first ones, whatever was sent.
  const samples = [];
  const sampler = setInterval(() => samples.push(rssMiB(kit.child.pid)), 5000);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      // At least SOAK_SECONDS, and until every distinct invalid token was sent.
      while (Date.now() < end || sentInvalid < DISTINCT_INVALID) await one();
    }),
  );
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;
  const rssEnd = rssMiB(kit.child.pid);
  await stopApp(kit);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(2);
  const total = latencies.length;
  console.log(
    `\nsoak: ${total.toLocaleString('en')} requests in ${seconds.toFixed(0)} s = ${Math.round(total / seconds).toLocaleString('en')} req/s; p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`,
  );
  console.log(`distinct invalid tokens sent: ${sentInvalid.toLocaleString('en')}`);
  console.log(
    `app resident memory: ${rssStart.toFixed(1)} MiB at start, every 5 s: ${samples.map((m) => m.toFixed(0)).join(', ')} MiB; ${rssEnd.toFixed(1)} MiB at end`,
  );
  console.log('answers by kind:');
  for (const [k, v] of Object.entries(counts).sort()) console.log(`  ${k.padEnd(28)} ${v.toLocaleString('en')}`);
  if (wrong) fail(`${wrong} answers were not the expected ones (or were 5xx / socket errors)`);
  console.log('every answer was the expected one; no 5xx');
  return 0;
});
