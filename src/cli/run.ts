/**
 * The commands of the `oauth-resource-server` CLI (src/cli/main.ts is the executable): `plan` (a dry run of
 * resource registration), `sync [--prune]` (the registration itself; `--prune` also deletes this API's
 * orphaned sets), `--help` and `--version`. The config module's default export is `{ uma, app }` (from `umaProtection()` and your Express
 * app) or a function returning it (possibly async); it must build them as the API does (same options, store and
 * namespace), without listening.
 */
import type { UmaProtection } from '../express/uma.js';
import type { UmaRegistrar } from '../uma/registrar.js';
import type { SyncPlan } from '../uma/sync.js';

interface CliConfig {
  uma: UmaProtection;
  app: object;
}

/** Where the commands read the config module and write. */
export interface CliIo {
  /** Import the config module at this path. */
  load(path: string): Promise<unknown>;
  /** The package's version, for `--version`. */
  version?: string;
  out(text: string): void;
  err(text: string): void;
}

const PROGRAM = 'oauth-resource-server';

const USAGE = 'usage: oauth-resource-server plan|sync [--prune] --config <module.mjs>   (--help for more)';

/** `--help`: what the commands do, what they read, and what the exit codes mean. */
export const HELP = `usage: oauth-resource-server <command> --config <module.mjs> [--prune]

Registers this API's protected resources (UMA resource sets, from the routes that declare uma.require(...))
at its UMA authorization server, as the API itself does at start-up; for deployment pipelines and reviews.

commands:
  plan    a dry run: reads what the AS and the config's store hold and prints what sync would do,
          one line per resource set (+ create, ~ update or adopt, - delete, ! orphan, = keep). Changes nothing.
  sync    registers: creates and updates the sets at the AS and records them in the config's store.
          With --prune it also deletes this API's sets that no route declares any more (orphans).

options:
  --config <module>  an ES module (or CommonJS) whose default export is { uma, app }, or a function
                     returning it (possibly async): uma from umaProtection({ ... }) and your Express app, built
                     as the API builds them (same issuer, credentials, store and namespace), without listening
  --prune            with sync: delete orphaned sets
  --help, -h         this text
  --version, -v      the package's version

exit codes:
  0  done: the plan was printed, or every set is registered
  1  failed: the AS could not be reached or refused (the message names the URL), or sync left sets pending
  2  wrong usage, or a wrong config: a module that cannot be found or loaded, one without { uma, app },
     or options the kit refuses (a ConfigurationError: an unknown option name, a value out of range)`;

/** The plan, one line per set. */
export function formatPlan(plan: SyncPlan): string {
  const lines: string[] = [];
  for (const d of plan.create) lines.push(`+ create  ${d.key}  scopes: ${d.scopes.join(' ')}`);
  for (const d of plan.recreate) lines.push(`+ create  ${d.key}  (a run-time object the AS lost)  scopes: ${d.scopes.join(' ')}`);
  for (const u of plan.update) lines.push(`~ update  ${u.resource.key}  (${u.id})  scopes: ${u.resource.scopes.join(' ')}`);
  for (const a of plan.adopt) lines.push(`~ adopt   ${a.resource.key}  (${a.id}, found again${a.changed ? ', updated' : ', unchanged'})`);
  for (const r of plan.restore) lines.push(`~ adopt   ${r.key}  (${r.id}, a run-time object found again)`);
  for (const d of plan.delete) lines.push(`- delete  ${d.key}  (${d.id})`);
  for (const o of plan.orphans) {
    const name = o.name !== undefined ? `, ${JSON.stringify(o.name)}` : '';
    lines.push(`! orphan  ${o.key}  (${o.id}${name}: declared by no route; sync --prune deletes it)`);
  }
  for (const u of plan.unchanged) lines.push(`= keep    ${u.key}  (${u.id})`);
  return lines.length ? lines.join('\n') : '(nothing declared)';
}

/** An error's message for the terminal, prefixed with the program's name once (the kit's messages may carry it). */
export function cliMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.startsWith(`${PROGRAM}: `) ? text : `${PROGRAM}: ${text}`;
}

/**
 * Whether an error is the config's fault (exit 2), not the AS's (exit 1): a ConfigurationError (by its stable
 * code: the config may load the CommonJS copy of the kit, whose class is another), or, while the config module
 * loads, a module that is not found or does not parse.
 */
function isConfigProblem(err: unknown, loading: boolean): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_CONFIGURATION') return true;
  if (!loading) return false;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || (err instanceof Error && err.name === 'SyntaxError');
}

/** Run one command; resolves to the exit code (rejects with what the AS or the store failed with: exit 1). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    io.out(HELP);
    return 0;
  }
  if (argv.includes('--version') || argv.includes('-v')) {
    io.out(io.version ?? 'unknown');
    return 0;
  }
  const command = argv[0];
  const configFlag = argv.indexOf('--config');
  const configPath = configFlag === -1 ? undefined : argv[configFlag + 1];
  const prune = argv.includes('--prune');
  if ((command !== 'plan' && command !== 'sync') || !configPath || (prune && command !== 'sync')) {
    io.err(USAGE);
    return 2;
  }
  let loading = true;
  try {
    const mod = (await io.load(configPath)) as { default?: CliConfig | (() => CliConfig | Promise<CliConfig>) } | undefined;
    const exported = mod?.default;
    const config = typeof exported === 'function' ? await exported() : exported;
    if (!config?.uma || !config.app) {
      io.err(`${configPath}: the default export must be { uma, app } (or a function returning it)`);
      return 2;
    }
    const registrar = config.uma.declareRoutes(config.app);
    loading = false;
    return await runCommand(command, registrar, prune, io);
  } catch (err) {
    if (!isConfigProblem(err, loading)) throw err;
    const what = loading ? `the config module ${configPath}` : `the config of ${configPath}`;
    io.err(cliMessage(err).replace(`${PROGRAM}: `, `${PROGRAM}: ${what}: `));
    return 2;
  }
}

async function runCommand(command: 'plan' | 'sync', registrar: UmaRegistrar, prune: boolean, io: CliIo): Promise<number> {
  if (command === 'plan') {
    io.out(formatPlan(await registrar.plan()));
    return 0;
  }
  const status = await registrar.sync({ prune });
  const orphans = status.orphans?.length
    ? `\norphans (not deleted; sync --prune deletes them): ${status.orphans.map((o) => `${o.key} (${o.id})`).join(', ')}`
    : '';
  const lastError = status.lastError ? `\nlast error: ${status.lastError}` : '';
  io.out(`registered: ${status.registered.length}, pending: ${status.pending.length}${lastError}${orphans}`);
  return status.state === 'registered' ? 0 : 1;
}
