/**
 * The published shape: the package builds (once for all files of this folder: ./consumer-projects.ts), both `import` and `require()` of it (and of its `/testing`
 * entry point) work on this Node with type declarations for each, and the examples, which use the
 * package by its name exactly as users would, run to a successful end. One file, so one build.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';
import { join } from 'node:path';
import { packedPackage, root } from './consumer-projects.js';

const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });

const PROBE = `const names = ['oauthResourceServer', 'requireScopes', 'getAuth', 'ResourceServer', 'InvalidTokenError', 'parseChallenges'];`;

describe('package build and exports', () => {
  beforeAll(async () => {
    await packedPackage();
  }, 240_000);

  it('import() of the package and of /testing works', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `${PROBE} const m = await import('oauth-resource-server'); const t = await import('oauth-resource-server/testing');
       console.log(JSON.stringify({ api: names.map((n) => typeof m[n]), testing: typeof t.startDevAuthorizationServer }));`,
    ]);
    expect(JSON.parse(out)).toEqual({ api: ['function', 'function', 'function', 'function', 'function', 'function'], testing: 'function' });
  });

  it('require() of the package and of /testing works', () => {
    const out = node([
      '-e',
      `${PROBE} const m = require('oauth-resource-server'); const t = require('oauth-resource-server/testing');
       console.log(JSON.stringify({ api: names.map((n) => typeof m[n]), testing: typeof t.startDevAuthorizationServer, cjs: require.resolve('oauth-resource-server').includes('/dist/cjs/') }));`,
    ]);
    expect(JSON.parse(out)).toEqual({
      api: ['function', 'function', 'function', 'function', 'function', 'function'],
      testing: 'function',
      cjs: true,
    });
  });

  it('ships type declarations for both formats and states its Node floor', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      engines: { node: string };
      exports: Record<string, { import: { types: string }; require: { types: string } }>;
      peerDependencies: Record<string, string>;
    };
    for (const entry of ['.', './testing']) {
      expect(existsSync(join(root, pkg.exports[entry]!.import.types))).toBe(true);
      expect(existsSync(join(root, pkg.exports[entry]!.require.types))).toBe(true);
    }
    // The CommonJS build require()s the ESM-only oidc-provider (the dev AS): Node's require(esm), unflagged in 20.19 and 22.12 (not 21, not 22.0-22.11).
    expect(pkg.engines.node).toBe('^20.19.0 || >=22.12.0');
    expect(pkg.peerDependencies.express).toBe('^4.21 || ^5');
  });
});

describe('examples (on the built package)', () => {
  beforeAll(async () => {
    await packedPackage();
  }, 240_000);

  it.each([['orders-api'], ['uma-photos'], ['attribute-provider'], ['replicas'], ['express4'], ['opaque']])(
    'examples/%s/demo.mjs walks through every step and exits 0',
    (name) => {
      const out = node([`examples/${name}/demo.mjs`]);
      expect(out).toMatch(/behaved as expected/);
      expect(out).not.toContain('✘');
    },
    60_000,
  );
});

describe('npm run demo -- --serve', () => {
  it('prints a client id and secret that mint tokens with curl, and a resource_metadata URL one can open', async () => {
    await packedPackage();
    const child = spawn(process.execPath, ['examples/orders-api/demo.mjs', '--serve'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no curl commands printed:\n${out}`)), 60_000);
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (/curl -s -u .*\/token\n/.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`the demo exited (${code}):\n${out}`)));
      });
      // The printed mint command, run as curl would: -u is client_secret_basic, -d the form body.
      const [, user, body, tokenEndpoint] = /curl -s -u '([^']+)' (.*) (http:\S+\/token)\n/.exec(out)!;
      const form = new URLSearchParams(
        [...body!.matchAll(/-d '?([^=]+)=([^']*?)'?(?= -d|$)/g)].map(([, k, v]) => [k!, v!] as [string, string]),
      );
      const minted = await fetch(tokenEndpoint!, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(user!).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      expect(minted.status).toBe(200);
      const { access_token: token } = (await minted.json()) as { access_token: string };
      const api = /orders API +(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      expect((await fetch(`${api}/orders`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const refused = await fetch(`${api}/orders`);
      expect(refused.status).toBe(401);
      const metadataUrl = /resource_metadata="([^"]+)"/.exec(refused.headers.get('www-authenticate') ?? '')![1]!;
      expect(metadataUrl.startsWith(api)).toBe(true);
      const metadata = await fetch(metadataUrl);
      expect(metadata.status).toBe(200);
      expect(((await metadata.json()) as { resource: string }).resource).toBe(`${api}/orders`);
    } finally {
      child.kill('SIGINT');
    }
  }, 90_000);
});

describe('the CLI (oauth-resource-server plan|sync)', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['dist/esm/cli/main.js', ...args],
        { cwd: root, env: { ...process.env, ...env }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('--help says what plan and sync do, which config they read and what the exit codes mean; --version prints the version', async () => {
    await packedPackage();
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}plan {4}a dry run/m);
    expect(help.stdout).toMatch(/^ {2}sync {4}registers/m);
    expect(help.stdout).toMatch(/--config <module>.*default export is \{ uma, app \}/s);
    expect(help.stdout).toMatch(/exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 /);
    const version = await cli(['--version']);
    expect({ code: version.code, out: version.stdout.trim() }).toEqual({
      code: 0,
      out: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
    });
    const usage = await cli([]);
    expect({ code: usage.code, err: usage.stderr.trim() }).toEqual({
      code: 2,
      err: 'usage: oauth-resource-server plan|sync [--prune] --config <module.mjs>   (--help for more)',
    });
  }, 60_000);

  it('an unreachable authorization server: exit 1, and the message names the URL', async () => {
    await packedPackage();
    const env = {
      ISSUER: 'http://127.0.0.1:9',
      CLIENT_ID: 'rs',
      CLIENT_SECRET: 'secret',
      STORE: join(tmpdir(), `ors-cli-${process.pid}.json`),
    };
    const run = await cli(['plan', '--config', 'test/package/fixtures/uma.config.mjs'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('http://127.0.0.1:9/.well-known/');
  }, 60_000);

  it('a config the kit refuses, or one that does not exist: exit 2, with one clear line naming the program once', async () => {
    await packedPackage();
    const misspelled = await cli(['plan', '--config', 'test/package/fixtures/misspelled.config.mjs']);
    expect(misspelled.code).toBe(2);
    expect(misspelled.stderr.trim()).toMatch(
      /^oauth-resource-server: the config module test\/package\/fixtures\/misspelled\.config\.mjs: unknown option "umaProtection\.timeout": did you mean "umaProtection\.timeoutMs"\?$/,
    );
    const missing = await cli(['sync', '--config', 'test/package/fixtures/no-such.config.mjs']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^oauth-resource-server: the config module test\/package\/fixtures\/no-such\.config\.mjs: .*no-such\.config\.mjs/,
    );
    expect(missing.stderr.match(/oauth-resource-server:/g)).toHaveLength(1);
  }, 60_000);

  it('plans without touching the AS, then syncs, then plans nothing to do', async () => {
    await packedPackage();
    const as = (await startDevAuthorizationServer({
      resources: [{ identifier: 'https://photos.example.com', scopes: ['view'] }],
      uma: true,
    })) as DevUmaAuthorizationServer;
    const dir = mkdtempSync(join(tmpdir(), 'ors-cli-'));
    try {
      const env = {
        ...process.env,
        ISSUER: as.issuer,
        CLIENT_ID: as.resourceServerClient.clientId,
        CLIENT_SECRET: as.resourceServerClient.clientSecret,
        STORE: join(dir, 'state.json'),
      };
      const cli = (command: string) =>
        new Promise<string>((resolve, reject) => {
          execFile(
            process.execPath,
            ['dist/esm/cli/main.js', command, '--config', 'test/package/fixtures/uma.config.mjs'],
            { cwd: root, env, timeout: 30_000 },
            (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
          );
        });
      expect(await cli('plan')).toMatch(/^\+ create {2}route:\/albums\/:id {2}scopes: delete view$/m);
      expect(as.uma.resources()).toHaveLength(0);
      expect(await cli('sync')).toMatch(/registered: 1, pending: 0/);
      expect(as.uma.resources()).toHaveLength(1);
      expect(await cli('plan')).toMatch(/^= keep {4}route:\/albums\/:id/m);
    } finally {
      await as.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
