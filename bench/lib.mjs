// Shared by bench/run.mjs and bench/profile.mjs: process bookkeeping, core pinning, token signing,
// app children, pre-measurement checks and wrk runs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(BENCH_DIR, '..');
export const LUA = join(BENCH_DIR, 'tokens.lua');
export const CONNECTIONS = 32;
export const ORDERS = 'https://api.example.com/orders';
export const BILLING = 'https://api.example.com/billing';
const SIGN_CONCURRENCY = 16;
const TOKEN_LIFETIME = 3600; // s: outlives the whole run (the dev AS's signToken default is 300 s)

export const APPS = [
  { id: 'bare', label: 'bare Express 5', file: 'apps/bare.mjs', auth: false },
  { id: 'kit', label: 'oauth-resource-server', file: 'apps/kit.mjs', auth: true },
  { id: 'peer', label: 'express-oauth2-jwt-bearer', file: 'apps/peer.mjs', auth: true },
  // Not a product: the least a correct middleware does (apps/floor.mjs), so that every ratio has a bound beside it.
  { id: 'floor', label: 'floor (minimal middleware)', file: 'apps/floor.mjs', auth: true },
];

/** The median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export function positiveInt(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) fail(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** A failure the bench explains itself (printed without a stack). */
export function fail(message) {
  const err = new Error(message);
  err.benchFailure = true;
  throw err;
}

export const log = (...args) => console.error('[bench]', ...args);

// ---------------------------------------------------------------------------------------------------------
// Process bookkeeping: every child is tracked and killed on any exit path; the temp dir is removed.
const children = new Set();
let tmp;
const closers = [];

export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function tempDir() {
  tmp ??= mkdtempSync(join(tmpdir(), 'ors-bench-'));
  return tmp;
}

/** Something async to close on a normal or failed exit (the authorization server). */
export function onCleanup(fn) {
  closers.push(fn);
}

function killAllSync() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  children.clear();
  if (tmp) {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
    tmp = undefined;
  }
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    killAllSync();
    process.exit(130);
  });
}

/** Run main, then clean up whatever happened; exit with its code (1 on an error). */
export async function runMain(main) {
  let exitCode = 0;
  try {
    exitCode = (await main()) ?? 0;
  } catch (err) {
    console.error(`\nbench failed: ${err.benchFailure ? err.message : (err.stack ?? err)}`);
    exitCode = 1;
  } finally {
    for (const c of children) {
      try {
        c.kill('SIGTERM');
      } catch {
        /* gone */
      }
    }
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        /* closing anyway */
      }
    }
    killAllSync();
  }
  process.exit(exitCode);
}

// ---------------------------------------------------------------------------------------------------------
// Preflight and pinning.
export function preflight() {
  const w = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (w.error) {
    fail(`wrk (the load generator) was not found: install the Debian package \`wrk\` (apt-get install -y wrk). (${w.error.code})`);
  }
  const t = spawnSync('taskset', ['-c', '0', 'true']);
  if (t.error || t.status !== 0) fail('taskset (Debian package `util-linux`) is needed to pin processes to cores');
  if (cpus().length < 2) fail(`needs 2 CPU cores (app on core 0; wrk and the AS on core 1), found ${cpus().length}`);
  const probe = spawnSync('taskset', ['-c', '1', 'true']);
  if (probe.status !== 0) fail('cannot pin to core 1 (taskset -c 1 failed): this process may be restricted to one core');
  return (w.stdout + w.stderr).split('\n')[0].trim();
}

/** Pin this process (all its threads) to a CPU list; threads started later inherit it. */
export function pinSelf(cpuList) {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpuList, String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) fail(`taskset -a -p -c ${cpuList} ${process.pid} failed: ${r.stderr}`);
}

/** Start the dev authorization server (this process) with the two resources. */
export async function startAuthorizationServer() {
  let testing;
  try {
    testing = await import('oauth-resource-server/testing');
    await import('oauth-resource-server');
  } catch (e) {
    fail(`cannot import oauth-resource-server from dist/: run \`npm run build\` first (${e.message})`);
  }
  const as = await testing.startDevAuthorizationServer({
    resources: [
      { identifier: ORDERS, scopes: ['read:orders', 'write:orders'] },
      { identifier: BILLING, scopes: ['read:billing'] },
    ],
  });
  onCleanup(() => as.close());
  return as;
}

/** Tokens the pre-measurement checks use. */
export async function checkTokens(as, valid) {
  const one = valid[0];
  return {
    valid,
    otherAudience: await as.mintAccessToken({ resource: BILLING, scope: 'read:billing' }),
    noScope: await as.mintAccessToken({ resource: ORDERS, scope: 'write:orders' }),
    tampered: one.slice(0, -6) + (one.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Tokens: RS256, signed with the AS's own key by signToken (jose over WebCrypto, which signs on the libuv
// thread pool: 16 in flight use every core this process may run on).
export async function signMany(as, count, file) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { scope: 'read:orders', aud: ORDERS, iat: now, exp: now + TOKEN_LIFETIME };
  const out = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: SIGN_CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await as.signToken({ claims });
      }
    }),
  );
  if (new Set(out).size !== count) fail(`signToken produced duplicate tokens in ${file}`);
  writeFileSync(file, out.join('\n') + '\n');
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Apps: each a child pinned to core 0.
export async function startApp(app, env, nodeArgs = []) {
  const child = track(
    spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs, join(BENCH_DIR, app.file)], {
      cwd: ROOT,
      env: { ...process.env, ...env, NODE_ENV: 'production' },
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const port = await new Promise((resolvePort, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${app.label} did not start within 20 s`)), 20_000);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /READY (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${app.label} exited during start-up (${code ?? sig})`));
    });
  });
  return { ...app, child, port };
}

export async function stopApp(running) {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const get = (port, token) => getOrders(port, token ? { authorization: `Bearer ${token}` } : {});

/** One GET /orders with these headers, on a fresh connection: status, body and challenge. */
export function getOrders(port, headers) {
  return new Promise((resolveGet, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/orders', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolveGet({ status: res.statusCode, body, challenge: res.headers['www-authenticate'] }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Refuse to measure an app that does not do what we think it does (e.g. fast 401s from a misconfiguration). */
export async function verifyApp(running, checks) {
  const expect = async (what, token, status) => {
    const r = await get(running.port, token);
    if (r.status !== status) {
      fail(`${running.label} answered ${r.status} (expected ${status}) to ${what}: ${r.challenge ?? ''} ${r.body.slice(0, 300)}`);
    }
    if (status === 200 && !r.body.includes('o-1001')) fail(`${running.label} answered 200 to ${what} without the orders body`);
  };
  for (const t of checks.valid) await expect('a valid read:orders token', t, 200);
  if (running.auth) {
    await expect('no token', undefined, 401);
    await expect('a token for another resource (aud)', checks.otherAudience, 401);
    await expect('a token without read:orders', checks.noScope, 403);
    await expect('a tampered token', checks.tampered, 401);
  } else {
    await expect('no token', undefined, 200);
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU seconds the whole machine has been busy (all cores; user, system, irq, softirq, steal). */
function machineBusySeconds() {
  try {
    const f = /^cpu\s+(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))[1].split(/\s+/).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return (user + nice + system + irq + softirq + (steal || 0)) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------------------
// wrk on core 1, with tokens.lua cycling through a tokens file.
export async function wrk(port, tokensFile, seconds, appPid) {
  const cpuBefore = appPid ? cpuSeconds(appPid) : NaN;
  const machineBefore = machineBusySeconds();
  const selfBefore = process.cpuUsage();
  const args = [
    '-c',
    '1',
    'wrk',
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    '-s',
    LUA,
    `http://127.0.0.1:${port}/orders`,
    '--',
    tokensFile,
  ];
  const child = track(spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  // wrk's own CPU time, sampled until it exits (a child's /proc entry goes with it).
  let wrkCpu = 0;
  const poll = setInterval(() => {
    const c = cpuSeconds(child.pid);
    if (c >= 0) wrkCpu = c;
  }, 200);
  const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
  clearInterval(poll);
  const m = /BENCH_RESULT (\{.*\})/.exec(out);
  if (code !== 0 || !m) fail(`wrk failed (${code}): ${err}${out}`);
  const r = JSON.parse(m[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  // The app's share of its core during the run: well under 100 % means something else ran on core 0.
  const wall = r.duration_us / 1e6;
  const appDelta = appPid ? cpuSeconds(appPid) - cpuBefore : 0;
  const appCpu = appPid ? appDelta / wall : NaN;
  // Everything else the machine did meanwhile, in cores: other processes compete for the same two cores
  // (wrk's start-up and the kernel's loopback work make a small baseline).
  const self = process.cpuUsage(selfBefore);
  const foreign = (machineBusySeconds() - machineBefore - appDelta - wrkCpu - (self.user + self.system) / 1e6) / wall;
  return { ...r, non2xx, appCpu, foreign, rps: r.requests / wall };
}

/** Fail loudly on any non-2xx answer or socket error during a run. */
export function checkRun(what, r) {
  if (r.non2xx > 0 || r.status > 0) fail(`${what}: ${Math.max(r.non2xx, r.status)} non-2xx responses out of ${r.requests}`);
  if (r.connect + r.read + r.write > 0) fail(`${what}: socket errors connect ${r.connect}, read ${r.read}, write ${r.write}`);
  if (r.timeout > 0) log(`warning: ${what}: ${r.timeout} timeouts`);
  if (r.requests === 0) fail(`${what}: no requests completed`);
}

export function profileArgs(dir) {
  const d = resolve(dir);
  mkdirSync(d, { recursive: true });
  // BENCH_PROFILE_INTERVAL: sampling interval in µs (V8's default is 1000).
  const interval = process.env.BENCH_PROFILE_INTERVAL;
  return ['--cpu-prof', `--cpu-prof-dir=${d}`, ...(interval ? [`--cpu-prof-interval=${interval}`] : [])];
}
