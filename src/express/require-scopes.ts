/**
 * Per-route scope requirements: `requireScopes('read:orders')` (all-of), `requireScopes({ anyOf })`,
 * and `requireScopes()` to derive the scope from the method and path by the app's convention.
 */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { ConfigurationError, InsufficientScopeError } from '../errors.js';
import { challengeScopes, requirement, type RouteScopes, type ScopeRequirement } from '../scopes/requirement.js';
import { STATE, type KitState } from './request-context.js';
import type { ResourceServer } from '../resource-server.js';
import { respondWithError } from './respond.js';
import { matchingTemplates, pathWithoutTable, ROUTE_SCOPES } from './route-scan.js';

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
  if (args.length === 1 && typeof args[0] === 'object') {
    const d = args[0];
    if (d.allOf || d.anyOf) return { kind: 'static', requirement: requirement(d.allOf ?? [], d.anyOf ?? []) };
    return { kind: 'derived', resource: d.resource };
  }
  if (args.length === 0) return { kind: 'derived', resource: undefined };
  if (!args.every((a): a is string => typeof a === 'string')) throw new ConfigurationError('requireScopes takes scope strings or one declaration object');
  return { kind: 'static', requirement: requirement(args) };
}

/**
 * The derived requirement of a request: from the route's declared path template, mount paths included,
 * never from the request's own path text where the route table can tell, since the client chooses that
 * text (under `app.use('/:tenant', router)`, `GET /reports/orders` must need `read:orders`, not
 * `read:reports`). Where it cannot (a mount the table cannot read, a route-less use), the request's path.
 */
function derived(req: Request, server: ResourceServer, mount: string, declared: RouteScopes & { kind: 'derived' }): ScopeRequirement {
  const routePath = (req.route as { path?: unknown } | undefined)?.path;
  const templates = matchingTemplates(req, declared, ROUTE_SCOPES);
  // A regular-expression route has no template to name a resource: only the client's text would.
  if (!templates.length && declared.resource === undefined && routePath !== undefined && typeof routePath !== 'string' && !Array.isArray(routePath)) {
    throw new ConfigurationError('requireScopes() cannot derive scopes on a regular-expression route: declare them, or give { resource }');
  }
  const paths = templates.length ? templates : [pathWithoutTable(req)];
  const all = paths.map((p) => server.derivedRequirement(req.method, p, mount, declared.resource));
  // Several templates fit and derive differently (one handler on overlapping routes): every one of their
  // scopes is needed, the strictest reading, rather than a guess or a 500.
  const keys = new Set(all.map((r) => challengeScopes(r).join(' ')));
  return keys.size === 1 ? all[0]! : requirement([...new Set(all.flatMap((r) => [...r.allOf]))]);
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
  const handler = function requireScopesHandler(req: Request, res: Response, next: NextFunction): void {
    const state = (req as unknown as KitState)[STATE];
    if (!state?.server) {
      return next(new ConfigurationError('requireScopes() needs app.use(oauthResourceServer(...)) before the route', 'ERR_NOT_AUTHENTICATED'));
    }
    const { server, auth } = state;
    if (!auth) return respondWithError(server, server.missingCredentials(), res, next);
    let req_: ScopeRequirement;
    if (declared.kind === 'static') req_ = declared.requirement;
    else {
      try {
        req_ = derived(req, server, state.mount, declared);
      } catch (err) {
        return respondWithError(server, err, res, next);
      }
    }
    if (auth.granted.satisfies(req_)) return next();
    respondWithError(server, new InsufficientScopeError(challengeScopes(req_)), res, next);
  } as ScopeHandler;
  Object.defineProperty(handler, ROUTE_SCOPES, { value: declared });
  return handler;
}
