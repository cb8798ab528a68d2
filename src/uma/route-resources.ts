/**
 * Resource descriptions from an app's routes: one resource per path template, its scopes the union of
 * what its methods require (FedAuthz §3.1 `resource_scopes`). Works on scanned route data; the
 * Express-specific walking lives in src/express/route-scan.ts.
 */
import type { ResourceServer } from '../resource-server.js';
import type { RouteScopes } from '../scopes/requirement.js';
import type { DesiredResource } from './sync.js';
import { keycloakUris } from './uri-patterns.js';

/** A route and what it declared (the output of a route scan). */
export interface DeclaredRoute {
  path: string;
  methods: string[];
  scopes: RouteScopes;
}

/** Options of {@link resourcesFromRoutes}. */
export interface RouteResourceOptions {
  /** Prefix of resource names, so two APIs on one AS do not collide (e.g. `orders-api`). Default none. */
  namePrefix?: string;
  /** The `type` of every route resource. Default none. */
  type?: string;
  /** The mount path of the resource server middleware (for derived scopes). Default ''. */
  mountPath?: string;
}

/**
 * Describe the resources the routes protect. Keys are the path templates (stable across restarts); `name` is
 * the template (after `namePrefix` and a space); `uris` are Keycloak's URI patterns of the template.
 */
export function resourcesFromRoutes(
  routes: readonly DeclaredRoute[],
  server: ResourceServer,
  options: RouteResourceOptions = {},
): DesiredResource[] {
  const byPath = new Map<string, Set<string>>();
  for (const route of routes) {
    const scopes = byPath.get(route.path) ?? new Set<string>();
    byPath.set(route.path, scopes);
    if (route.scopes.kind === 'static') {
      // Every method the route serves needs the same scopes (route.all(), app.use() have no method of their own).
      for (const s of [...route.scopes.requirement.allOf, ...route.scopes.requirement.anyOf]) scopes.add(s);
      continue;
    }
    const methods = route.methods.length ? route.methods : Object.keys(server.options.methodVerbs);
    for (const method of methods) {
      const req = server.derivedRequirement(method, { path: route.path, mountPath: options.mountPath, resource: route.scopes.resource });
      for (const s of [...req.allOf, ...req.anyOf]) scopes.add(s);
    }
  }
  return [...byPath].map(([path, scopes]) => {
    // uris (sent by the keycloak profile, `uri` in uma1): Keycloak's patterns (`/photos/{id}`), not Express's.
    const d: DesiredResource = {
      key: `route:${path}`,
      name: options.namePrefix ? `${options.namePrefix} ${path}` : path,
      scopes: [...scopes].sort(),
      uris: keycloakUris(path),
    };
    if (options.type) d.type = options.type;
    return d;
  });
}
