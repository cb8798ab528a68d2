/** What both builds' peer loaders (src/peers/peer-import.ts, scripts/cjs/peer-import.ts) say when a peer is missing. */
import { ConfigurationError } from '../answers/errors.js';

/** The optional peer dependencies loaded on demand. */
export type OptionalPeer = 'ioredis' | 'oidc-provider';

/** `err` says that `name` itself (not one of its own imports) could not be found. */
export function isMissingPeer(err: unknown, name: string): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || (e.code !== 'ERR_MODULE_NOT_FOUND' && e.code !== 'MODULE_NOT_FOUND')) return false;
  const message = typeof e.message === 'string' ? e.message : '';
  return message.includes(`'${name}'`) || message.includes(`"${name}"`);
}

/**
 * How each peer is installed: ioredis is used at run time (RedisStore), so a production dependency;
 * oidc-provider only by tests (the development authorization server), so a dev dependency.
 */
const INSTALL: Readonly<Record<OptionalPeer, string>> = {
  ioredis: 'npm install ioredis',
  'oidc-provider': 'npm install --save-dev oidc-provider',
};

/** The error thrown when `feature` needs the peer `name` and it is not installed. */
export function missingPeerError(name: OptionalPeer, feature: string): ConfigurationError {
  return new ConfigurationError(`${feature} needs the optional peer dependency ${name}, which is not installed: ${INSTALL[name]}`);
}
