/**
 * Where the kit keeps per-request state on an Express request: symbol-keyed properties, so nothing
 * clashes with other libraries' `req.auth` augmentations (auth0's bearer middleware, the MCP SDK).
 * Route code reads the context through {@link getAuth}.
 */
import type { AuthContext } from '../token/auth-context.js';
import type { ResourceServer, Authenticated, AuthenticatableRequest } from '../resource-server.js';

/** @internal The one property the kit adds to a request (one property: fewer hidden-class changes on req). */
/**
 * Request state lives beside the request, not on it: adding a property to Node's request object costs about 5 % of
 * a bare Express request here (bench/layers.mjs, measured against a WeakMap and `res.locals`). One table per
 * process (a global registry), so that the kit loaded twice (`require` and `import`) still shares it.
 */
const REGISTRY = Symbol.for('oauth-resource-server.request-states');
const states = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new WeakMap<object, RequestState>()) as WeakMap<object, RequestState>;

/** @internal What the kit knows about a request. */
export interface RequestState {
  /** The resource server of the app-wide middleware that saw the request. */
  server: ResourceServer | undefined;
  /** `req.baseUrl` where that middleware ran: the client's text (its case, its parameter values). */
  mount: string;
  /**
   * The mount path that selects this resource's identity, never the client's text: `''` with configured
   * identifiers; with `publicBaseUrl`, the middleware's declared mount template from the route table.
   */
  identityMount: string;
  /** `req.app` where that middleware ran (its route table also sees apps mounted on routers). */
  app?: object;
  /** The validated token, once there is one. */
  auth: Authenticated | undefined;
}

/** @internal The kit's state of a request, if the middleware (or a route) has set one. */
export function peekState(req: object | undefined): RequestState | undefined {
  return req === undefined ? undefined : states.get(req);
}

/** @internal Set the kit's state of a request (the app-wide middleware, once per request). */
export function setState(req: object, state: RequestState): void {
  states.set(req, state);
}

/** @internal The kit's state of a request, created on first use. */
export function stateOf(req: object): RequestState {
  let state = states.get(req);
  if (!state) states.set(req, (state = { server: undefined, mount: '', identityMount: '', auth: undefined }));
  return state;
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
  return states.get(req)?.auth?.context;
}

/**
 * The access token a request presented, for a route that must pass it on (token exchange, RFC 8693, or a call
 * to a downstream API); undefined unless the request was authenticated. The kit never logs it: neither should
 * you. It is read from the request again, where the middleware found it, and is not kept anywhere.
 *
 * @example
 * ```ts
 * app.get('/orders', requireScopes('read:orders'), async (req, res) => {
 *   const upstream = await fetch('https://orders.internal/orders', { headers: { authorization: `Bearer ${getAccessToken(req)}` } });
 *   res.json(await upstream.json());
 * });
 * ```
 */
export function getAccessToken(req: object): string | undefined {
  const state = states.get(req);
  if (!state?.auth || !state.server) return undefined;
  return state.server.presentedToken(req as AuthenticatableRequest);
}
