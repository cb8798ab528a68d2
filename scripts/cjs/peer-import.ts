/**
 * The CommonJS build's loader of optional peer dependencies (it replaces src/peers/peer-import.ts there).
 *
 * Node's own require() loads ES modules (Node >= 20.19, the engines floor), so oidc-provider, an ES module,
 * is require()d like ioredis. A test runner's CommonJS module system (Jest's default mode, 29 and 30) cannot
 * load it, though; code that needs it (the development authorization server) is then loaded outside the
 * runner's sandbox, by Node's own loader in Node's main context: see {@link loadOutsideSandbox}.
 */
import { runInThisContext } from 'node:vm';
import type * as NodeModule from 'node:module';
import { isMissingPeer, missingPeerError, type OptionalPeer } from './missing-peer.js';

/** Import the peer `name` for `feature`; a missing package becomes a ConfigurationError naming it. */
export async function importPeer(name: OptionalPeer, feature: string): Promise<unknown> {
  try {
    // ioredis by name, so that bundlers see it; oidc-provider (a development tool) through a variable, so that
    // they do not pull it into an application bundle.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return name === 'ioredis' ? require('ioredis') : require(name);
  } catch (err) {
    throw isMissingPeer(err, name) ? missingPeerError(name, feature) : err;
  }
}

/**
 * The module at `path` (relative to this file's folder, `dist/cjs/peers`), loaded by Node's own loader when
 * this code runs in a sandbox (a vm context other than Node's main one, as Jest runs tests); `undefined` when it
 * does not. Node's module API is reached through the main context's `process`: a runner's stand-ins for
 * `require('node:module')` and `process.getBuiltinModule` would load through the runner again.
 */
export function loadOutsideSandbox(path: string): unknown {
  const main = runInThisContext('globalThis') as typeof globalThis;
  if (main === globalThis) return undefined;
  const builtin = (main.process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (!builtin) return undefined;
  return (builtin.call(main.process, 'node:module') as typeof NodeModule).createRequire(__filename)(path);
}
