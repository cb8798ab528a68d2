/**
 * Per-route scope requirements: `requireScopes('read:orders')` (all-of), `requireScopes({ anyOf })`,
 * and `requireScopes()` to derive the scope from the method and path by the app's convention.
 */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { ConfigurationError, InsufficientScopeError } from '../errors.js';
import { challengeScopes, requirement, type RouteScopes, type ScopeRequirement } from '../scopes/requirement.js';
import { STATE, type KitState, type RequestState } from './request-context.js';
import type { ResourceServer } from '../resource-server.js';
import { respondUnconfigured, respondWithError } from './respond.js';
import { requestTemplates, ROUTE_SCOPES } from './route-scan.js';

/** A scope declaration on a route. */
export interface ScopeDeclaration {
  /** Every one of these is needed. */
  allOf?: readonly string[];
  /** At least one of these is needed. */
  anyOf?: readonly string[];
  /** Derive the scope by convention, with this resource name instead of the path's. */
  resource?: string;
}

export type { RouteScopes };

export { ROUTE_SCOPES };

/** A route handler that enforces scopes. */
export interface ScopeHandler extends RequestHandler {
  readonly [ROUTE_SCOPES]: RouteScopes;
}

function declare(args: Array<string | ScopeDeclaration>): RouteScopes {
  if (args.length === 1 && typeof args[0] === 'object' && args[0] !== null) {
    const d = args[0];
    const scopes = d.allOf !== undefined || d.anyOf !== undefined;
    // An explicitly written empty list would let any valid token through: a mistake, said at declaration.
    if ((d.allOf !== undefined && !d.allOf.length) || (d.anyOf !== undefined && !d.anyOf.length)) {
      throw new ConfigurationError('requireScopes: an empty allOf or anyOf lets every token through; list the scopes, or use requireAuthentication()');
    }
    if (scopes && d.resource !== undefined) throw new ConfigurationError('requireScopes takes either scopes (allOf, anyOf) or a resource to derive them from, not both');
    if (scopes) return { kind: 'static', requirement: requirement(d.allOf ?? [], d.anyOf ?? []) };
    if (d.resource !== undefined && (typeof d.resource !== 'string' || !d.resource)) throw new ConfigurationError('requireScopes: resource must be a non-empty string');
    return { kind: 'derived', resource: d.resource };
  }
  if (args.length === 0) return { kind: 'derived', resource: undefined };
  if (!args.every((a): a is string => typeof a === 'string')) throw new ConfigurationError('requireScopes takes scope strings or one declaration object');
  return { kind: 'static', requirement: requirement(args) };
}

/** The one answer to a route whose scope cannot be derived: fixed, whatever the request's path. */
const UNDERIVABLE = 'a route that requires derived scopes has no declared path template to derive them from';

/** Places (routes, or declarations used as middleware) already logged as underivable: one line each. */
const loggedUnderivable = new WeakSet<object>();

/**
 * The derived requirement of a request, from the route's declared path template, mount paths included, never
 * from the request's own text: the client chooses that (under `app.use('/:tenant', router)`, `GET
 * /reports/orders` must need `read:orders`, not `read:reports`). With `{ resource }` no template is needed.
 * Where no declared template fits the request (a mount that is a regular expression, a router called from a
 * function), the route is misconfigured: a ConfigurationError with a fixed message, logged once per route.
 */
function derived(req: Request, state: RequestState & { server: ResourceServer }, declared: RouteScopes & { kind: 'derived' }): ScopeRequirement {
  const { server, mount } = state;
  // The resource is named: the verb is all the request gives (its method, checked against the verb map).
  if (declared.resource !== undefined) return server.derivedRequirement(req.method, '', mount, declared.resource);
  const { templates, display } = requestTemplates(req, declared, ROUTE_SCOPES, state.app);
  const place = (req.route as object | undefined) ?? declared;
  const underivable = (why: string): ConfigurationError => {
    if (!loggedUnderivable.has(place)) {
      loggedUnderivable.add(place);
      server.options.logger.error(`requireScopes() cannot derive a scope: ${why}`, {
        route: display ?? describeRoute(req.route),
        fix: "give the resource: requireScopes({ resource: 'orders' }), or mount the route's routers with string paths (app.use('/:tenant', router)); assertRouteScopes(app) lists such routes at start-up",
      });
    }
    return new ConfigurationError(UNDERIVABLE);
  };
  if (!templates.length) throw underivable('no declared path template fits the requests this route serves (a regular-expression path or mount, or a router the route table cannot see)');
  let all: ScopeRequirement[];
  try {
    all = templates.map((p) => server.derivedRequirement(req.method, p, mount, undefined));
  } catch (err) {
    if (err instanceof ConfigurationError) throw underivable('its template has no static segment to name the resource');
    throw err;
  }
  // Several templates fit and derive differently (one handler on overlapping routes): every one of their
  // scopes is needed, the strictest reading, rather than a guess or a 500.
  const keys = new Set(all.map((r) => challengeScopes(r).join(' ')));
  return keys.size === 1 ? all[0]! : requirement([...new Set(all.flatMap((r) => [...r.allOf]))]);
}

function describeRoute(route: unknown): string {
  const p = (route as { path?: unknown } | undefined)?.path;
  return Array.isArray(p) ? p.map(String).join(', ') : p === undefined ? '(middleware)' : String(p);
}

/**
 * Require scopes on a route. Needs the app-wide {@link oauthResourceServer} middleware before it.
 *
 * - `requireScopes('read:orders', 'read:customers')`: all of them.
 * - `requireScopes({ anyOf: ['orders:read', 'orders:admin'] })`: at least one; `allOf` and `anyOf` combine.
 * - `requireScopes()`: derived from method and path by the convention (`GET /orders/:id` → `read:orders`).
 * - `requireScopes({ resource: 'orders' })`: derived, with an explicit resource name.
 *
 * A missing scope answers 403 `insufficient_scope` naming the needed scopes (RFC 6750 §3.1).
 */
export function requireScopes(...scopes: Array<string | ScopeDeclaration>): ScopeHandler {
  const declared = declare(scopes);
  const warned = { done: false };
  const handler = function requireScopesHandler(req: Request, res: Response, next: NextFunction): void {
    const state = (req as unknown as KitState)[STATE];
    if (!state?.server) {
      return respondUnconfigured(undefined, 'requireScopes() ran without app.use(oauthResourceServer(...)) before it', res, next, warned);
    }
    const { server, auth } = state;
    if (!auth) return respondWithError(server, server.missingCredentials(), res, next);
    let req_: ScopeRequirement;
    if (declared.kind === 'static') req_ = declared.requirement;
    else {
      try {
        req_ = derived(req, state as RequestState & { server: ResourceServer }, declared);
      } catch (err) {
        // derived() logs an underivable route once itself; not once per request here.
        return respondWithError(server, err, res, next, { logged: err instanceof ConfigurationError });
      }
    }
    if (auth.granted.satisfies(req_)) return next();
    respondWithError(server, new InsufficientScopeError(challengeScopes(req_)), res, next);
  } as ScopeHandler;
  Object.defineProperty(handler, ROUTE_SCOPES, { value: declared });
  return handler;
}
