#!/usr/bin/env node
/**
 * `npx oauth-resource-server plan|sync [--prune] --config <module>`: a dry run of resource registration, or
 * the registration itself (see run.ts for the commands and the config contract).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliMessage, runCli } from './run.js';

/** The version of the installed package (dist/esm/cli/main.js → package.json), or undefined. */
function packageVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

runCli(process.argv.slice(2), {
  load: (path) => import(pathToFileURL(resolve(path)).href),
  version: packageVersion(),
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => console.error(text),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(cliMessage(err));
    process.exit(1);
  },
);
