// Builds dist/esm (ES modules) and dist/cjs (CommonJS), each with type declarations.
// The CommonJS build compiles a copy of src/ inside a "type": "commonjs" package with TypeScript's
// `module: node20`, which emits require() for jose/openid-client: Node >= 20.19 loads ES modules
// through require() (the `engines` floor).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const run = (args) => execFileSync(process.execPath, [tsc, ...args], { cwd: root, stdio: 'inherit' });

rmSync(join(root, 'dist'), { recursive: true, force: true });
run(['-p', 'tsconfig.build.json']);
writeFileSync(join(root, 'dist/esm/package.json'), '{ "type": "module" }\n');

const stage = join(root, '.tmp', 'cjs');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
cpSync(join(root, 'src'), join(stage, 'src'), { recursive: true });
writeFileSync(join(stage, 'package.json'), '{ "type": "commonjs" }\n');
writeFileSync(
  join(stage, 'tsconfig.json'),
  JSON.stringify({
    extends: join(root, 'tsconfig.json'),
    compilerOptions: {
      module: 'node20',
      moduleResolution: 'node16',
      outDir: join(root, 'dist/cjs'),
      rootDir: 'src',
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      sourceMap: false,
      verbatimModuleSyntax: false,
    },
    include: ['src'],
  }),
);
run(['-p', join(stage, 'tsconfig.json')]);
writeFileSync(join(root, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');
rmSync(stage, { recursive: true, force: true });
console.log('built dist/esm and dist/cjs');
