/**
 * Where the kit keeps per-request state on an Express request: symbol-keyed properties, so nothing
 * clashes with other libraries' `req.auth` augmentations (auth0's bearer middleware, the MCP SDK).
 * Route code reads the context through {@link getAuth}.
 */
import type { AuthContext } from '../auth-context.js';
import type { ResourceServer, Authenticated } from '../resource-server.js';

/** @internal */
export const AUTH = Symbol.for('oauth-resource-server.authenticated');
/** @internal */
export const SERVER = Symbol.for('oauth-resource-server.server');
/** @internal */
export const MOUNT = Symbol.for('oauth-resource-server.mount');

/** @internal */
export interface KitState {
  [AUTH]?: Authenticated;
  [SERVER]?: ResourceServer;
  [MOUNT]?: string;
}

/**
 * The validated access token of a request, or undefined when the request carried none (possible only
 * with `authRequired: false`).
 *
 * @example
 * ```ts
 * app.get('/orders', requireScopes('read:orders'), (req, res) => {
 *   const auth = getAuth(req)!;
 *   res.json({ owner: auth.subject });
 * });
 * ```
 */
export function getAuth(req: object): AuthContext | undefined {
  return (req as KitState)[AUTH]?.context;
}
