/**
 * The published shape: the package builds (once for all files of this folder: ./consumer-projects.ts), both `import` and `require()` of it (and of its `/testing`
 * entry point) work on this Node with type declarations for each, and the examples, which use the
 * package by its name exactly as users would, run to a successful end. One file, so one build.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
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
    expect(JSON.parse(out)).toEqual({ api: ['function', 'function', 'function', 'function', 'function', 'function'], testing: 'function', cjs: true });
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

  it.each([['orders-api'], ['uma-photos'], ['attribute-provider'], ['replicas'], ['express4'], ['opaque']])('examples/%s/demo.mjs walks through every step and exits 0', (name) => {
    const out = node([`examples/${name}/demo.mjs`]);
    expect(out).toMatch(/behaved as expected/);
    expect(out).not.toContain('✘');
  }, 60_000);
});

describe('the CLI (oauth-resource-server plan|sync)', () => {
  it('plans without touching the AS, then syncs, then plans nothing to do', async () => {
    await packedPackage();
    const as = (await startDevAuthorizationServer({ resources: [{ identifier: 'https://photos.example.com', scopes: ['view'] }], uma: true })) as DevUmaAuthorizationServer;
    const dir = mkdtempSync(join(tmpdir(), 'ors-cli-'));
    try {
      const env = { ...process.env, ISSUER: as.issuer, CLIENT_ID: as.resourceServerClient.clientId, CLIENT_SECRET: as.resourceServerClient.clientSecret, STORE: join(dir, 'state.json') };
      const cli = (command: string) =>
        new Promise<string>((resolve, reject) => {
          execFile(process.execPath, ['dist/esm/cli.js', command, '--config', 'test/package/fixtures/uma.config.mjs'], { cwd: root, env, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
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
