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
  'verb:resource' | 'resource:verb' | 'uri:action' | 'verb' | ((verb: string, resource: string, resourceIdentifier: string) => string);

/** Default method-to-verb map: safe methods read, everything else writes. */
export const DEFAULT_METHOD_VERBS: Readonly<Record<string, string>> = Object.freeze({
  GET: 'read',
  HEAD: 'read',
  POST: 'write',
  PUT: 'write',
  PATCH: 'write',
  DELETE: 'write',
});

/** What a scope is derived from: a verb (from the method), a resource name, and the resource identifier. */
export interface ScopeParts {
  /** The verb the method maps to (`read`). */
  readonly verb: string;
  /** The resource name (`orders`). */
  readonly resource: string;
  /** The resource identifier (`https://api.example.com`), used by `uri:action`. */
  readonly resourceIdentifier: string;
}

/** The scope a convention gives a verb on a resource. */
export function scopeFor(convention: ScopeConvention, { verb, resource, resourceIdentifier }: ScopeParts): string {
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
 * The resource name of a route path: its first static segment after the path of the resource identifier
 * (`https://api.example.com/api/v1` + `/api/v1/orders/:id` → `orders`). When the identifier's path is
 * the resource itself (`https://api.example.com/orders` + `/orders/:id`), nothing static is left after it,
 * and the last static segment of the whole path names the resource (`orders`). Undefined when the path
 * has no static segment at all.
 */
export function resourceNameFromPath(routePath: string, mountPath = ''): string | undefined {
  const mount = mountPath.replace(/\/+$/, '');
  const rest = mount && (routePath === mount || routePath.startsWith(`${mount}/`)) ? routePath.slice(mount.length) : routePath;
  const after = staticSegments(rest);
  if (after.length) return after[0];
  const all = staticSegments(routePath);
  return all[all.length - 1];
}

function staticSegments(path: string): string[] {
  // Parameters (`:id`), optional segments (Express 5 `{/:id}`), wildcards and patterns are never resource names.
  return path
    .replace(/\{\/[^{}]*\}/g, '')
    .split('/')
    .filter((s) => s && !s.startsWith(':') && !/[(){}*?+]/.test(s));
}
