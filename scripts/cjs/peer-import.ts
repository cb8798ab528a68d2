/**
 * The CommonJS build's loader of optional peer dependencies (it replaces src/peer-import.ts there).
 * ioredis is CommonJS and is loaded with the module system's own require(), so a test runner's mocks of it
 * apply. oidc-provider is an ES module: a test runner's CommonJS module system (Jest's, without
 * --experimental-vm-modules) can neither import() nor require() it, but Node's own require() loads ES modules
 * (Node >= 20.19, the engines floor), so it is loaded through Node's module API, which
 * process.getBuiltinModule reaches even from inside such a sandbox.
 */
import type * as NodeModule from 'node:module';
import { isMissingPeer, missingPeerError, type OptionalPeer } from './missing-peer.js';

/** Node's own module API: under Jest, require('node:module') is the runner's stand-in, not this. */
function nodeModuleApi(): typeof NodeModule | undefined {
  const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  return builtin ? (builtin.call(process, 'node:module') as typeof NodeModule) : undefined;
}

function nodeRequire(): NodeJS.Require {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (nodeModuleApi() ?? (require('node:module') as typeof NodeModule)).createRequire(__filename);
}

/** Import the peer `name` for `feature`; a missing package becomes a ConfigurationError naming it. */
export async function importPeer(name: OptionalPeer, feature: string): Promise<unknown> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return name === 'ioredis' ? require('ioredis') : nodeRequire()(name);
  } catch (err) {
    throw isMissingPeer(err, name) ? missingPeerError(name, feature) : err;
  }
}

/**
 * The module at `path` (relative to the package's root folder of modules), loaded by Node's own loader when
 * this build runs inside a test runner's module sandbox; `undefined` when it does not.
 */
export function loadOutsideSandbox(path: string): unknown {
  const api = nodeModuleApi();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!api || api === require('node:module')) return undefined;
  return api.createRequire(__filename)(path);
}
