#!/usr/bin/env node
/**
 * `npx oauth-resource-server plan|sync --config <module>`: a dry run of resource registration, or the
 * registration itself. The config module's default export is `{ uma, app }` (from `umaProtection()` and
 * your Express app) or a function returning it (possibly async).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { UmaProtection } from './express/uma.js';
import type { SyncPlan } from './uma/sync.js';

interface CliConfig {
  uma: UmaProtection;
  app: object;
}

const USAGE = 'usage: oauth-resource-server plan|sync --config <module.mjs>';

function formatPlan(plan: SyncPlan): string {
  const lines: string[] = [];
  for (const d of plan.create) lines.push(`+ create  ${d.key}  scopes: ${d.scopes.join(' ')}`);
  for (const u of plan.update) lines.push(`~ update  ${u.resource.key}  (${u.id})  scopes: ${u.resource.scopes.join(' ')}`);
  for (const a of plan.adopt) lines.push(`~ adopt   ${a.resource.key}  (${a.id}, found by name/URI)`);
  for (const d of plan.delete) lines.push(`- delete  ${d.key}  (${d.id})`);
  for (const u of plan.unchanged) lines.push(`= keep    ${u.key}  (${u.id})`);
  return lines.length ? lines.join('\n') : '(nothing declared)';
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  const i = argv.indexOf('--config');
  const configPath = i === -1 ? undefined : argv[i + 1];
  if ((command !== 'plan' && command !== 'sync') || !configPath) {
    console.error(USAGE);
    return 2;
  }
  const mod = (await import(pathToFileURL(resolve(configPath)).href)) as { default?: CliConfig | (() => CliConfig | Promise<CliConfig>) };
  const exported = mod.default;
  const config = typeof exported === 'function' ? await exported() : exported;
  if (!config?.uma || !config.app) {
    console.error(`${configPath}: the default export must be { uma, app } (or a function returning it)`);
    return 2;
  }
  const registrar = config.uma.declareRoutes(config.app);
  if (command === 'plan') {
    process.stdout.write(`${formatPlan(await registrar.plan())}\n`);
    return 0;
  }
  const status = await registrar.sync();
  process.stdout.write(`registered: ${status.registered.length}, pending: ${status.pending.length}${status.lastError ? `\nlast error: ${status.lastError}` : ''}\n`);
  return status.state === 'registered' ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`oauth-resource-server: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
