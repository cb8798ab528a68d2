/**
 * Per-route scope requirements: `requireScopes('read:orders')` (all-of), `requireScopes({ anyOf })`,
 * and `requireScopes()` to derive the scope from the method and path by the app's convention.
 */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { ConfigurationError, InsufficientScopeError } from '../answers/errors.js';
import { isScopeToken } from '../answers/www-authenticate.js';
import { challengeScopes, requirement, type RouteScopes, type ScopeRequirement } from '../scopes/requirement.js';
import { peekState, type RequestState } from './request-context.js';
import type { ResourceServer } from '../resource-server.js';
import { respondUnconfigured, respondWithError } from './respond.js';
import { ROUTE_SCOPES } from './route-scan.js';
import { requestTemplates } from './request-templates.js';

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

const DECLARATION_KEYS = new Set(['allOf', 'anyOf', 'resource']);

/**
 * The string form also takes a space-separated list, all of it needed, as express-oauth2-jwt-bearer's
 * requiredScopes does: a scope-token never holds a space (RFC 6749 §3.3), so nothing is ambiguous. Only single
 * spaces between tokens: anything else is a mistake, said at declaration.
 */
function scopeList(s: string): string[] {
  if (!s.includes(' ')) return [s];
  const parts = s.split(' ');
  if (parts.some((p) => !p))
    throw new ConfigurationError(
      `requireScopes(${JSON.stringify(s)}): a list of scopes separates scope-tokens by single spaces (RFC 6749 §3.3)`,
    );
  return parts;
}

/**
 * Read a declaration strictly: anything that is not exactly one of the documented shapes is a
 * ConfigurationError now, since a typo (`{ anyof: [...] }`), an array, an unset variable or `{}` would otherwise
 * fall through to a derived scope, a different requirement from the one the author wrote.
 */
function declare(args: unknown[]): RouteScopes {
  if (args.length === 0) return { kind: 'derived', resource: undefined };
  if (args.every((a): a is string => typeof a === 'string')) return { kind: 'static', requirement: requirement(args.flatMap(scopeList)) };
  const given = args[0];
  if (args.length !== 1 || typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new ConfigurationError(
      "requireScopes takes scope strings (requireScopes('a', 'b')) or one declaration object ({ allOf, anyOf } or { resource })",
    );
  }
  const declaration = given as Record<string, unknown>;
  const unknown = Object.keys(declaration).filter((k) => !DECLARATION_KEYS.has(k));
  if (unknown.length)
    throw new ConfigurationError(
      `requireScopes: unknown declaration member ${JSON.stringify(unknown[0])}; the members are allOf, anyOf and resource`,
    );
  const present = [...DECLARATION_KEYS].filter((k) => Object.prototype.hasOwnProperty.call(declaration, k));
  if (!present.length)
    throw new ConfigurationError(
      'requireScopes({}) declares nothing: give allOf, anyOf or resource, or call requireScopes() to derive the scope',
    );
  const list = (k: 'allOf' | 'anyOf'): string[] | undefined => {
    if (!present.includes(k)) return undefined;
    const v = declaration[k];
    // An explicitly written empty (or unset) list would let any valid token through: a mistake, said at declaration.
    if (!Array.isArray(v) || !v.length || !v.every((x) => typeof x === 'string')) {
      throw new ConfigurationError(
        `requireScopes: ${k} must be a non-empty array of scope strings; an empty one would let every token through`,
      );
    }
    return v as string[];
  };
  const allOf = list('allOf');
  const anyOf = list('anyOf');
  if (present.includes('resource')) {
    if (allOf || anyOf)
      throw new ConfigurationError('requireScopes takes either scopes (allOf, anyOf) or a resource to derive them from, not both');
    const resource = declaration.resource;
    // The name goes into a scope: one RFC 6749 §3.3 scope-token, so every derived scope is valid.
    if (typeof resource !== 'string' || !resource || !isScopeToken(resource))
      throw new ConfigurationError('requireScopes: resource must be a non-empty scope-token (printable ASCII, no space, " or \\)');
    return { kind: 'derived', resource };
  }
  return { kind: 'static', requirement: requirement(allOf ?? [], anyOf ?? []) };
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
function derived(
  req: Request,
  state: RequestState & { server: ResourceServer },
  declared: RouteScopes & { kind: 'derived' },
): ScopeRequirement {
  const { server } = state;
  const place = (req.route as object | undefined) ?? declared;
  const seen = { display: undefined as string | undefined };
  const underivable = (why: string): ConfigurationError => {
    if (!loggedUnderivable.has(place)) {
      loggedUnderivable.add(place);
      server.options.logger.error(`requireScopes() cannot derive a scope: ${why}`, {
        route: seen.display ?? describeRoute(req.route),
        fix:
          "give the resource: requireScopes({ resource: 'orders' }), or mount the route's routers with string paths " +
          "(app.use('/:tenant', router)); assertRouteScopes(app) lists such routes at start-up",
      });
    }
    return new ConfigurationError(UNDERIVABLE);
  };
  // The mount that selects the identity, placed by the middleware (which refuses a request it cannot place).
  const kitMount = state.identityMount;
  // The resource is named: the verb is all the request gives (its method, checked against the verb map).
  if (declared.resource !== undefined) return server.derivedRequirement(req.method, { mountPath: kitMount, resource: declared.resource });
  const found = requestTemplates(req, declared, ROUTE_SCOPES, state.app);
  const templates = found.templates;
  seen.display = found.display;
  if (!templates.length) {
    throw underivable(
      'no declared path template fits the requests this route serves ' +
        '(a regular-expression path or mount, a router the route table cannot see, or an app mounted through a router ' +
        'before it, router.use(subApp), which leaves req.app at that app)',
    );
  }
  let all: ScopeRequirement[];
  try {
    all = templates.map((p) => server.derivedRequirement(req.method, { path: p, mountPath: kitMount }));
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
 * - `requireScopes('read:orders', 'read:customers')`, or `requireScopes('read:orders read:customers')`: all of them.
 * - `requireScopes({ anyOf: ['orders:read', 'orders:admin'] })`: at least one; `allOf` and `anyOf` combine.
 * - `requireScopes()`: derived from method and path by the convention (`GET /orders/:id` → `read:orders`).
 * - `requireScopes({ resource: 'orders' })`: derived, with an explicit resource name.
 *
 * A missing scope answers 403 `insufficient_scope` naming the needed scopes (RFC 6750 §3.1); no token (with
 * `authRequired: false`) a 401 without error code, naming written scopes in `scope` (RFC 6750 §3).
 */
export function requireScopes(...scopes: Array<string | ScopeDeclaration>): ScopeHandler {
  const declared = declare(scopes as unknown[]);
  const warned = { done: false };
  const handler = function requireScopesHandler(req: Request, res: Response, next: NextFunction): void {
    const state = peekState(req);
    if (!state?.server) {
      return respondUnconfigured(undefined, 'requireScopes() ran without app.use(oauthResourceServer(...)) before it', res, next, warned);
    }
    const { server, auth } = state;
    // Written scopes are named in the 401 (the MCP authorization spec's scope guidance); a derived one is not
    // worked out for a request that has no token.
    if (!auth)
      return respondWithError(
        server,
        server.missingCredentials(declared.kind === 'static' ? challengeScopes(declared.requirement) : []),
        res,
        next,
      );
    let needed: ScopeRequirement;
    if (declared.kind === 'static') needed = declared.requirement;
    else {
      try {
        needed = derived(req, state as RequestState & { server: ResourceServer }, declared);
      } catch (err) {
        // derived() logs an underivable route once itself; not once per request here.
        return respondWithError(server, err, res, next, { logged: err instanceof ConfigurationError });
      }
    }
    if (auth.granted.satisfies(needed)) return next();
    respondWithError(server, new InsufficientScopeError(challengeScopes(needed)), res, next);
  } as ScopeHandler;
  Object.defineProperty(handler, ROUTE_SCOPES, { value: declared });
  return handler;
}
