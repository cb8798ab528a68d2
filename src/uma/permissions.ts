/**
 * Reading UMA permissions from a validated RPT: the `permissions` of an UMA introspection answer
 * (FedAuthz §5.1.1; UMA 1.0's `resource_set_id`/`scopes`), or Keycloak's `authorization.permissions`
 * of a JWT RPT (Keycloak Authorization Services, RPT).
 */
import type { CheckTime } from '../token/check-time.js';

/** One permission of an RPT, normalised. */
export interface RptPermission {
  resourceId: string;
  scopes: string[];
  exp?: number;
  nbf?: number;
}

/**
 * The permissions an RPT carries, or undefined when it is not an UMA token: an answer with `scope` and no
 * `permissions` is a plain access token, never a grant of UMA permissions (CONFORMANCE 68).
 */
export function rptPermissions(claims: Readonly<Record<string, unknown>>): RptPermission[] | undefined {
  const raw = Array.isArray(claims.permissions)
    ? claims.permissions
    : claims.authorization &&
        typeof claims.authorization === 'object' &&
        Array.isArray((claims.authorization as { permissions?: unknown }).permissions)
      ? (claims.authorization as { permissions: unknown[] }).permissions
      : undefined;
  if (!raw) return undefined;
  const out: RptPermission[] = [];
  for (const p of raw) {
    if (!p || typeof p !== 'object') continue;
    const o = p as Record<string, unknown>;
    // UMA 2.0 `resource_id`, Keycloak `rsid`, UMA 1.0 `resource_set_id`.
    const id = [o.resource_id, o.rsid, o.resource_set_id].find((v): v is string => typeof v === 'string');
    const scopes = Array.isArray(o.resource_scopes) ? o.resource_scopes : Array.isArray(o.scopes) ? o.scopes : [];
    if (!id || !scopes.every((s) => typeof s === 'string')) continue;
    const perm: RptPermission = { resourceId: id, scopes: scopes as string[] };
    if (typeof o.exp === 'number') perm.exp = o.exp;
    if (typeof o.nbf === 'number') perm.nbf = o.nbf;
    out.push(perm);
  }
  return out;
}

/**
 * Whether the RPT grants `scopes` on `resourceId` now. Each permission's own `exp`/`nbf` applies; the
 * token's `exp` was already enforced, so the earlier of the two wins (CONFORMANCE 69). An empty
 * `permissions` array grants nothing (CONFORMANCE 70).
 */
export function grants(claims: Readonly<Record<string, unknown>>, resourceId: string, scopes: readonly string[], at: CheckTime): boolean {
  const { nowSeconds, toleranceSeconds } = at;
  const perms = rptPermissions(claims);
  if (!perms) return false;
  for (const p of perms) {
    if (p.resourceId !== resourceId) continue;
    if (p.exp !== undefined && nowSeconds >= p.exp + toleranceSeconds) continue;
    if (p.nbf !== undefined && nowSeconds + toleranceSeconds < p.nbf) continue;
    if (scopes.every((s) => p.scopes.includes(s))) return true;
  }
  return false;
}

/**
 * Why an RPT does not grant `scopes` on `resourceId` now (for the debug log; undefined when it does). Never
 * token material: only which check failed.
 */
export function refusal(
  claims: Readonly<Record<string, unknown>>,
  resourceId: string,
  scopes: readonly string[],
  at: CheckTime,
): string | undefined {
  const perms = rptPermissions(claims);
  if (!perms) return 'the token carries no UMA permissions (it is not an RPT)';
  if (grants(claims, resourceId, scopes, at)) return undefined;
  const { nowSeconds, toleranceSeconds } = at;
  const mine = perms.filter((p) => p.resourceId === resourceId);
  if (!mine.length) return `the RPT holds no permission for this resource (it holds ${perms.length} for others)`;
  if (mine.every((p) => p.exp !== undefined && nowSeconds >= p.exp + toleranceSeconds))
    return 'the permission for this resource has expired';
  if (mine.every((p) => p.nbf !== undefined && nowSeconds + toleranceSeconds < p.nbf))
    return 'the permission for this resource is not valid yet';
  return `the permission for this resource lacks scopes: ${scopes.filter((s) => !mine.some((p) => p.scopes.includes(s))).join(' ')}`;
}
