/**
 * The resource registry of the development UMA AS: what a resource description is in each profile, how it
 * is validated, stored and shown, and Keycloak's search on the list operation.
 *
 * - `uma2`: FedAuthz §3.1 — `resource_scopes` REQUIRED (array of strings), `description`, `icon_uri`, `name`,
 *   `type` OPTIONAL strings; extension members are kept as registered (§1.1) and a PUT replaces everything.
 * - `uma1`: UMA 1.0 resource set description (OAuth Resource Set Registration draft, UMA 1.0) — `name` and
 *   `scopes` REQUIRED, `uri`, `type`, `icon_uri` OPTIONAL.
 * - `keycloak`: `ResourceRepresentation` (Keycloak Authorization Services, ResourceRepresentation) — scopes in
 *   as strings or `{name}` objects and out as `{name}` objects, `uris` (plus the deprecated `uri`), `owner`,
 *   `ownerManagedAccess`, `attributes`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { isObject, isStringArray, type PatInfo } from './uma-http.js';
import type { UmaProfileName, UmaResourceRepresentation } from './uma-types.js';

/** A registered resource as the AS keeps it. */
export interface StoredResource {
  readonly id: string;
  /** The resource server (PAT client) that registered it. */
  readonly server: string;
  /** The resource owner: the PAT's owner (FedAuthz §1.3), or Keycloak's `owner.id`. */
  owner: string;
  /** Names of the registered scopes. */
  scopes: string[];
  name: string | undefined;
  /** The wire members, without `_id`. */
  body: Record<string, unknown>;
}

/** A validated description, or why it is not one (→ 400 `invalid_request`, FedAuthz §3.2). */
export type ParsedDescription =
  | { ok: true; body: Record<string, unknown>; scopes: string[]; name: string | undefined; owner: string }
  | { ok: false; description: string };

const OPTIONAL_STRINGS: Record<UmaProfileName, string[]> = {
  uma2: ['description', 'icon_uri', 'name', 'type'],
  uma1: ['uri', 'type', 'icon_uri'],
  keycloak: ['name', 'displayName', 'type', 'icon_uri', 'uri'],
};

/** Validate a create or update body. `existing` is the resource a PUT replaces. */
export function parseDescription(profile: UmaProfileName, input: unknown, pat: PatInfo, existing?: StoredResource): ParsedDescription {
  if (!isObject(input)) return { ok: false, description: 'the body must be a JSON object (a resource description)' };
  for (const member of OPTIONAL_STRINGS[profile]) {
    if (input[member] !== undefined && typeof input[member] !== 'string') return { ok: false, description: `${member} must be a string` };
  }
  if (profile === 'keycloak') return parseKeycloak(input, pat, existing);
  const body: Record<string, unknown> = { ...input };
  delete body._id;
  if (profile === 'uma1') {
    // UMA 1.0 resource set description: name and scopes REQUIRED.
    if (typeof input.name !== 'string') return { ok: false, description: 'name is required' };
    if (!isStringArray(input.scopes)) return { ok: false, description: 'scopes is required and must be an array of strings' };
    return { ok: true, body, scopes: [...input.scopes], name: input.name, owner: existing?.owner ?? pat.owner };
  }
  // FedAuthz §3.1: resource_scopes REQUIRED, an array of strings.
  if (!isStringArray(input.resource_scopes))
    return { ok: false, description: 'resource_scopes is required and must be an array of strings' };
  return {
    ok: true,
    body,
    scopes: [...input.resource_scopes],
    name: typeof input.name === 'string' ? input.name : undefined,
    owner: existing?.owner ?? pat.owner,
  };
}

function parseKeycloak(input: Record<string, unknown>, pat: PatInfo, existing?: StoredResource): ParsedDescription {
  const rawScopes = input.resource_scopes ?? input.scopes ?? [];
  if (!Array.isArray(rawScopes)) return { ok: false, description: 'resource_scopes must be an array' };
  const scopes: string[] = [];
  for (const s of rawScopes) {
    const name = typeof s === 'string' ? s : isObject(s) && typeof s.name === 'string' ? s.name : undefined;
    if (name === undefined) return { ok: false, description: 'a scope must be a string or an object with a name' };
    if (!scopes.includes(name)) scopes.push(name);
  }
  if (input.uris !== undefined && !isStringArray(input.uris)) return { ok: false, description: 'uris must be an array of strings' };
  const uris = [...((input.uris as string[] | undefined) ?? [])];
  if (typeof input.uri === 'string' && !uris.includes(input.uri)) uris.push(input.uri);
  if (input.ownerManagedAccess !== undefined && typeof input.ownerManagedAccess !== 'boolean')
    return { ok: false, description: 'ownerManagedAccess must be a boolean' };
  const attributes = input.attributes ?? {};
  if (!isObject(attributes) || !Object.values(attributes).every(isStringArray))
    return { ok: false, description: 'attributes must map names to arrays of strings' };
  // owner: a bare string (id or name) or {id, name}; default the PAT's subject (ResourceService#create).
  // An update keeps the owner (ResourceSetService#update).
  let owner = existing?.owner ?? pat.owner;
  if (!existing && input.owner !== undefined) {
    const o = input.owner;
    const given =
      typeof o === 'string'
        ? o
        : isObject(o)
          ? typeof o.id === 'string'
            ? o.id
            : typeof o.name === 'string'
              ? o.name
              : undefined
          : undefined;
    if (given === undefined) return { ok: false, description: 'owner must be a string or an object with an id or a name' };
    owner = given;
  }
  const name = typeof input.name === 'string' ? input.name : undefined;
  const body: Record<string, unknown> = {
    ...(name !== undefined ? { name } : {}),
    ...(typeof input.displayName === 'string' ? { displayName: input.displayName } : {}),
    ...(typeof input.type === 'string' ? { type: input.type } : {}),
    ...(typeof input.icon_uri === 'string' ? { icon_uri: input.icon_uri } : {}),
    owner: { id: owner, name: owner },
    ownerManagedAccess: input.ownerManagedAccess === true,
    uris,
    resource_scopes: scopes.map((s) => ({ name: s })),
    attributes,
  };
  return { ok: true, body, scopes, name, owner };
}

/** A new resource id: Keycloak uses UUIDs, the others an opaque string. */
export function newResourceId(profile: UmaProfileName): string {
  return profile === 'keycloak' ? randomUUID() : randomBytes(8).toString('hex');
}

/** What Read returns (FedAuthz §3.2.2: the registered description plus `_id`). */
export function representation(resource: StoredResource): UmaResourceRepresentation {
  return { _id: resource.id, ...structuredClone(resource.body) };
}

/** The resources one PAT sees: the owner's (UMA 2.0/1.0), or the whole resource server's (Keycloak). */
export function visibleTo(profile: UmaProfileName, resource: StoredResource, pat: PatInfo): boolean {
  return profile === 'keycloak' ? resource.server === pat.clientId : resource.server === pat.clientId && resource.owner === pat.owner;
}

/**
 * Keycloak's `GET resource_set` search (`ResourceSetService#find`, Keycloak Authorization Services): `_id`,
 * `name` (partial and case-insensitive unless `exactName=true`), `uri`, `owner`, `type`, `scope`, then
 * `matchingUri` (pattern match of the resource server's own resources when nothing matched exactly), paged by
 * `first` and `max` (default 100).
 */
export function keycloakSearch(all: StoredResource[], query: URLSearchParams, serverId: string): StoredResource[] {
  const param = (k: string) => {
    const v = query.get(k);
    return v !== null && v.trim() !== '' ? v : undefined;
  };
  const [id, name, uri, owner, type, scope] = ['_id', 'name', 'uri', 'owner', 'type', 'scope'].map(param);
  const exactName = query.get('exactName') === 'true';
  const uris = (r: StoredResource) => (r.body.uris as string[] | undefined) ?? [];
  let found = all.filter(
    (r) =>
      (id === undefined || r.id === id) &&
      (name === undefined || (exactName ? r.name === name : (r.name ?? '').toLowerCase().includes(name.toLowerCase()))) &&
      (uri === undefined || uris(r).includes(uri)) &&
      (owner === undefined || r.owner === owner) &&
      (type === undefined || r.body.type === type) &&
      (scope === undefined || r.scopes.includes(scope)),
  );
  const first = Math.max(0, Number.parseInt(query.get('first') ?? '0', 10) || 0);
  const maxParam = Number.parseInt(query.get('max') ?? '', 10);
  const max = Number.isFinite(maxParam) ? maxParam : 100;
  found = found.slice(first, max < 0 ? undefined : first + max);
  if (found.length === 0 && query.get('matchingUri') === 'true' && uri !== undefined) {
    const best = bestPathMatch(
      all.filter((r) => r.owner === serverId),
      uris,
      uri,
    );
    if (best) found = [best];
  }
  return found;
}

/**
 * Keycloak's `PathMatcher`, simplified: an exact path wins, then `{param}` templates, then a trailing `/*`
 * wildcard; among several the longest pattern wins.
 */
function bestPathMatch(resources: StoredResource[], urisOf: (r: StoredResource) => string[], path: string): StoredResource | undefined {
  let best: { r: StoredResource; rank: number; length: number } | undefined;
  for (const r of resources) {
    for (const pattern of urisOf(r)) {
      const rank = pattern === path ? 3 : templateMatches(pattern, path) ? 2 : wildcardMatches(pattern, path) ? 1 : 0;
      if (rank && (!best || rank > best.rank || (rank === best.rank && pattern.length > best.length)))
        best = { r, rank, length: pattern.length };
    }
  }
  return best?.r;
}

function templateMatches(pattern: string, path: string): boolean {
  if (!pattern.includes('{')) return false;
  const source = pattern
    .split(/(\{[^}]*\})/)
    .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(path);
}

function wildcardMatches(pattern: string, path: string): boolean {
  if (!pattern.endsWith('/*')) return false;
  const prefix = pattern.slice(0, -1);
  return path.startsWith(prefix) || path === pattern.slice(0, -2);
}
