/**
 * The CLI's exit codes as its help and the README state them: 2 for wrong usage or a wrong config (a config module
 * that cannot be found, or whose options the kit refuses), 1 only for what the AS or the run itself failed at; and
 * every message names the program once.
 */
import { describe, expect, it } from '@jest/globals';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import express from 'express';
import { cliMessage, runCli, type CliIo } from '../../src/cli/run.js';
import { ConfigurationError, ResourceServer, umaProtection, type UmaProtectionOptions } from '../../src/index.js';

const ISSUER = 'https://as.example.com';

function io(load: CliIo['load']): CliIo & { errors: string[]; output: string[] } {
  const errors: string[] = [];
  const output: string[] = [];
  return { load, errors, output, out: (t) => output.push(t), err: (t) => errors.push(t) };
}

/** A config as users write it, with a misspelled option (`timeout` for `timeoutMs`). */
function misspelledUma() {
  const resourceServer = new ResourceServer({ issuer: ISSUER, resource: 'https://api.example.com', logger: false });
  const options = { resourceServer, issuer: ISSUER, clientId: 'rs', clientSecret: 'secret', timeout: 1000, logger: false };
  return umaProtection(options as UmaProtectionOptions);
}

describe('oauth-resource-server exit codes', () => {
  it('a config module that throws a ConfigurationError while it loads: exit 2, the option named, the program named once', async () => {
    const cli = io(async () => ({ default: { uma: misspelledUma(), app: express() } }));
    expect(await runCli(['plan', '--config', 'uma.config.mjs'], cli)).toBe(2);
    expect(cli.errors).toHaveLength(1);
    expect(cli.errors[0]).toMatch(/^oauth-resource-server: the config module uma\.config\.mjs: unknown option "umaProtection\.timeout"/);
    expect(cli.errors[0]!.match(/oauth-resource-server:/g)).toHaveLength(1);
  });

  it('a config function that throws a ConfigurationError: exit 2', async () => {
    const cli = io(async () => ({ default: async () => ({ uma: misspelledUma(), app: express() }) }));
    expect(await runCli(['sync', '--config', 'uma.config.mjs'], cli)).toBe(2);
    expect(cli.errors[0]).toContain('unknown option "umaProtection.timeout"');
  });

  it('a config module that does not exist: exit 2, naming it', async () => {
    const missing = join(tmpdir(), `ors-no-such-config-${process.pid}.mjs`);
    const cli = io((path) => import(pathToFileURL(path).href));
    expect(await runCli(['plan', '--config', missing], cli)).toBe(2);
    const prefix = `oauth-resource-server: the config module ${missing}: `;
    expect(cli.errors[0]!.slice(0, prefix.length)).toBe(prefix);
  });

  it("an error that is not the config's (the AS, the store) is still thrown: exit 1 in main", async () => {
    const failure = new Error('the authorization server is failing (https://as.example.com)');
    const cli = io(async () => {
      throw failure;
    });
    await expect(runCli(['plan', '--config', 'uma.config.mjs'], cli)).rejects.toBe(failure);
  });

  it('cliMessage names the program once, whether or not the message already does', () => {
    expect(cliMessage(new ConfigurationError('oauth-resource-server: unknown option "x"'))).toBe(
      'oauth-resource-server: unknown option "x"',
    );
    expect(cliMessage(new Error('ECONNREFUSED'))).toBe('oauth-resource-server: ECONNREFUSED');
  });
});
