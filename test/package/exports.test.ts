/**
 * The published shape: the package builds, both `import` and `require()` of it (and of its `/testing`
 * entry point) work on this Node with type declarations for each, and the examples, which use the
 * package by its name exactly as users would, run to a successful end. One file, so one build.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });

const PROBE = `const names = ['oauthResourceServer', 'requireScopes', 'getAuth', 'ResourceServer', 'InvalidTokenError', 'parseChallenges'];`;

describe('package build and exports', () => {
  beforeAll(() => {
    node(['scripts/build.mjs']);
  }, 120_000);

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
    // require() of the ESM-only jose/openid-client needs Node's require(esm), unflagged in 20.19.
    expect(pkg.engines.node).toBe('>=20.19.0');
    expect(pkg.peerDependencies.express).toBe('^4.21 || ^5');
  });
});

describe('examples (on the built package)', () => {
  beforeAll(() => {
    if (!existsSync(join(root, 'dist/esm/index.js'))) node(['scripts/build.mjs']);
  }, 120_000);

  it.each([['orders-api'], ['uma-photos']])('examples/%s/demo.mjs walks through every step and exits 0', (name) => {
    const out = node([`examples/${name}/demo.mjs`]);
    expect(out).toMatch(/behaved as expected/);
    expect(out).not.toContain('✘');
  }, 60_000);
});
