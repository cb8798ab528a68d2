/**
 * The protection API client (UMA 2.0 FedAuthz §3.2, §4): register, read, update, delete and list
 * resources, and request permission tickets, with the PAT as a bearer token (§1.3). A 401 from the AS
 * renews the PAT once and retries (CONFORMANCE 71).
 */
import { httpRequest, type HttpResponse } from '../http/client.js';
import {
  AuthorizationServerCallError,
  classify,
  classifyAnswer,
  describeFailure,
  safeUrlOf,
  type AsFailure,
  type AsHealth,
} from '../http/as-failure.js';
import { ProtectionApiError } from './protection-api-error.js';
import {
  profile as profileOf,
  type MarkedDescription,
  type PermissionRequest,
  type RegisteredResource,
  type UmaProfile,
  type UmaProfileName,
} from './profiles.js';

export { ProtectionApiError } from './protection-api-error.js';

/**
 * Where the client gets its PAT (FedAuthz §1.3): the current one, and a new one after the AS refused one. A
 * two-method interface, so this client does not depend on how PATs are obtained (no import cycle).
 */
export interface PatSource {
  get(): Promise<string>;
  renewAfterRejection(rejected: string): Promise<string>;
}

/** Settings of a {@link ResourceRegistrationClient}. */
export interface RegistrationClientSettings {
  profile: UmaProfileName;
  registrationEndpoint: string;
  permissionEndpoint: string;
  pat: PatSource;
  timeoutMs: number;
  maxBytes: number;
  /** The AS's issuer (named in errors and logs). */
  issuer?: string;
  /** Where failed calls are reported (logged once per state change). */
  health?: AsHealth;
  /** Called when the AS refuses a PAT it accepted before: it may have restarted and lost its state. */
  onStateLoss?: () => void;
}

/** An answer with the URL it came from (errors name it). */
type Answer = HttpResponse & { url: string };

/** One call to the protection API. */
interface ProtectionCall {
  /** The operation, named in errors. */
  readonly operation: 'create' | 'read' | 'update' | 'delete' | 'list' | 'permission';
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  /** The JSON body, when the call sends one. */
  readonly body?: unknown;
}

/** Keycloak's page size (`max`); the list is read page by page so nothing is silently truncated. */
const PAGE = 100;
/** At most this many pages (100 000 resources): an AS that pages forever must not hold a sync forever. */
const MAX_PAGES = 1000;
/** Longest ticket accepted: it is echoed in every UMA challenge header. */
const MAX_TICKET_LENGTH = 4096;
// Grant §3.2.1: the ticket goes into a quoted-string of WWW-Authenticate; visible ASCII without `"` and `\`
// needs no escaping and is always a legal header value.
const TICKET = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The protection API of one AS, for one PAT. */
export class ResourceRegistrationClient {
  readonly profile: UmaProfile;
  readonly #settings: RegistrationClientSettings;
  /** The last PAT the AS accepted. */
  #accepted: string | undefined;

  constructor(settings: RegistrationClientSettings) {
    this.#settings = settings;
    this.profile = profileOf(settings.profile);
  }

  /** Create (§3.2.1): returns the new resource with the AS-assigned `_id` (CONFORMANCE 58, 59). */
  async create(description: MarkedDescription): Promise<RegisteredResource> {
    const url = this.profile.collectionUrl(this.#settings.registrationEndpoint);
    const res = await this.#call({ operation: 'create', method: 'POST', url, body: this.profile.toWire(description) });
    if (res.status !== 201 && res.status !== 200) throw this.#error('create', res);
    const body = parseJson(res);
    let id = body && typeof body === 'object' ? (body as { _id?: unknown })._id : undefined;
    // The `_id` in the body is authoritative; a `Location` header alone is tolerated (§3.2.1 requires both).
    if (typeof id !== 'string' && typeof res.headers.location === 'string') id = idFromLocation(res.headers.location);
    if (typeof id !== 'string' || !id) throw this.#malformed('create', res, 'the AS created a resource but returned no _id');
    const policy = body && typeof body === 'object' ? (body as { user_access_policy_uri?: unknown }).user_access_policy_uri : undefined;
    return { ...description, id, ...(typeof policy === 'string' ? { userAccessPolicyUri: policy } : {}) };
  }

  /** Read (§3.2.2): the resource, or undefined when the AS does not know the id (404). */
  async read(id: string): Promise<RegisteredResource | undefined> {
    const res = await this.#call({ operation: 'read', method: 'GET', url: this.profile.itemUrl(this.#settings.registrationEndpoint, id) });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.#error('read', res);
    const r = this.profile.fromWire(parseJson(res), id);
    if (!r) throw this.#malformed('read', res, 'the AS returned a malformed resource description');
    return r;
  }

  /** Update (§3.2.3) with a complete description (CONFORMANCE 60). False when the AS does not know the id. */
  async update(id: string, description: MarkedDescription): Promise<boolean> {
    const url = this.profile.itemUrl(this.#settings.registrationEndpoint, id);
    const res = await this.#call({ operation: 'update', method: 'PUT', url, body: this.profile.toWire(description) });
    if (res.status === 404) return false;
    if (!this.profile.updateStatuses.includes(res.status)) throw this.#error('update', res);
    return true;
  }

  /** Delete (§3.2.4): 200 and 204 are success, 404 means already gone (CONFORMANCE 61). */
  async delete(id: string): Promise<void> {
    const res = await this.#call({
      operation: 'delete',
      method: 'DELETE',
      url: this.profile.itemUrl(this.#settings.registrationEndpoint, id),
    });
    if (res.status !== 200 && res.status !== 204 && res.status !== 404) throw this.#error('delete', res);
  }

  /** List (§3.2.5): the ids the AS holds for this PAT (CONFORMANCE 62); Keycloak's pages are all read. */
  async list(): Promise<string[]> {
    const base = this.profile.collectionUrl(this.#settings.registrationEndpoint);
    if (this.profile.name !== 'keycloak') return this.#ids(await this.#call({ operation: 'list', method: 'GET', url: base }));
    const ids = new Set<string>();
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = this.#ids(await this.#call({ operation: 'list', method: 'GET', url: `${base}?first=${n * PAGE}&max=${PAGE}` }));
      // A short page is the last; a page with nothing new means the AS ignores first/max: stop either way.
      if (!addNew(ids, page) || page.length < PAGE) return [...ids];
    }
    throw tooManyPages();
  }

  /**
   * Every resource with its description. Keycloak answers objects with `deep=true` (CONFORMANCE 72);
   * the UMA profiles list ids and read each.
   */
  async listDescriptions(): Promise<RegisteredResource[]> {
    if (this.profile.name === 'keycloak') {
      const base = this.profile.collectionUrl(this.#settings.registrationEndpoint);
      const out: RegisteredResource[] = [];
      const seen = new Set<string>();
      for (let n = 0; n < MAX_PAGES; n++) {
        const res = await this.#call({ operation: 'list', method: 'GET', url: `${base}?deep=true&first=${n * PAGE}&max=${PAGE}` });
        if (res.status !== 200) throw this.#error('list', res);
        const body = parseJson(res);
        if (!Array.isArray(body)) throw this.#malformed('list', res, 'the AS list is not an array');
        const before = seen.size;
        for (const item of body) {
          const r = this.profile.fromWire(item);
          if (!r || seen.has(r.id)) continue;
          seen.add(r.id);
          out.push(r);
        }
        // As in list(): a page with nothing new means the AS ignores first/max.
        if (seen.size === before || body.length < PAGE) return out;
      }
      throw tooManyPages();
    }
    const out: RegisteredResource[] = [];
    for (const id of await this.list()) {
      const r = await this.read(id);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Request a permission ticket (§4.1–4.2, CONFORMANCE 63). Throws {@link ProtectionApiError} with
   * `error` `invalid_resource_id` or `invalid_scope` for a 400 (§4.3, CONFORMANCE 64).
   */
  async requestTicket(perms: PermissionRequest[]): Promise<string> {
    const res = await this.#call({
      operation: 'permission',
      method: 'POST',
      url: this.#settings.permissionEndpoint,
      body: this.profile.permissionBody(perms),
    });
    if (res.status !== 201 && res.status !== 200) throw this.#error('permission', res);
    const body = parseJson(res);
    const ticket = body && typeof body === 'object' ? (body as { ticket?: unknown }).ticket : undefined;
    if (typeof ticket !== 'string' || !ticket) throw this.#malformed('permission', res, 'the AS returned no ticket');
    // A ticket that cannot be written into the challenge is no ticket (Grant §3.2.1, §3.2.2); never echoed.
    if (ticket.length > MAX_TICKET_LENGTH || !TICKET.test(ticket))
      throw this.#malformed('permission', res, 'the AS returned a ticket that is not a usable header value');
    return ticket;
  }

  #ids(res: Answer): string[] {
    if (res.status !== 200) throw this.#error('list', res);
    const body = parseJson(res);
    if (!Array.isArray(body)) throw this.#malformed('list', res, 'the AS list is not an array');
    // §3.2.5: an array of _id strings; objects (some servers) are read for their _id.
    return body
      .map((x) => (typeof x === 'string' ? x : x && typeof x === 'object' ? (x as { _id?: unknown })._id : undefined))
      .filter((x): x is string => typeof x === 'string');
  }

  async #call({ operation, method, url, body }: ProtectionCall): Promise<Answer> {
    let pat = await this.#settings.pat.get();
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${pat}`, accept: 'application/json' };
        if (body !== undefined) headers['content-type'] = 'application/json';
        res = await httpRequest(url, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs: this.#settings.timeoutMs,
          maxBytes: this.#settings.maxBytes,
        });
      } catch (err) {
        const call = this.#callError(url, classify(err, this.#settings.timeoutMs));
        this.#settings.health?.failed(call);
        throw new ProtectionApiError({ operation, status: 0, message: call.message, cause: call });
      }
      // §1.3 / RFC 6750: a rejected PAT is renewed once (CONFORMANCE 71).
      if (res.status === 401 && attempt === 0) {
        if (pat === this.#accepted) this.#settings.onStateLoss?.();
        pat = await this.#settings.pat.renewAfterRejection(pat);
        continue;
      }
      if (res.status !== 401) this.#accepted = pat;
      const answer = { ...res, url };
      // Status first: a refused PAT (after renewal) or a 5xx is the AS failing; any other answer means it is up.
      const failure = res.status === 401 || res.status === 403 || res.status >= 500 ? classifyAnswer(res, `HTTP ${res.status}`) : undefined;
      if (failure) this.#settings.health?.failed(this.#callError(url, failure));
      else this.#settings.health?.ok(this.#settings.issuer ?? safeUrlOf(url), 'uma');
      return answer;
    }
  }

  /** An unexpected status: the error names operation, URL, issuer and status (with the AS's `error`). */
  #error(operation: string, res: Answer): ProtectionApiError {
    const body = parseJson(res);
    const code =
      body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string'
        ? (body as { error: string }).error
        : undefined;
    const call = this.#callError(res.url, classifyAnswer(res, `HTTP ${res.status}`));
    const forIssuer = this.#settings.issuer ? ` for issuer ${this.#settings.issuer}` : '';
    const message = `the protection API ${operation} at ${call.url}${forIssuer} answered ${describeFailure(call.failure)}`;
    return new ProtectionApiError({ operation, status: res.status, error: code, message, cause: call });
  }

  /** A 2xx answer the kit cannot use: reported (the AS is misbehaving), and an error naming what was wrong. */
  #malformed(operation: string, res: Answer, detail: string): ProtectionApiError {
    const call = this.#callError(res.url, { kind: 'invalid_answer', status: res.status, detail });
    this.#settings.health?.failed(call);
    return new ProtectionApiError({ operation, status: res.status, message: call.message, cause: call });
  }

  #callError(url: string, failure: AsFailure): AuthorizationServerCallError {
    return new AuthorizationServerCallError({ issuer: this.#settings.issuer ?? safeUrlOf(url), step: 'uma', url, failure });
  }
}

/** The last path segment of a `Location` (§3.2.1), or undefined when it is not valid percent-encoding. */
function idFromLocation(location: string): string | undefined {
  try {
    return decodeURIComponent(location.replace(/\/+$/, '').split('/').pop() ?? '');
  } catch {
    return undefined;
  }
}

/** Add the ids not yet in `seen`; whether there was any. */
function addNew(seen: Set<string>, ids: string[]): boolean {
  const before = seen.size;
  for (const id of ids) seen.add(id);
  return seen.size > before;
}

function tooManyPages(): ProtectionApiError {
  return new ProtectionApiError({
    operation: 'list',
    status: 200,
    message: `the AS list did not end within ${MAX_PAGES} pages of ${PAGE}`,
  });
}

function parseJson(res: HttpResponse): unknown {
  if (res.body.length === 0) return undefined;
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    return undefined;
  }
}
