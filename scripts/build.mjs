// Builds dist/esm (ES modules) and dist/cjs (CommonJS), each with type declarations.
//
// The ES-module build imports jose and openid-client (ESM-only packages) as they are. The CommonJS build must
// load where no ES module can: Jest's default CommonJS runtime (babel-jest, ts-jest), whose module system
// neither import()s nor require()s an ES module. So jose and openid-client (with oauth4webapi) are bundled,
// at build time with esbuild, into one CommonJS file, dist/cjs/vendor/index.js, and the compiled CommonJS
// files require that file instead of the packages. The ESM-only peer oidc-provider is loaded by
// scripts/cjs/peer-import.ts, which replaces src/peers/peer-import.ts in that build.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const run = (args) => execFileSync(process.execPath, [tsc, ...args], { cwd: root, stdio: 'inherit' });

/** The ESM-only dependencies bundled into the CommonJS build, and the name each has in the vendor file. */
const VENDORED = { jose: 'jose', 'openid-client': 'openidClient' };
/** Packages whose code ends up in the vendor file (openid-client's own dependency included). */
const VENDORED_PACKAGES = ['jose', 'openid-client', 'oauth4webapi'];

const files = (dir, ext) =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => join(e.parentPath ?? e.path, e.name));

rmSync(join(root, 'dist'), { recursive: true, force: true });
run(['-p', 'tsconfig.build.json']);
writeFileSync(join(root, 'dist/esm/package.json'), '{ "type": "module" }\n');

const stage = join(root, '.tmp', 'cjs');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
cpSync(join(root, 'src'), join(stage, 'src'), { recursive: true });
cpSync(join(root, 'scripts/cjs/peer-import.ts'), join(stage, 'src/peers/peer-import.ts'));
// The CLI is an ES module only (the package's bin is dist/esm/cli/main.js).
rmSync(join(stage, 'src/cli'), { recursive: true });
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

// The vendor file: every export of each package (not only those used today), so that no change of src/ can
// reach a name the bundle lacks.
const vendorDir = join(root, 'dist/cjs/vendor');
await build({
  stdin: {
    contents: Object.entries(VENDORED)
      .map(([pkg, name]) => `export * as ${name} from ${JSON.stringify(pkg)};`)
      .join('\n'),
    resolveDir: root,
    sourcefile: 'vendor.js',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: join(vendorDir, 'index.js'),
  legalComments: 'none',
  logLevel: 'warning',
});
const license = (pkg) => {
  const dir = join(root, 'node_modules', pkg);
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const text = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  return `${pkg}@${version}\n\n${text ? readFileSync(join(dir, text), 'utf8').trim() : '(no license file)'}\n`;
};
writeFileSync(
  join(vendorDir, 'LICENSES.txt'),
  `index.js in this folder bundles these packages, unchanged, for the CommonJS build:\n\n${VENDORED_PACKAGES.map(license).join('\n---\n\n')}`,
);
const vendorBanner = `// Bundled for the CommonJS build: ${VENDORED_PACKAGES.join(', ')} (licenses in LICENSES.txt beside this file).\n`;
writeFileSync(join(vendorDir, 'index.js'), vendorBanner + readFileSync(join(vendorDir, 'index.js'), 'utf8'));

const requireOf = new RegExp(`require\\("(${Object.keys(VENDORED).join('|')})"\\)`, 'g');
for (const file of files(join(root, 'dist/cjs'), '.js')) {
  if (file.startsWith(vendorDir)) continue;
  const code = readFileSync(file, 'utf8');
  let to = relative(dirname(file), join(vendorDir, 'index.js'));
  if (!to.startsWith('.')) to = `./${to}`;
  const rewritten = code.replace(requireOf, (_, pkg) => `require(${JSON.stringify(to)}).${VENDORED[pkg]}`);
  if (rewritten !== code) writeFileSync(file, rewritten);
}

// Fail the build rather than ship a CommonJS file that a CommonJS-only runtime cannot load.
const leaks = [];
for (const file of files(join(root, 'dist/cjs'), '.js')) {
  if (file.startsWith(vendorDir)) continue;
  const code = readFileSync(file, 'utf8');
  for (const pkg of VENDORED_PACKAGES) if (code.includes(`require("${pkg}`)) leaks.push(`${relative(root, file)} requires ${pkg}`);
  if (/\bimport\(/.test(code)) leaks.push(`${relative(root, file)} uses import()`);
}
if (leaks.length) throw new Error(`the CommonJS build still loads ES modules:\n${leaks.join('\n')}`);
console.log('built dist/esm and dist/cjs');
