/**
 * Every consumer loads it: real consumer projects, made from the packed tarball, run the test suites of
 * examples/testing (the README's "Testing your API") with Jest 29 and 30 in their default CommonJS mode
 * (babel-jest and ts-jest) and in ESM mode, with Vitest and with node:test; a bundler (esbuild) bundles an
 * app using both entry points, as CommonJS and as an ES module, and the bundle runs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { consumerProject, filesOf, packedPackage, root, runNode, type NewestTool, type Packed, type Run } from './consumer-projects.js';

const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A copy of examples/testing in a consumer project; the folder of `example` in it. */
async function examples(example: string, newest: NewestTool[]): Promise<string> {
  const dir = await consumerProject(`${example}-${newest.join('-') || 'pinned'}`, { files: filesOf('examples/testing'), newest });
  made.push(dir);
  return join(dir, example);
}

/** How many tests the example's test files declare (`test(` at the start of a line, maybe indented). */
function declaredTests(example: string): number {
  const files = Object.entries(filesOf(`examples/testing/${example}`)).filter(([path]) => /\.test\.[cm]?[jt]s$/.test(path));
  return files.reduce((n, [, text]) => n + (text.match(/^\s*test\(/gm) ?? []).length, 0);
}

/** What a run is compared on: its exit code and `facts`, and its output when it failed (to say why). */
function outcome(run: Run, facts: Record<string, unknown>): Record<string, unknown> {
  return { code: run.code, ...facts, ...(run.code === 0 ? {} : { output: run.output.slice(-4000) }) };
}

let packed: Packed;
beforeAll(async () => {
  packed = await packedPackage();
}, 240_000);

describe.each([
  ['Jest 29', [] as NewestTool[]],
  ['Jest 30', ['jest'] as NewestTool[]],
])('%s', (_name, newest) => {
  it.each([
    ['jest-cjs', 'default CommonJS mode, babel-jest (JavaScript), test issuer and the dev AS'],
    ['jest-ts', 'default CommonJS mode, ts-jest (TypeScript, skipLibCheck false)'],
  ])(
    'examples/testing/%s passes (%s)',
    async (example) => {
      const dir = await examples(example, newest);
      const run = await runNode(dir, ['../node_modules/jest/bin/jest.js', '--ci']);
      const n = declaredTests(example);
      expect(outcome(run, { tests: run.output.match(/^Tests:.*$/m)?.[0] })).toEqual({
        code: 0,
        tests: `Tests:       ${n} passed, ${n} total`,
      });
    },
    240_000,
  );

  it('examples/testing/jest-esm passes (ESM mode)', async () => {
    const dir = await examples('jest-esm', newest);
    const run = await runNode(dir, ['--experimental-vm-modules', '--no-warnings', '../node_modules/jest/bin/jest.js', '--ci']);
    const n = declaredTests('jest-esm');
    expect(outcome(run, { tests: run.output.match(/^Tests:.*$/m)?.[0] })).toEqual({
      code: 0,
      tests: `Tests:       ${n} passed, ${n} total`,
    });
  }, 240_000);
});

describe('other test runners', () => {
  it('examples/testing/vitest passes under Vitest', async () => {
    const dir = await examples('vitest', ['vitest']);
    const run = await runNode(dir, ['../node_modules/vitest/vitest.mjs', 'run']);
    const n = declaredTests('vitest');
    expect(outcome(run, { tests: run.output.match(/Tests\s+\d+ passed \(\d+\)/)?.[0] })).toEqual({
      code: 0,
      tests: `Tests  ${n} passed (${n})`,
    });
  }, 240_000);

  it('examples/testing/node-test passes under node:test (ESM and CommonJS files)', async () => {
    const dir = await examples('node-test', []);
    const run = await runNode(dir, ['--test']);
    const n = declaredTests('node-test');
    expect(outcome(run, { pass: run.output.match(/^# pass \d+$/m)?.[0], fail: run.output.match(/^# fail \d+$/m)?.[0] })).toEqual({
      code: 0,
      pass: `# pass ${n}`,
      fail: '# fail 0',
    });
  }, 240_000);
});

describe('bundlers', () => {
  // An app using both entry points: a test issuer signs a token, the app answers a request carrying it.
  const app = (format: 'cjs' | 'esm') => `
${
  format === 'cjs'
    ? `const { oauthResourceServer, requireScopes, getAuth } = require('oauth-resource-server');
const { createTestIssuer, signTestToken } = require('oauth-resource-server/testing');
const express = require('express');
const request = require('supertest');`
    : `import { oauthResourceServer, requireScopes, getAuth } from 'oauth-resource-server';
import { createTestIssuer, signTestToken } from 'oauth-resource-server/testing';
import express from 'express';
import request from 'supertest';`
}
(async () => {
  const issuer = await createTestIssuer();
  const app = express();
  app.use(oauthResourceServer({ issuer: issuer.trustedIssuer, resource: 'https://api.example.com' }));
  app.get('/', requireScopes('read'), (req, res) => res.json({ sub: getAuth(req).subject }));
  const token = await signTestToken(issuer, { audience: 'https://api.example.com', scope: 'read', claims: { sub: 'bundled' } });
  const res = await request(app).get('/').set('Authorization', 'Bearer ' + token);
  console.log(JSON.stringify({ status: res.status, body: res.body }));
})();
`;

  it.each([['cjs' as const], ['esm' as const]])(
    'esbuild bundles an app using both entry points as %s, and the bundle runs',
    async (format) => {
      const dir = await consumerProject(`esbuild-${format}`, { files: { [`app.${format === 'cjs' ? 'cjs' : 'mjs'}`]: app(format) } });
      made.push(dir);
      const script = `require('esbuild').build({ entryPoints: ['app.${format === 'cjs' ? 'cjs' : 'mjs'}'], bundle: true, platform: 'node', format: '${format}',
      outfile: 'out/bundle.${format === 'cjs' ? 'cjs' : 'mjs'}', external: ['express', 'supertest'], logLevel: 'error' }).catch(() => process.exit(1));`;
      writeFileSync(join(dir, 'bundle.cjs'), script);
      const bundled = await runNode(dir, ['bundle.cjs']);
      expect({ code: bundled.code, output: bundled.output.trim() }).toEqual({ code: 0, output: '' });
      const bundle = readFileSync(join(dir, `out/bundle.${format === 'cjs' ? 'cjs' : 'mjs'}`), 'utf8');
      // The package itself is in the bundle (resolved through its `exports`), not loaded from node_modules at run time.
      expect(bundle).not.toMatch(/require\("oauth-resource-server|from "oauth-resource-server/);
      const run = await runNode(dir, [`out/bundle.${format === 'cjs' ? 'cjs' : 'mjs'}`]);
      expect({ code: run.code, answer: run.output.trim().split('\n')[0] }).toEqual({
        code: 0,
        answer: JSON.stringify({ status: 200, body: { sub: 'bundled' } }),
      });
    },
    120_000,
  );
});

describe('without the optional peer oidc-provider', () => {
  it.each([
    ['CommonJS', 'cjs', `const { startDevAuthorizationServer } = require('oauth-resource-server/testing');`],
    ['ESM', 'mjs', `import { startDevAuthorizationServer } from 'oauth-resource-server/testing';`],
  ])('startDevAuthorizationServer (%s) says which package to install', async (_name, ext, load) => {
    const dir = await consumerProject(`no-oidc-provider-${ext}`, {
      files: {
        [`start.${ext}`]: `${load}\nstartDevAuthorizationServer({ resources: [] }).then(() => console.log('started'), (err) => console.log(err.name + ': ' + err.message));\n`,
      },
    });
    made.push(dir);
    rmSync(join(dir, 'node_modules', 'oidc-provider'), { force: true });
    const run = await runNode(dir, [`start.${ext}`]);
    expect({ code: run.code, output: run.output.trim() }).toEqual({
      code: 0,
      output:
        'ConfigurationError: startDevAuthorizationServer needs the optional peer dependency oidc-provider, which is not installed: npm install --save-dev oidc-provider',
    });
  });
});

describe("the README's Testing your API", () => {
  it('shows each example file exactly as test/package runs it', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const shown = [...readme.matchAll(/<!-- example: (\S+) -->\n```\w*\n([\s\S]*?)```/g)];
    expect(shown.map(([, path]) => path)).toEqual(
      expect.arrayContaining([
        'examples/testing/app.cjs',
        'examples/testing/jest-cjs/orders.test.js',
        'examples/testing/vitest/orders.test.js',
      ]),
    );
    for (const [, path, code] of shown) expect({ path, code }).toEqual({ path, code: readFileSync(join(root, path!), 'utf8') });
  });
});

describe('the tarball', () => {
  it('carries the CommonJS vendor bundle with the licenses of what it bundles, and no test or source file', () => {
    expect(packed.files).toContain('dist/cjs/vendor/index.js');
    const licenses = readFileSync(join(packed.dir, 'dist/cjs/vendor/LICENSES.txt'), 'utf8');
    for (const pkg of ['jose', 'openid-client', 'oauth4webapi']) expect(licenses).toContain(`${pkg}@`);
    expect(
      packed.files.filter((f) => !/^(dist\/|README\.md$|CHANGELOG\.md$|docs\/conformance\.md$|package\.json$|LICENSE)/.test(f)),
    ).toEqual([]);
  });

  it('its CommonJS build needs no ES-module dependency: both entry points load and work with jose and openid-client removed', async () => {
    const dir = await consumerProject('require-without-esm', { files: {} });
    made.push(dir);
    for (const pkg of ['jose', 'openid-client', 'oauth4webapi']) rmSync(join(dir, 'node_modules', pkg), { force: true });
    const run = await runNode(dir, [
      '-e',
      `const { ResourceServer } = require('oauth-resource-server'); const { createTestIssuer, signTestToken } = require('oauth-resource-server/testing');
       (async () => { const issuer = await createTestIssuer(); const rs = new ResourceServer({ issuer: issuer.trustedIssuer, resource: 'https://api.example.com' });
         const token = await signTestToken(issuer, { audience: 'https://api.example.com', claims: { sub: 'cjs' } });
         const a = await rs.authenticate({ method: 'GET', url: '/', headers: { authorization: 'Bearer ' + token } });
         console.log(a.context.subject); })();`,
    ]);
    expect({ code: run.code, subject: run.output.trim().split('\n')[0] }).toEqual({ code: 0, subject: 'cjs' });
  });
});
