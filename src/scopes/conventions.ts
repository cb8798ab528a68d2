/**
 * Scope conventions: how an API names its scopes, so a route's scope can be derived from its method
 * and path instead of written by hand.
 *
 * | convention      | GET /orders/:id                          |
 * |-----------------|------------------------------------------|
 * | `verb:resource` | `read:orders`                            |
 * | `resource:verb` | `orders:read`                            |
 * | `uri:action`    | `https://api.example.com/orders:read`    |
 * | `verb`          | `read` (the resource indicator names the API) |
 */

/** A named convention, or a function of (verb, resource name, resource identifier). */
export type ScopeConvention =
  | 'verb:resource'
  | 'resource:verb'
  | 'uri:action'
  | 'verb'
  | ((verb: string, resource: string, resourceIdentifier: string) => string);

/** Default method-to-verb map: safe methods read, everything else writes. */
export const DEFAULT_METHOD_VERBS: Readonly<Record<string, string>> = Object.freeze({
  GET: 'read',
  HEAD: 'read',
  POST: 'write',
  PUT: 'write',
  PATCH: 'write',
  DELETE: 'write',
});

/** The scope a convention gives a verb on a resource. */
export function scopeFor(convention: ScopeConvention, verb: string, resource: string, resourceIdentifier: string): string {
  switch (convention) {
    case 'verb:resource':
      return `${verb}:${resource}`;
    case 'resource:verb':
      return `${resource}:${verb}`;
    case 'uri:action':
      return `${resourceIdentifier.replace(/\/+$/, '')}/${resource}:${verb}`;
    case 'verb':
      return verb;
    default:
      return convention(verb, resource, resourceIdentifier);
  }
}

/**
 * The resource name of a route path: its first static segment after the mount path of the protected
 * resource (`/api/v1` + `/orders/:id` → `orders`). Undefined when the path has no static segment.
 */
export function resourceNameFromPath(routePath: string, mountPath = ''): string | undefined {
  let path = routePath;
  const mount = mountPath.replace(/\/+$/, '');
  if (mount && (path === mount || path.startsWith(`${mount}/`))) path = path.slice(mount.length);
  for (const segment of path.split('/')) {
    if (!segment || segment.startsWith(':') || segment.startsWith('*') || /[(){}*?+]/.test(segment)) continue;
    return segment;
  }
  return undefined;
}
