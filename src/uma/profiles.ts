/**
 * The wire formats of resource registration, by profile. The `uma2` profile follows UMA 2.0 FedAuthz
 * §3 to the letter; Keycloak's departures (Keycloak Authorization Services) live in `keycloak`, and the older resource-set
 * registration of UMA 1.0 (the UMA 1.0 resource set registration draft) in `uma1`, so no profile is loosened to fit another.
 */

/** Which protection API the AS speaks. */
export type UmaProfileName = 'uma2' | 'keycloak' | 'uma1';

/** A resource as the kit describes it, whatever the profile. */
export interface ResourceDescription {
  /** Scopes of the resource (`resource_scopes`; `scopes` in UMA 1.0). */
  scopes: string[];
  name?: string;
  type?: string;
  description?: string;
  iconUri?: string;
  /** Keycloak: path patterns of the resource. */
  uris?: string[];
  /** Keycloak: the owner (user id or name); the PAT's subject by default. */
  owner?: string;
  /** Keycloak: let the owner manage access (UMA sharing). */
  ownerManagedAccess?: boolean;
}

/**
 * Which API registered a set, under which key and how (kept at the AS with the set, so that ownership survives
 * a lost mapping: an API adopts, reports or prunes only sets of its own namespace).
 */
export interface RegistrationMark {
  /** The API's namespace: its resource identifier, or the `namespace` option. */
  namespace: string;
  /** The registrar's key of the set (`route:/albums/:id`, `album:42`). */
  key: string;
  /** `declared` (by the routes or `declare()`) or `registered` (at run time). */
  origin: 'declared' | 'registered';
}

/** A description as sent, with the registrar's mark. */
export interface MarkedDescription extends ResourceDescription {
  mark?: RegistrationMark;
}

/** A resource as the AS holds it. */
export interface RegisteredResource extends MarkedDescription {
  id: string;
  userAccessPolicyUri?: string;
}

/** One requested permission (FedAuthz §4.1). */
export interface PermissionRequest {
  resourceId: string;
  scopes: string[];
}

/** What differs between profiles. */
export interface UmaProfile {
  readonly name: UmaProfileName;
  /** The URL that creates (and lists) resources. */
  collectionUrl(endpoint: string): string;
  /** The URL of one resource. */
  itemUrl(endpoint: string, id: string): string;
  /** The JSON body of a create or a (complete, FedAuthz §3.2.3) update. */
  toWire(d: MarkedDescription): Record<string, unknown>;
  /** A registered resource from a read (or a Keycloak deep list item). */
  fromWire(body: unknown, id?: string): RegisteredResource | undefined;
  /** Status codes of a successful update. */
  readonly updateStatuses: readonly number[];
  /** The body of a permission request. */
  permissionBody(perms: PermissionRequest[]): unknown;
}

/**
 * The mark as an extension member of the description (FedAuthz §1.1: JSON structures may carry extension
 * parameters; an AS that does not keep it leaves the kit to find its sets by name, as before).
 */
const MARK_MEMBER = 'ors_registration';
/** The mark as Keycloak resource attributes. */
const KEYCLOAK_MARK = { namespace: 'ors.namespace', key: 'ors.key', origin: 'ors.origin' } as const;

function markFrom(v: unknown): RegistrationMark | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const m = v as Record<string, unknown>;
  if (typeof m.namespace !== 'string' || typeof m.key !== 'string' || (m.origin !== 'declared' && m.origin !== 'registered'))
    return undefined;
  return { namespace: m.namespace, key: m.key, origin: m.origin };
}

function keycloakMark(attributes: unknown): RegistrationMark | undefined {
  if (!attributes || typeof attributes !== 'object') return undefined;
  const a = attributes as Record<string, unknown>;
  const one = (name: string) => (Array.isArray(a[name]) && a[name].length === 1 ? (a[name] as unknown[])[0] : undefined);
  return markFrom({ namespace: one(KEYCLOAK_MARK.namespace), key: one(KEYCLOAK_MARK.key), origin: one(KEYCLOAK_MARK.origin) });
}

function optional(out: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) out[key] = value;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

function trimSlash(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}

/** UMA 2.0 Federated Authorization §3.1, §3.2, §4.1. */
export const uma2: UmaProfile = {
  name: 'uma2',
  collectionUrl: (e) => e,
  itemUrl: (e, id) => `${trimSlash(e)}/${encodeURIComponent(id)}`,
  toWire(d) {
    // §3.1: resource_scopes is REQUIRED (CONFORMANCE 58); the rest OPTIONAL.
    const out: Record<string, unknown> = { resource_scopes: [...d.scopes] };
    optional(out, 'name', d.name);
    optional(out, 'type', d.type);
    optional(out, 'description', d.description);
    optional(out, 'icon_uri', d.iconUri);
    optional(out, MARK_MEMBER, d.mark && { ...d.mark });
    return out;
  },
  fromWire(body, id) {
    if (!body || typeof body !== 'object') return undefined;
    const b = body as Record<string, unknown>;
    const scopes = strings(b.resource_scopes);
    const rid = typeof b._id === 'string' ? b._id : id;
    if (!scopes || !rid) return undefined;
    return clean({
      id: rid,
      scopes,
      name: str(b.name),
      type: str(b.type),
      description: str(b.description),
      iconUri: str(b.icon_uri),
      userAccessPolicyUri: str(b.user_access_policy_uri),
      mark: markFrom(b[MARK_MEMBER]),
    });
  },
  updateStatuses: [200, 204],
  // §4.1: one object for one permission, an array for several.
  permissionBody: (perms) => (perms.length === 1 ? wirePermission(perms[0]!) : perms.map(wirePermission)),
};

/** Keycloak's protection API (`/authz/protection/resource_set`, Keycloak Authorization Services, protection API). */
export const keycloak: UmaProfile = {
  name: 'keycloak',
  collectionUrl: (e) => trimSlash(e),
  itemUrl: (e, id) => `${trimSlash(e)}/${encodeURIComponent(id)}`,
  toWire(d) {
    const out: Record<string, unknown> = { resource_scopes: [...d.scopes] };
    optional(out, 'name', d.name);
    optional(out, 'displayName', d.description);
    optional(out, 'type', d.type);
    optional(out, 'icon_uri', d.iconUri);
    optional(out, 'uris', d.uris);
    optional(out, 'owner', d.owner);
    optional(out, 'ownerManagedAccess', d.ownerManagedAccess);
    // ResourceRepresentation `attributes` (name → array of strings): where Keycloak keeps the mark.
    if (d.mark)
      out.attributes = {
        [KEYCLOAK_MARK.namespace]: [d.mark.namespace],
        [KEYCLOAK_MARK.key]: [d.mark.key],
        [KEYCLOAK_MARK.origin]: [d.mark.origin],
      };
    return out;
  },
  fromWire(body, id) {
    if (!body || typeof body !== 'object') return undefined;
    const b = body as Record<string, unknown>;
    // Scopes come back as objects {name} (CONFORMANCE 72); strings are accepted too.
    const raw = Array.isArray(b.resource_scopes) ? b.resource_scopes : Array.isArray(b.scopes) ? b.scopes : undefined;
    const scopes = raw?.map((s) => (typeof s === 'string' ? s : s && typeof s === 'object' ? (s as { name?: unknown }).name : undefined));
    const rid = typeof b._id === 'string' ? b._id : id;
    if (!scopes || !scopes.every((s): s is string => typeof s === 'string') || !rid) return undefined;
    const owner =
      typeof b.owner === 'string'
        ? b.owner
        : b.owner && typeof b.owner === 'object'
          ? str((b.owner as { name?: unknown; id?: unknown }).name ?? (b.owner as { id?: unknown }).id)
          : undefined;
    return clean({
      id: rid,
      scopes,
      name: str(b.name),
      type: str(b.type),
      description: str(b.displayName),
      iconUri: str(b.icon_uri),
      uris: strings(b.uris),
      owner,
      ownerManagedAccess: typeof b.ownerManagedAccess === 'boolean' ? b.ownerManagedAccess : undefined,
      mark: keycloakMark(b.attributes),
    });
  },
  updateStatuses: [204, 200],
  // Keycloak accepts arrays only.
  permissionBody: (perms) => perms.map(wirePermission),
};

/**
 * UMA 1.0 resource set registration (the UMA 1.0 resource set registration draft): `{endpoint}/resource_set`,
 * `scopes`, `name` required.
 */
export const uma1: UmaProfile = {
  name: 'uma1',
  collectionUrl: (e) => `${trimSlash(e)}/resource_set`,
  itemUrl: (e, id) => `${trimSlash(e)}/resource_set/${encodeURIComponent(id)}`,
  toWire(d) {
    const out: Record<string, unknown> = { name: d.name ?? d.uris?.[0] ?? 'resource', scopes: [...d.scopes] };
    optional(out, 'type', d.type);
    optional(out, 'icon_uri', d.iconUri);
    optional(out, 'uri', d.uris?.[0]);
    optional(out, MARK_MEMBER, d.mark && { ...d.mark });
    return out;
  },
  fromWire(body, id) {
    if (!body || typeof body !== 'object') return undefined;
    const b = body as Record<string, unknown>;
    const scopes = strings(b.scopes);
    const rid = typeof b._id === 'string' ? b._id : id;
    if (!scopes || !rid) return undefined;
    return clean({
      id: rid,
      scopes,
      name: str(b.name),
      type: str(b.type),
      iconUri: str(b.icon_uri),
      uris: typeof b.uri === 'string' ? [b.uri] : undefined,
      userAccessPolicyUri: str(b.user_access_policy_uri ?? b.policy_uri),
      mark: markFrom(b[MARK_MEMBER]),
    });
  },
  updateStatuses: [200, 204],
  permissionBody: (perms) => ({ resource_set_id: perms[0]!.resourceId, scopes: perms[0]!.scopes }),
};

/** The profile of a name. */
export function profile(name: UmaProfileName): UmaProfile {
  return name === 'keycloak' ? keycloak : name === 'uma1' ? uma1 : uma2;
}

function wirePermission(p: PermissionRequest) {
  // §4.1: resource_scopes is REQUIRED, possibly empty (CONFORMANCE 63).
  return { resource_id: p.resourceId, resource_scopes: [...p.scopes] };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}
