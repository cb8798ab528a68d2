/**
 * The app-wide middleware: `app.use(oauthResourceServer({...}))`. It authenticates every request that
 * reaches it and (by default) refuses requests without a valid token for this resource.
 */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { ResourceServer } from '../resource-server.js';
import type { ResourceServerOptions } from '../config/options.js';
import type { Authenticated } from '../resource-server.js';
import { setState, type RequestState } from './request-context.js';
import { respondWithError } from './respond.js';
import { KIT_MIDDLEWARE } from './route-scan.js';
import { kitMountTemplate } from './request-templates.js';
import { ConfigurationError } from '../answers/errors.js';

/** The middleware, with the core resource server it wraps. */
export interface ResourceServerMiddleware extends RequestHandler {
  /** The framework-agnostic resource server (options, verifier, answers, `forgetIssuer`). */
  readonly resourceServer: ResourceServer;
}

/**
 * Create the app-wide middleware. Options are validated now: a missing issuer or resource identifier
 * throws a {@link ConfigurationError} here, not at the first request.
 *
 * @example
 * ```ts
 * app.use(oauthResourceServer({ issuer: 'https://as.example.com', resource: 'https://api.example.com' }));
 * app.get('/orders', requireScopes('read:orders'), listOrders);
 * ```
 */
export function oauthResourceServer(options: ResourceServerOptions | ResourceServer): ResourceServerMiddleware {
  const server = options instanceof ResourceServer ? options : new ResourceServer(options);
  const required = server.options.authRequired;
  const derived = server.options.resources.length === 0;
  void server.warmUp();

  const middleware = function oauthResourceServerMiddleware(req: Request, res: Response, next: NextFunction): void {
    const mount = req.baseUrl;
    // The identity this request must carry a token for: configured, or (publicBaseUrl) this middleware's declared
    // mount template; never `req.baseUrl`, which is the client's text (`/API` reaches a mount at `/api`).
    const identityMount = derived ? kitMountTemplate(req.app, server, mount) : '';
    const state: RequestState = { server, mount, identityMount: identityMount ?? '', app: req.app, auth: undefined };
    setState(req, state);
    if (identityMount === undefined) return refuseUnplaced(server, res, next);
    let result;
    try {
      result = server.authenticate(req, identityMount);
    } catch (err) {
      return respondWithError(server, err, res, next);
    }
    if (result === undefined) {
      if (required) return respondWithError(server, server.missingCredentials(), res, next);
      return next();
    }
    if (result instanceof Promise) {
      result.then(
        (a) => accept(state, a, res, next),
        (err: unknown) => respondWithError(server, err, res, next),
      );
      return;
    }
    // The synchronous path (a cache hit) allocates no closure.
    accept(state, result, res, next);
  } as ResourceServerMiddleware;
  Object.defineProperty(middleware, 'resourceServer', { value: server, enumerable: true });
  // The start-up check (assertRouteScopes) finds the middleware in the route table by this mark.
  Object.defineProperty(middleware, KIT_MIDDLEWARE, { value: server });
  return middleware;
}

/** The request's token is accepted: route code sees it from here on. */
function accept(state: RequestState, a: Authenticated, res: Response, next: NextFunction): void {
  state.auth = a;
  // RFC 6750 §2.3: a response to a query-token request SHOULD be Cache-Control: private.
  if (a.location === 'query') res.setHeader('cache-control', 'private');
  next();
}

/** Servers whose unplaced mount was logged: once per server, not per request. */
const loggedUnplaced = new WeakSet<object>();

/**
 * With `publicBaseUrl`, a request whose middleware mount the route table cannot name (a regular-expression mount,
 * a wrapper the walk cannot see into, mounts that fit and differ) has no identity: a fixed 500 to every caller,
 * logged once, never an identity made of the client's text.
 */
function refuseUnplaced(server: ResourceServer, res: Response, next: NextFunction): void {
  const message =
    "with publicBaseUrl the identifier is the base URL plus the middleware's mount path, and the route table does " +
    'not give that mount as one string template here: mount oauthResourceServer() with a string path, or set resource ' +
    '(an app mounted through a router before it, router.use(subApp), leaves req.app at that app: mount it with app.use)';
  if (!loggedUnplaced.has(server)) {
    loggedUnplaced.add(server);
    server.options.logger.error(message);
  }
  respondWithError(server, new ConfigurationError(message), res, next, { logged: true });
}
