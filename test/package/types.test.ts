/**
 * Types that compile for every consumer: a file using the main and testing entry points
 * (fixtures/typescript/consumer.ts) compiles with `skipLibCheck: false` in a consumer project made from the
 * packed tarball, in each module mode (nodenext and node16, ESM and CommonJS; bundler; node10), on the
 * TypeScript the project pins and on the newest major (TypeScript 7, which has no node10 mode any more).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { consumerProject, packedPackage, root, runNode, type NewestTool, type Packed } from './consumer-projects.js';

interface Mode {
  type: 'module' | 'commonjs';
  compilerOptions: Record<string, string>;
}

const MODES: Record<string, Mode> = {
  'nodenext, ESM': { type: 'module', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } },
  'nodenext, CommonJS': { type: 'commonjs', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } },
  'node16, ESM': { type: 'module', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
  'node16, CommonJS': { type: 'commonjs', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
  bundler: { type: 'module', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
  node10: { type: 'commonjs', compilerOptions: { module: 'commonjs', moduleResolution: 'node10' } },
};

const consumer = readFileSync(join(root, 'test/package/fixtures/typescript/consumer.ts'), 'utf8');
const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

let packed: Packed;
beforeAll(async () => {
  packed = await packedPackage();
}, 240_000);

describe.each([
  ['pinned TypeScript', [] as NewestTool[], Object.keys(MODES)],
  ['newest TypeScript', ['typescript'] as NewestTool[], Object.keys(MODES).filter((m) => m !== 'node10')],
])('%s', (_name, newest, modes) => {
  it.each(modes)(
    'a consumer compiles in mode %s with skipLibCheck false',
    async (name) => {
      const mode = MODES[name]!;
      const tsconfig = {
        compilerOptions: {
          target: 'es2022',
          strict: true,
          skipLibCheck: false,
          esModuleInterop: true,
          noEmit: true,
          types: ['node'],
          ...mode.compilerOptions,
        },
        files: ['consumer.ts'],
      };
      const dir = await consumerProject(`types-${name.replace(/\W+/g, '-')}`, {
        files: {
          'consumer.ts': consumer,
          'tsconfig.json': JSON.stringify(tsconfig),
          'package.json': JSON.stringify({ name: 'consumer', private: true, type: mode.type }),
        },
        newest,
      });
      made.push(dir);
      const run = await runNode(dir, ['node_modules/typescript/bin/tsc', '-p', '.']);
      expect({ code: run.code, errors: run.output.trim() }).toEqual({ code: 0, errors: '' });
    },
    120_000,
  );
});

describe('ES-module consumers get the ES-module declarations', () => {
  it('a default import, which fails at run time (the ES build has named exports only), is a type error in nodenext ESM', async () => {
    const dir = await consumerProject('types-esm-default-import', {
      files: {
        'consumer.ts': "import ors from 'oauth-resource-server';\nvoid ors;\n",
        'tsconfig.json': JSON.stringify({
          compilerOptions: {
            target: 'es2022',
            strict: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
            module: 'nodenext',
            moduleResolution: 'nodenext',
          },
          files: ['consumer.ts'],
        }),
        'package.json': JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
      },
      newest: [],
    });
    made.push(dir);
    const run = await runNode(dir, ['node_modules/typescript/bin/tsc', '-p', '.']);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/TS1192|has no default export/);
    const pkg = JSON.parse(readFileSync(join(packed.dir, 'package.json'), 'utf8')) as {
      exports: Record<string, { import: { types: string } }>;
    };
    expect(pkg.exports['.']!.import.types).toBe('./dist/esm/index.d.ts');
  }, 120_000);
});

describe('the declarations', () => {
  it('reachable from either entry point, in either build, name no type of an ES-module-only dependency (jose, openid-client, oauth4webapi)', () => {
    const offending: string[] = [];
    for (const build of ['esm', 'cjs']) {
      const base = join(packed.dir, 'dist', build);
      const todo = [join(base, 'index.d.ts'), join(base, 'testing/index.d.ts')];
      const seen = new Set<string>();
      while (todo.length) {
        const file = todo.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        const text = readFileSync(file, 'utf8');
        if (/["'](jose|openid-client|oauth4webapi)["'/]/.test(text)) offending.push(relative(packed.dir, file));
        for (const m of text.matchAll(/(?:from\s+|import\()\s*["'](\.{1,2}\/[^"']+)\.js["']/g))
          todo.push(join(dirname(file), `${m[1]}.d.ts`));
      }
      expect(seen.size).toBeGreaterThan(20);
    }
    expect(offending).toEqual([]);
  });

  it('node10 finds the testing entry point through typesVersions, and the main one through types, both CommonJS', () => {
    const pkg = JSON.parse(readFileSync(join(packed.dir, 'package.json'), 'utf8')) as {
      types: string;
      typesVersions: Record<string, Record<string, string[]>>;
      exports: Record<string, { require: { types: string } }>;
    };
    expect(pkg.types).toBe(pkg.exports['.']!.require.types);
    expect(pkg.typesVersions['*']!.testing).toEqual([pkg.exports['./testing']!.require.types]);
  });
});
