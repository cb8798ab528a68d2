/**
 * The commands of the `oauth-resource-server` CLI (src/cli.ts is the executable): `plan` (a dry run of
 * resource registration) and `sync [--prune]` (the registration itself; `--prune` also deletes this API's
 * orphaned sets). The config module's default export is `{ uma, app }` (from `umaProtection()` and your Express
 * app) or a function returning it (possibly async); it must build them as the API does (same options, store and
 * namespace), without listening.
 */
import type { UmaProtection } from './express/uma.js';
import type { SyncPlan } from './uma/sync.js';

interface CliConfig {
  uma: UmaProtection;
  app: object;
}

/** Where the commands read the config module and write. */
export interface CliIo {
  /** Import the config module at this path. */
  load(path: string): Promise<unknown>;
  out(text: string): void;
  err(text: string): void;
}

const USAGE = 'usage: oauth-resource-server plan|sync [--prune] --config <module.mjs>';

/** The plan, one line per set. */
export function formatPlan(plan: SyncPlan): string {
  const lines: string[] = [];
  for (const d of plan.create) lines.push(`+ create  ${d.key}  scopes: ${d.scopes.join(' ')}`);
  for (const d of plan.recreate) lines.push(`+ create  ${d.key}  (a run-time object the AS lost)  scopes: ${d.scopes.join(' ')}`);
  for (const u of plan.update) lines.push(`~ update  ${u.resource.key}  (${u.id})  scopes: ${u.resource.scopes.join(' ')}`);
  for (const a of plan.adopt) lines.push(`~ adopt   ${a.resource.key}  (${a.id}, found again${a.changed ? ', updated' : ', unchanged'})`);
  for (const r of plan.restore) lines.push(`~ adopt   ${r.key}  (${r.id}, a run-time object found again)`);
  for (const d of plan.delete) lines.push(`- delete  ${d.key}  (${d.id})`);
  for (const o of plan.orphans) lines.push(`! orphan  ${o.key}  (${o.id}${o.name !== undefined ? `, ${JSON.stringify(o.name)}` : ''}: declared by no route; sync --prune deletes it)`);
  for (const u of plan.unchanged) lines.push(`= keep    ${u.key}  (${u.id})`);
  return lines.length ? lines.join('\n') : '(nothing declared)';
}

/** Run one command; resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const command = argv[0];
  const i = argv.indexOf('--config');
  const configPath = i === -1 ? undefined : argv[i + 1];
  const prune = argv.includes('--prune');
  if ((command !== 'plan' && command !== 'sync') || !configPath || (prune && command !== 'sync')) {
    io.err(USAGE);
    return 2;
  }
  const mod = (await io.load(configPath)) as { default?: CliConfig | (() => CliConfig | Promise<CliConfig>) } | undefined;
  const exported = mod?.default;
  const config = typeof exported === 'function' ? await exported() : exported;
  if (!config?.uma || !config.app) {
    io.err(`${configPath}: the default export must be { uma, app } (or a function returning it)`);
    return 2;
  }
  const registrar = config.uma.declareRoutes(config.app);
  if (command === 'plan') {
    io.out(formatPlan(await registrar.plan()));
    return 0;
  }
  const status = await registrar.sync({ prune });
  const orphans = status.orphans?.length ? `\norphans (not deleted; sync --prune deletes them): ${status.orphans.map((o) => `${o.key} (${o.id})`).join(', ')}` : '';
  io.out(`registered: ${status.registered.length}, pending: ${status.pending.length}${status.lastError ? `\nlast error: ${status.lastError}` : ''}${orphans}`);
  return status.state === 'registered' ? 0 : 1;
}
