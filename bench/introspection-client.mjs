#!/usr/bin/env node
// Client CPU per uncached introspection, in-process (no HTTP server in front): the kit's authenticate() with the
// cache off against a raw keep-alive node:http POST, 32 calls in flight, against bench/lite-as.mjs on core 1
// (this process on core 0). Interleaved rounds, medians. What the kit's own introspection path costs.
//
//   node bench/introspection-client.mjs      (ROUNDS, default 7; ONLY=kit or ONLY=raw for a profiler)
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { BENCH_DIR } from './lib.mjs';
execFileSync('taskset', ['-pc', '0', String(process.pid)]);
const RESOURCE = 'https://api.example.com/orders';
const as = spawn('taskset', ['-c', '1', process.execPath, join(BENCH_DIR, 'lite-as.mjs')], {
  stdio: ['pipe', 'pipe', 'inherit'],
  env: { ...process.env, LITE_AS_CLIENT_ID: 'rs', LITE_AS_CLIENT_SECRET: 'secret', LITE_AS_RESOURCE: RESOURCE },
});
const port = await new Promise((r) =>
  as.stdout.on('data', (d) => {
    const m = /READY (\d+)/.exec(String(d));
    if (m) r(Number(m[1]));
  }),
);
const issuer = `http://127.0.0.1:${port}`;
const { ResourceServer } = await import('../dist/esm/index.js');
const rs = new ResourceServer({
  issuer: { issuer, introspection: { clientId: 'rs', clientSecret: 'secret' } },
  resource: RESOURCE,
  logger: false,
  cache: false,
});
await rs.warmUp();
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const authorization = `Basic ${Buffer.from('rs:secret').toString('base64')}`;
function raw(token) {
  return new Promise((resolve, reject) => {
    const body = `token=${encodeURIComponent(token)}&token_type_hint=access_token`;
    const req = http.request(
      {
        hostname: '127.0.0.1',
        port,
        path: '/introspect',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          accept: 'application/json',
          authorization,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(JSON.parse(text)));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const sock = new net.Socket();
const mkreq = (t) => {
  const r = new http.IncomingMessage(sock);
  r.method = 'GET';
  r.url = '/orders';
  const h = ['Host', 'x', 'Authorization', `Bearer ${t}`];
  r._addHeaderLines(h, h.length);
  return r;
};
let n = 0;
const kit = (t) => rs.authenticate(mkreq(t));
const rawAuth = (t) => {
  void mkreq(t).headers;
  return raw(t);
};
async function run(fn, calls) {
  let i = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (i < calls) {
        i++;
        await fn(`opaque-${n++}-${Math.random().toString(36).slice(2)}`);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  return { cpuUs: (cpu.user + cpu.system) / calls, wallUs: (ms * 1000) / calls };
}
const res = { kit: [], raw: [] };
for (let round = 0; round < Number(process.env.ROUNDS ?? 7); round++) {
  for (const [name, fn] of process.env.ONLY === 'kit'
    ? [['kit', kit]]
    : process.env.ONLY === 'raw'
      ? [['raw', rawAuth]]
      : [
          ['kit', kit],
          ['raw', rawAuth],
        ])
    res[name].push(await run(fn, 20000));
}
const med = (a, k) => a.map((x) => x[k]).sort((x, y) => x - y)[a.length >> 1];
for (const k of ['kit', 'raw'])
  if (res[k].length) console.log(k, 'cpu µs/call', med(res[k], 'cpuUs').toFixed(1), 'wall µs/call', med(res[k], 'wallUs').toFixed(1));
as.stdin.end();
process.exit(0);
