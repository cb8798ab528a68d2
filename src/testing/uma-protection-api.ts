/**
 * The protection API of the development UMA AS, minus introspection: the resource registration endpoint
 * (FedAuthz §3.2) and the permission endpoint (FedAuthz §4), in the wire format of the active profile.
 * The PAT has been checked before these run (FedAuthz §1.3).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isObject, isStringArray, readJson, sendEmpty, sendError, sendJson, type PatInfo } from './uma-http.js';
import { keycloakSearch, newResourceId, parseDescription, representation, visibleTo, type StoredResource } from './uma-resources.js';
import { count, type UmaState } from './uma-state.js';
import type { UmaPermission } from './uma-types.js';

/**
 * Resource registration (FedAuthz §3.2): `rest` is what follows the collection URL — `''` or `'/'` for the
 * collection (Create, List), `'/{_id}'` for one resource (Read, Update, Delete).
 */
export async function handleRegistration(
  req: IncomingMessage,
  res: ServerResponse,
  state: UmaState,
  pat: PatInfo,
  rest: string,
  query: URLSearchParams,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (rest === '' || rest === '/') {
    if (method === 'POST') return create(req, res, state, pat);
    if (method === 'GET') return list(res, state, pat, query);
    return methodNotAllowed(res, state, 'GET, POST');
  }
  let id: string;
  try {
    id = decodeURIComponent(rest.slice(1));
  } catch {
    // §3.2: a malformed request MUST get 400 (invalid_request), not an empty 500.
    return sendError(res, 400, 'invalid_request', 'the resource id is not valid percent-encoding');
  }
  if (id.includes('/')) return notFound(res, state);
  const found = state.registry.get(id);
  const resource = found && visibleTo(state.profile, found, pat) ? found : undefined;
  if (method !== 'GET' && method !== 'PUT' && method !== 'DELETE') return methodNotAllowed(res, state, 'GET, PUT, DELETE');
  // §3.2: an unknown _id MUST give 404 (MAY carry not_found); Keycloak answers 404 with an empty body.
  if (!resource) return notFound(res, state);
  if (method === 'GET') return sendJson(res, 200, representation(resource)); // §3.2.2
  if (method === 'DELETE') {
    // §3.2.4: 200 or 204; every profile here answers 204 No Content.
    state.registry.delete(resource.id);
    return sendEmpty(res, 204);
  }
  return update(req, res, state, pat, resource);
}

/** §3.2.1 Create: 201 + `Location` + `{_id, user_access_policy_uri}` (Keycloak: 201 + the whole resource, no `Location`). */
async function create(req: IncomingMessage, res: ServerResponse, state: UmaState, pat: PatInfo): Promise<void> {
  const parsed = parseDescription(state.profile, await readJson(req), pat);
  if (!parsed.ok) return sendError(res, 400, 'invalid_request', parsed.description);
  if (state.profile === 'keycloak' && parsed.name !== undefined) {
    // ResourceSetService#create: names are unique per owner within the resource server.
    const clash = [...state.registry.values()].some((r) => r.server === pat.clientId && r.owner === parsed.owner && r.name === parsed.name);
    if (clash) return sendError(res, 409, 'invalid_request', `Resource with name [${parsed.name}] already exists.`);
  }
  const resource: StoredResource = {
    id: newResourceId(state.profile),
    server: pat.clientId,
    owner: parsed.owner,
    scopes: parsed.scopes,
    name: parsed.name,
    body: parsed.body,
  };
  state.registry.set(resource.id, resource);
  if (state.profile === 'keycloak') return sendJson(res, 201, representation(resource));
  const location = `${state.registrationUrl}/${encodeURIComponent(resource.id)}`;
  sendJson(res, 201, { _id: resource.id, user_access_policy_uri: `${state.policyUrl}/${encodeURIComponent(resource.id)}` }, { location });
}

/** §3.2.3 Update: a complete replacement; 200 `{_id}` (Keycloak: 204). */
async function update(req: IncomingMessage, res: ServerResponse, state: UmaState, pat: PatInfo, resource: StoredResource): Promise<void> {
  const parsed = parseDescription(state.profile, await readJson(req), pat, resource);
  if (!parsed.ok) return sendError(res, 400, 'invalid_request', parsed.description);
  resource.body = parsed.body;
  resource.scopes = parsed.scopes;
  resource.name = parsed.name;
  if (state.profile === 'keycloak') return sendEmpty(res, 204);
  sendJson(res, 200, { _id: resource.id });
}

/** §3.2.5 List: a JSON array of `_id` strings. Keycloak: its search parameters, and objects with `deep=true`. */
function list(res: ServerResponse, state: UmaState, pat: PatInfo, query: URLSearchParams): void {
  count(state, 'list', 'GET');
  const mine = [...state.registry.values()].filter((r) => visibleTo(state.profile, r, pat));
  if (state.profile !== 'keycloak')
    return sendJson(
      res,
      200,
      mine.map((r) => r.id),
    );
  const found = keycloakSearch(mine, query, pat.clientId);
  sendJson(res, 200, query.get('deep') === 'true' ? found.map(representation) : found.map((r) => r.id));
}

function notFound(res: ServerResponse, state: UmaState): void {
  if (state.profile === 'keycloak') sendEmpty(res, 404);
  else sendError(res, 404, 'not_found', 'no such resource');
}

/** §3.2: an unsupported method MUST give 405 (MAY carry unsupported_method_type); RFC 9110 §15.5.6 wants `Allow`. */
function methodNotAllowed(res: ServerResponse, state: UmaState, allow: string): void {
  if (state.profile === 'keycloak') sendEmpty(res, 405, { allow });
  else sendError(res, 405, 'unsupported_method_type', undefined, { allow });
}

/**
 * The permission endpoint (FedAuthz §4): `POST` a permission request, get 201 `{"ticket"}`.
 * - `uma2` (§4.1): one object or an array of one or more `{resource_id, resource_scopes}`; 400
 *   `invalid_resource_id` / `invalid_scope` (§4.3), `invalid_request` for a malformed body.
 * - `keycloak` (Keycloak Authorization Services, permission ticket): an array only (empty or not an array →
 *   400 `invalid_permission_request`); `resource_id` may be a resource name; `resource_scopes` may be left
 *   out; optional `claims`.
 * - `uma1` (OAuth Resource Set Registration draft, UMA 1.0): one object `{resource_set_id, scopes}`; 400
 *   `invalid_resource_set_id`.
 */
export async function handlePermission(req: IncomingMessage, res: ServerResponse, state: UmaState, pat: PatInfo): Promise<void> {
  if (req.method !== 'POST') return methodNotAllowed(res, state, 'POST');
  const body = await readJson(req);
  const mine = [...state.registry.values()].filter((r) => visibleTo(state.profile, r, pat));
  const fail = (error: string, description: string) => sendError(res, 400, error, description);
  const permissions: UmaPermission[] = [];
  let claims: Record<string, unknown> | undefined;

  if (state.profile === 'uma1') {
    if (!isObject(body) || typeof body.resource_set_id !== 'string' || !isStringArray(body.scopes)) {
      return fail('invalid_request', 'the body must be {"resource_set_id": string, "scopes": [string]}');
    }
    const r = mine.find((x) => x.id === body.resource_set_id);
    if (!r) return fail('invalid_resource_set_id', `no resource set ${body.resource_set_id}`);
    const bad = body.scopes.find((s) => !r.scopes.includes(s));
    if (bad !== undefined) return fail('invalid_scope', `scope ${bad} is not registered for resource set ${r.id}`);
    permissions.push({ resource_id: r.id, resource_scopes: [...body.scopes] });
  } else if (state.profile === 'keycloak') {
    if (!Array.isArray(body) || body.length === 0) return fail('invalid_permission_request', 'invalid permission request');
    for (const item of body) {
      if (!isObject(item)) return fail('invalid_permission_request', 'invalid permission request');
      const scopes = item.resource_scopes ?? [];
      if (!isStringArray(scopes)) return fail('invalid_permission_request', 'resource_scopes must be an array of strings');
      const ref = item.resource_id;
      if (typeof ref !== 'string' || ref === '') return fail('invalid_resource_id', 'Resource id or name not provided.');
      // AbstractPermissionService: an id, or a name among the owner's and the resource server's resources.
      const r = mine.find((x) => x.id === ref) ?? mine.find((x) => x.name === ref && (x.owner === pat.owner || x.owner === pat.clientId));
      if (!r) return fail('invalid_resource_id', `Resource set with id [${ref}] does not exists in this server.`);
      const bad = scopes.find((s) => !r.scopes.includes(s));
      if (bad !== undefined) return fail('invalid_scope', `Scope [${bad}] is invalid`);
      if (item.claims !== undefined) {
        if (!isObject(item.claims)) return fail('invalid_permission_request', 'claims must be an object');
        claims = { ...claims, ...item.claims };
      }
      permissions.push({ resource_id: r.id, resource_scopes: [...scopes] });
    }
  } else {
    const items = Array.isArray(body) ? body : [body];
    // §4.1: "a single object, or an array of one or more objects".
    if (items.length === 0) return fail('invalid_request', 'the permission request is an empty array');
    for (const item of items) {
      if (!isObject(item) || typeof item.resource_id !== 'string' || !isStringArray(item.resource_scopes)) {
        return fail('invalid_request', 'each permission must be {"resource_id": string, "resource_scopes": [string]}');
      }
      const r = mine.find((x) => x.id === item.resource_id);
      if (!r) return fail('invalid_resource_id', `resource ${item.resource_id} is not registered`);
      const bad = item.resource_scopes.find((s) => !r.scopes.includes(s));
      if (bad !== undefined) return fail('invalid_scope', `scope ${bad} is not registered for resource ${r.id}`);
      permissions.push({ resource_id: r.id, resource_scopes: [...item.resource_scopes] });
    }
  }
  // §4.2: 201 Created with a single ticket.
  const ticket = await state.tickets.issue({ permissions, server: pat.clientId, owner: pat.owner, claims });
  sendJson(res, 201, { ticket });
}
