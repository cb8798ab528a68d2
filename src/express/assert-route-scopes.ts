/**
 * The start-up check of an app's scope declarations: what would otherwise be found by the first request to
 * each route (a 500), found before any traffic.
 */
import { ConfigurationError } from '../answers/errors.js';
import { ResourceServer } from '../resource-server.js';
import type { RouteScopes } from '../scopes/requirement.js';
import { declarationSites, ROUTE_SCOPES, type DeclarationSite } from './route-scan.js';

const UMA = Symbol.for('oauth-resource-server.route-uma');

/**
 * Walk `app`'s routes (mounted routers and apps included) and throw one {@link ConfigurationError} that lists
 * every route whose scopes the kit cannot enforce:
 *
 * - `requireScopes()` (derived) on a route with no string path template to derive the resource from: a
 *   regular-expression path, or a router mounted at a regular expression. Give `{ resource }`, or use string
 *   paths. (Deriving from the request's own path would let the client choose its scope.)
 * - a derived route whose template has no static segment to name the resource (`/:id` alone);
 * - `requireScopes(...)` with no `oauthResourceServer(...)` middleware before it that covers its path;
 * - an UMA route (`uma.require(...)` without `resourceKey`) with no string path template.
 *
 * Call it once after the routes are declared, before `listen`. Apps mounted with `app.use(path, subApp)` are
 * not reachable from `app` (Express keeps them in a closure): pass them too, `assertRouteScopes(app, subApp)`.
 * Routers and apps mounted on routers are walked. What it does NOT see: routes inside a router that is called
 * from a function (`app.use((req, res, next) => router(req, res, next))`), which no walk can enter; such a
 * route answers 500 `server_error` and logs once what to change, at its first request.
 *
 * @example
 * ```ts
 * app.use(oauthResourceServer({ issuer, resource }));
 * app.use('/:tenant', ordersRouter);
 * assertRouteScopes(app); // throws before listen if a route's scope cannot be derived
 * app.listen(3000);
 * ```
 */
export function assertRouteScopes(app: object, ...mountedApps: object[]): void {
  const problems: string[] = [];
  const sites = [app, ...mountedApps].flatMap((a, i) => declarationSites<RouteScopes>(a, ROUTE_SCOPES, { mounted: i > 0 }));
  for (const s of sites) {
    const at = `${s.methods.length ? s.methods.join(',') : 'ALL'} ${s.display}`;
    if (!s.guarded) {
      problems.push(`${at}: requireScopes() needs app.use(oauthResourceServer(...)) before it, on a path that covers it`);
      continue;
    }
    const why = underivable(s);
    if (why) problems.push(`${at}: ${why}`);
  }
  for (const s of [app, ...mountedApps].flatMap((a, i) => declarationSites<unknown>(a, UMA, { mounted: i > 0 }))) {
    if (s.template === undefined)
      problems.push(
        `UMA ${s.display}: no string path template to key its resource by; give it a resourceKey, or mount it with string paths`,
      );
  }
  if (problems.length) {
    throw new ConfigurationError(
      `${problems.length} route(s) cannot have their scopes enforced:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/** Why a derived declaration cannot name its resource, or undefined when it can. */
function underivable(site: DeclarationSite<RouteScopes>): string | undefined {
  const declared = site.declared;
  if (declared.kind !== 'derived' || declared.resource !== undefined) return undefined;
  if (site.template === undefined) {
    return (
      'requireScopes() has no string path template to derive the scope from (a regular-expression path or mount); ' +
      "give the resource: requireScopes({ resource: 'orders' }), or use string paths"
    );
  }
  if (!(site.kit instanceof ResourceServer)) return undefined;
  try {
    // The resource name does not depend on the method; a method with a verb checks the template alone.
    const method = site.methods.find((m) => site.kit instanceof ResourceServer && m in site.kit.options.methodVerbs) ?? 'GET';
    site.kit.derivedRequirement(method, { path: site.template });
  } catch (err) {
    if (err instanceof ConfigurationError)
      return "its path template has no static segment to name the resource; give it: requireScopes({ resource: 'orders' })";
  }
  return undefined;
}
