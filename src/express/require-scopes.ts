/**
 * Per-route scope requirements: `requireScopes('read:orders')` (all-of), `requireScopes({ anyOf })`,
 * and `requireScopes()` to derive the scope from the method and path by the app's convention.
 */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { ConfigurationError, InsufficientScopeError } from '../errors.js';
import { challengeScopes, requirement, type RouteScopes, type ScopeRequirement } from '../scopes/requirement.js';
import { STATE, type KitState } from './request-context.js';
import { respondWithError } from './respond.js';

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

/** The symbol under which a `requireScopes` handler exposes its {@link RouteScopes}. */
export const ROUTE_SCOPES = Symbol.for('oauth-resource-server.route-scopes');

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
        req_ = server.derivedRequirement(req.method, `${req.baseUrl}${(req.route as { path?: string } | undefined)?.path ?? req.path}`, state.mount, declared.resource);
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
