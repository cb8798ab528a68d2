#!/usr/bin/env node
/**
 * `npx oauth-resource-server plan|sync [--prune] --config <module>`: a dry run of resource registration, or
 * the registration itself (see cli-run.ts for the commands and the config contract).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from './cli-run.js';

runCli(process.argv.slice(2), {
  load: (path) => import(pathToFileURL(resolve(path)).href),
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => console.error(text),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`oauth-resource-server: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
