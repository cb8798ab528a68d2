/**
 * Consumer projects made at test time from the packed tarball, as a user's install would lay them out: the
 * package unpacked into the project's node_modules, beside its dependencies and the project's tools. Those are
 * linked from the repository's node_modules (Jest 29, ts-jest, TypeScript as pinned, express, supertest,
 * oidc-provider) and, for the newest majors (Jest 30, Vitest, TypeScript), from test/package/toolchains,
 * installed once per lockfile by `npm ci` into node_modules/.cache. Nothing else is fetched.
 *
 * The build and the tarball are made once per content of what the tarball holds, under a lock, since Jest
 * runs the test files of this folder in parallel processes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const cache = join(root, 'node_modules', '.cache', 'ors-package-tests');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** A digest of the files under `paths` (recursively), by path and content. */
function digest(paths: string[]): string {
  const hash = createHash('sha256');
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) for (const name of readdirSync(path).sort()) visit(join(path, name));
    else
      hash
        .update(`${relative(root, path)}\0`)
        .update(readFileSync(path))
        .update('\0');
  };
  for (const p of paths) visit(join(root, p));
  return hash.digest('hex').slice(0, 16);
}

/** Run `make` once per `key` across processes: the first takes the lock, the others wait for its mark. */
async function once(dir: string, make: () => void, timeoutMs = 240_000): Promise<void> {
  const done = join(dir, '.done');
  const lock = `${dir}.lock`;
  mkdirSync(cache, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(done)) return;
    try {
      mkdirSync(lock);
    } catch {
      // Another process is making it; a lock left by a killed run is taken over once older than the deadline.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > timeoutMs) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (existsSync(done)) return;
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      make();
      writeFileSync(done, '');
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** What `npm pack` said about the tarball. */
export interface Packed {
  /** The unpacked package folder. */
  dir: string;
  /** The tarball. */
  tarball: string;
  /** Its size, and the unpacked size, in bytes; its number of files. */
  size: number;
  unpackedSize: number;
  files: string[];
}

/**
 * Build dist/ (as `npm run build`) and pack it (as `npm pack`), once for the current sources: the same
 * dist/ the repository's own `import('oauth-resource-server')` resolves to, and a tarball unpacked once.
 */
export async function packedPackage(): Promise<Packed> {
  const dir = join(
    cache,
    `package-${digest(['src', 'scripts', 'package.json', 'README.md', 'CHANGELOG.md', 'tsconfig.json', 'tsconfig.build.json'])}`,
  );
  const built = () => existsSync(join(root, 'dist/esm/index.js')) && existsSync(join(root, 'dist/cjs/index.js'));
  if (!built()) rmSync(join(dir, '.done'), { force: true });
  await once(dir, () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'pipe', timeout: 180_000 });
    const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const [info] = JSON.parse(out) as [{ filename: string; size: number; unpackedSize: number; files: { path: string }[] }];
    mkdirSync(join(dir, 'package'));
    execFileSync('tar', ['xzf', join(dir, info.filename), '-C', join(dir, 'package'), '--strip-components=1']);
    writeFileSync(
      join(dir, 'pack.json'),
      JSON.stringify({
        tarball: join(dir, info.filename),
        size: info.size,
        unpackedSize: info.unpackedSize,
        files: info.files.map((f) => f.path),
      }),
    );
  });
  return { dir: join(dir, 'package'), ...(JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')) as Omit<Packed, 'dir'>) };
}

/** The newest majors (test/package/toolchains), installed from their lockfile; their node_modules folder. */
export async function newestToolchain(): Promise<string> {
  const dir = join(cache, `toolchains-${digest(['test/package/toolchains/package-lock.json'])}`);
  await once(
    dir,
    () => {
      for (const f of ['package.json', 'package-lock.json']) cpSync(join(root, 'test/package/toolchains', f), join(dir, f));
      execFileSync(npm, ['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
        cwd: dir,
        stdio: 'pipe',
        timeout: 300_000,
      });
    },
    360_000,
  );
  return join(dir, 'node_modules');
}

/** Link every package of `from` (a node_modules folder) into `to`, replacing links already there. */
function linkPackages(from: string, to: string): void {
  for (const name of readdirSync(from)) {
    if (name.startsWith('.') || name === 'oauth-resource-server') continue;
    const source = join(from, name);
    if (name.startsWith('@')) {
      mkdirSync(join(to, name), { recursive: true });
      linkPackages(source, join(to, name));
      continue;
    }
    const target = join(to, name);
    if (lstatSync(target, { throwIfNoEntry: false })) rmSync(target, { recursive: true, force: true });
    symlinkSync(source, target, 'dir');
  }
}

/** The tools of test/package/toolchains: Jest 30, TypeScript 7, Vitest 4. */
export type NewestTool = 'jest' | 'typescript' | 'vitest';

/** Options of {@link consumerProject}. */
export interface ConsumerOptions {
  /** Files of the project (path → content), e.g. a template folder's files. */
  files: Record<string, string>;
  /** Tools taken from the newest toolchain (test/package/toolchains) instead of the repository's. */
  newest?: NewestTool[];
}

/** A consumer project in a fresh temporary folder; remove it with `rmSync(dir, { recursive: true })`. */
export async function consumerProject(name: string, options: ConsumerOptions): Promise<string> {
  const packed = await packedPackage();
  const dir = mkdtempSync(join(tmpdir(), `ors-consumer-${name}-`));
  for (const [path, content] of Object.entries(options.files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  linkPackages(join(root, 'node_modules'), modules);
  if (options.newest?.length) {
    // Only the tools themselves: their own dependencies stay theirs (Jest 30's lru-cache is not the package's).
    const toolchain = await newestToolchain();
    for (const tool of options.newest) {
      rmSync(join(modules, tool), { force: true });
      symlinkSync(join(toolchain, tool), join(modules, tool), 'dir');
    }
  }
  cpSync(packed.dir, join(modules, 'oauth-resource-server'), { recursive: true });
  return dir;
}

/** The files of a folder of the repository (e.g. `examples/testing/jest-cjs`), by relative path. */
export function filesOf(folder: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const e of readdirSync(join(root, folder), { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    files[relative(join(root, folder), path)] = readFileSync(path, 'utf8');
  }
  return files;
}

/** The outcome of a command run in a consumer project. */
export interface Run {
  code: number | null;
  output: string;
}

/** Run `node <args>` in `dir` (never throws: the exit code and the output, stdout and stderr, are returned). */
export function runNode(dir: string, args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      args,
      {
        cwd: dir,
        timeout: timeoutMs,
        env: { ...cleanEnv(), CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` }),
    );
    child.stdin?.end();
  });
}

/** This process's environment without what the Jest running these tests set for itself. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JEST_') && k !== 'NODE_OPTIONS'));
}
