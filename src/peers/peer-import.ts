/**
 * Loads an optional peer dependency on first use, and says which package to install when it is missing.
 * This is the ES-module build's loader; the CommonJS build replaces this file with scripts/cjs/peer-import.ts.
 */
import { isMissingPeer, missingPeerError, type OptionalPeer } from './missing-peer.js';

/** Import the peer `name` for `feature`; a missing package becomes a ConfigurationError naming it. */
export async function importPeer(name: OptionalPeer, feature: string): Promise<unknown> {
  try {
    return await import(name);
  } catch (err) {
    throw isMissingPeer(err, name) ? missingPeerError(name, feature) : err;
  }
}

/**
 * The module at `path` (relative to this file's folder, `dist/cjs/peers`), loaded by Node's own loader when
 * this build runs inside a test runner's module sandbox; `undefined` when it does not. The ES-module build
 * never does (a runner that loads it runs ES modules itself).
 */
export function loadOutsideSandbox(path: string): unknown {
  void path;
  return undefined;
}
