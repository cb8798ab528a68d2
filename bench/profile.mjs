#!/usr/bin/env node
// Where does an app's time go? Runs one app under `node --cpu-prof` (pinned to core 0) against wrk (core 1)
// for one scenario, then prints the top self-time functions and a roll-up by module.
//
//   node bench/profile.mjs [kit|peer|bare] [one|distinct|new] [seconds]     (defaults: kit new 10)
//
// Profiles are kept in bench/profiles/ (open them in Chrome DevTools). Run `npm run build` first.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  APPS,
  BENCH_DIR,
  ORDERS,
  ROOT,
  checkRun,
  checkTokens,
  fail,
  log,
  pinSelf,
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

const [appId = 'kit', scenario = 'new', secondsArg = '10'] = process.argv.slice(2);
const seconds = Number(secondsArg);

async function main() {
  // An app id, or a file under bench/ (an experiment: `apps/exp/x.mjs`), profiled like the kit.
  const app = appId.endsWith('.mjs')
    ? { id: appId, label: appId, file: appId, auth: false }
    : (APPS.find((a) => a.id === appId) ?? fail(`unknown app ${appId} (kit, peer or bare, or a file under bench/)`));
  if (!['one', 'distinct', 'new'].includes(scenario)) fail(`unknown scenario ${scenario} (one, distinct or new)`);
  if (!Number.isInteger(seconds) || seconds <= 0) fail('seconds must be a positive integer');
  preflight();
  const dir = join(BENCH_DIR, 'profiles');
  const as = await startAuthorizationServer();
  const tmp = tempDir();
  const file = join(tmp, 'tokens.txt');
  // Every token new: enough for the run at up to 15,000 req/s, plus the warm-up.
  const count = scenario === 'one' ? 1 : scenario === 'distinct' ? 10_000 : (seconds + 3) * 15_000;
  log(`signing ${count} tokens`);
  const tokens = await signMany(as, count, file);
  const warm = join(tmp, 'warm.txt');
  await signMany(as, scenario === 'new' ? 15_000 : 1, warm);
  pinSelf('1');

  const before = new Set(safeList(dir));
  const running = await startApp(app, { BENCH_ISSUER: as.issuer, BENCH_RESOURCE: ORDERS, BENCH_JWKS_URI: as.jwksUri }, profileArgs(dir));
  let res;
  try {
    await verifyApp(running, await checkTokens(as, [tokens[0]]));
    checkRun('warm-up', await wrk(running.port, scenario === 'new' ? warm : file, 2));
    res = await wrk(running.port, file, seconds);
    checkRun('profiled run', res);
  } finally {
    await stopApp(running);
  }
  if (scenario === 'new' && app.auth && res.issued > res.pool) log('warning: tokens repeated during the run');
  log(`${app.label} / ${scenario}: ${Math.round(res.rps)} req/s under the profiler`);

  const created = safeList(dir).filter((f) => !before.has(f) && f.endsWith('.cpuprofile'));
  if (created.length !== 1) fail(`expected one new profile in ${dir}, found ${created.length}`);
  summarise(join(dir, created[0]));
}

function safeList(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function summarise(path) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  const fns = new Map();
  const modules = new Map();
  for (const [id, us] of self) {
    total += us;
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const where = shortUrl(url);
    const key = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const mod = moduleOf(url, functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
  }
  const idle = [...fns].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  const busy = total - idle;
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  console.log(`\n${path}\nbusy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s sampled; shares are of busy time\n`);
  console.log('top self time by function:');
  for (const [k, us] of [...fns]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30))
    console.log(`  ${pct(us)}  ${k}`);
  console.log('\nself time by module:');
  for (const [k, us] of [...modules]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20))
    console.log(`  ${pct(us)}  ${k}`);
}

function shortUrl(url) {
  if (!url) return '';
  return url.replace(`file://${ROOT}/`, '').replace(/^file:\/\//, '');
}

function moduleOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const u = shortUrl(url);
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)(?:\/node_modules\/((?:@[^/]+\/)?[^/]+))?/.exec(u);
  if (nm) return nm[2] ? `${nm[1]} > ${nm[2]}` : nm[1];
  if (u.startsWith('node:')) return `node: ${u.slice(5).split('/').slice(0, 2).join('/')}`;
  if (u.startsWith('dist/')) return `kit ${u.replace(/^dist\/esm\//, '')}`;
  return u;
}

// Profiles from earlier runs are kept; BENCH_PROFILE_CLEAN=1 removes them first.
if (process.env.BENCH_PROFILE_CLEAN === '1') rmSync(join(BENCH_DIR, 'profiles'), { recursive: true, force: true });
await runMain(main);
