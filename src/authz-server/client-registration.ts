/**
 * The resource server registers itself as a client of the AS (RFC 7591) and manages that registration
 * (RFC 7592): on first start with an initial access token or a software statement; on later starts the
 * stored credentials are reused, updated when the configuration changed, and registered anew when the
 * AS has forgotten the client (401 on the configuration endpoint, RFC 7592 §2). The credentials are
 * then what introspection and the PAT use.
 */
import { ConfigurationError } from '../answers/errors.js';
import { httpRequest, type HttpRequestInit, type HttpResponse } from '../http/client.js';
import { AuthorizationServerCallError, classify, safeUrlOf } from '../http/as-failure.js';
import { isAtomicStore, type CacheStore } from '../stores/store.js';
import { FileStore } from '../stores/file.js';
import { isSecureOrLoopback } from '../http/secure-url.js';
import { ANY, table, unknownOptionName } from '../config/option-names.js';
import { discoverAuthorizationServer } from './discovery.js';
import type { ResourceServerCredentials } from './credentials.js';

export type { ResourceServerCredentials } from './credentials.js';

/** Options of {@link registerResourceServer}. */
export interface SelfRegistrationOptions {
  /** The AS's issuer identifier. */
  issuer: string;
  /** The registration endpoint; default from the AS's metadata (`registration_endpoint`). */
  registrationEndpoint?: string;
  /** An initial access token (RFC 7591 §3), sent as a bearer token. */
  initialAccessToken?: string;
  /** A software statement (RFC 7591 §2.3): a signed JWT of client metadata. */
  softwareStatement?: string;
  /**
   * Client metadata (RFC 7591 §2) merged over the defaults (`grant_types: ['client_credentials']`,
   * `redirect_uris: []`, `response_types: []`, `token_endpoint_auth_method: 'client_secret_basic'`), field by
   * field, e.g. `client_name`, `scope`. An AS that requires a redirect URI even for `client_credentials` gets
   * one here: `redirect_uris: ['https://api.example.com/oauth/unused']` (never used by the resource server).
   * A change is applied at the next start (RFC 7592 update, or a new client where the AS gave no management).
   */
  metadata?: Record<string, unknown>;
  /**
   * Where the credentials (client id, secret, registration access token) are kept, under
   * `ors:client-registration:<issuer>`. Default a FileStore at `.oauth-resource-server/credentials.json`
   * (relative to the working directory, mode 0600). Replicas share one client through a shared atomic store
   * (`RedisStore`); a `MemoryStore` registers a new client on every start.
   */
  store?: CacheStore;
  /** Deadline of each call to the AS, in milliseconds. Default 5000. */
  timeoutMs?: number;
}

interface Stored extends ResourceServerCredentials {
  fingerprint: string;
}

const FOREVER = 100 * 365 * 24 * 3600 * 1000;
/** A secret this close to its expiry is treated as expired: it would lapse while in use. */
const EXPIRY_MARGIN_SECONDS = 60;
const RFC7591_ERRORS = new Set([
  'invalid_redirect_uri',
  'invalid_client_metadata',
  'invalid_software_statement',
  'unapproved_software_statement',
]);

/** The metadata the kit registers: what a resource server needs (its PAT by client credentials, introspection). */
export function resourceServerMetadata(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    ...extra,
  };
}

/** The option names of {@link registerResourceServer} (`metadata` holds RFC 7591 names of the user's own). */
const SELF_REGISTRATION_NAMES = table<SelfRegistrationOptions>({
  issuer: ANY,
  registrationEndpoint: ANY,
  initialAccessToken: ANY,
  softwareStatement: ANY,
  metadata: ANY,
  store: ANY,
  timeoutMs: ANY,
});

/**
 * Register (or reuse, update, re-register) the resource server as a client of the AS. Registration
 * errors (RFC 7591 §3.2.2) and unknown option names reject with a {@link ConfigurationError}: a start-up error.
 */
export function registerResourceServer(options: SelfRegistrationOptions): Promise<ResourceServerCredentials> {
  // A misspelled name (`metdata`) would register without what the author meant to send, silently.
  const misnamed = unknownOptionName(options, SELF_REGISTRATION_NAMES, 'registerResourceServer');
  if (misnamed) return Promise.reject(new ConfigurationError(`oauth-resource-server: ${misnamed}`));
  const store = options.store ?? new FileStore('.oauth-resource-server/credentials.json');
  const key = `ors:client-registration:${options.issuer}`;
  // One registration at a time per issuer: in this process by a queue, across replicas by the store's lock
  // (re-reading what the holder before us stored). Otherwise replicas starting together each register a client.
  const once = () => registerOnce(options, store, key);
  const run = () => (isAtomicStore(store) ? store.withLock(key, 4 * (options.timeoutMs ?? 5000) + 1000, once) : once());
  const result = (queues.get(key) ?? Promise.resolve()).then(run, run);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

const queues = new Map<string, Promise<void>>();

async function registerOnce(options: SelfRegistrationOptions, store: CacheStore, key: string): Promise<ResourceServerCredentials> {
  const timeoutMs = options.timeoutMs ?? 5000;
  // RFC 7591 §3: a configured endpoint is refused at once, not only on the start that would use it.
  if (options.registrationEndpoint) requireTls(options.registrationEndpoint, 'registration endpoint');
  const metadata = resourceServerMetadata(options.metadata);
  const fingerprint = JSON.stringify(metadata, Object.keys(metadata).sort()) + (options.softwareStatement ?? '');
  const raw = await store.get(key);
  let stored: Stored | undefined;
  try {
    stored = raw ? (JSON.parse(raw) as Stored) : undefined;
  } catch {
    throw new ConfigurationError(`the stored registration for ${options.issuer} is corrupt: remove it (key ${key}) to register anew`);
  }

  // RFC 7592 §2: the registration access token goes only over TLS; a plain-http one (stored before this check)
  // is never used: the client is then treated as registered without management.
  if (stored?.registrationClientUri && stored.registrationAccessToken && isTlsUrl(stored.registrationClientUri)) {
    const auth = { authorization: `Bearer ${stored.registrationAccessToken}`, accept: 'application/json' };
    if (stored.fingerprint === fingerprint) {
      // RFC 7592 §2.1: read it, to know the AS still has us (and its current secret, if it rotated an expired one).
      const res = await registrationCall(options.issuer, stored.registrationClientUri, { headers: auth, timeoutMs, maxBytes: 1 << 20 });
      if (res.status === 200) {
        const current = credentialsFrom(res, stored);
        if (!expired(current)) return publicPart(await save(store, key, current, fingerprint));
        // still expired: the AS will not take this secret any more, so register anew (below).
      } else if (res.status === 403) {
        // §2.1: 403 is "not permitted to read its record": the client exists; registering anew would orphan it.
        if (!expired(stored)) return publicPart(stored);
      } else if (res.status !== 401 && res.status !== 404) throw registrationError(res, 'read', options.issuer);
    } else {
      // RFC 7592 §2.2: a complete update, with client_id, without the management values.
      const body = JSON.stringify({
        ...metadata,
        client_id: stored.clientId,
        client_secret: stored.clientSecret,
        ...(options.softwareStatement ? { software_statement: options.softwareStatement } : {}),
      });
      const res = await registrationCall(options.issuer, stored.registrationClientUri, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/json' },
        body,
        timeoutMs,
        maxBytes: 1 << 20,
      });
      if (res.status === 200) {
        const current = credentialsFrom(res, stored);
        if (!expired(current)) return publicPart(await save(store, key, current, fingerprint));
      } else if (res.status === 403) {
        // §2.2: the client exists but may not update itself: a changed configuration cannot be applied.
        throw registrationError(res, 'update', options.issuer);
      } else if (res.status !== 401 && res.status !== 404) throw registrationError(res, 'update', options.issuer);
    }
    // 401 (RFC 7592 §2: the client does not exist any more, or the token is void), or a secret that stays expired: register anew.
  } else if (stored && stored.fingerprint === fingerprint && !expired(stored)) {
    return publicPart(stored); // registered without management: nothing to check, unless the secret expired
  }

  let endpoint = options.registrationEndpoint;
  if (!endpoint) {
    const { metadata: as } = await discoverAuthorizationServer(options.issuer, { timeoutMs, maxBytes: 1 << 20 });
    if (typeof as.registration_endpoint !== 'string')
      throw new ConfigurationError(`the authorization server ${options.issuer} offers no registration_endpoint (RFC 7591)`);
    endpoint = as.registration_endpoint;
  }
  // RFC 7591 §3: the registration endpoint must be TLS (it receives the initial access token and returns the secret).
  requireTls(endpoint, 'registration endpoint');
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.initialAccessToken) headers.authorization = `Bearer ${options.initialAccessToken}`;
  const res = await registrationCall(options.issuer, endpoint, {
    method: 'POST',
    headers,
    body: JSON.stringify({ ...metadata, ...(options.softwareStatement ? { software_statement: options.softwareStatement } : {}) }),
    timeoutMs,
    maxBytes: 1 << 20,
  });
  if (res.status !== 201 && res.status !== 200) throw registrationError(res, 'registration', options.issuer);
  return publicPart(await save(store, key, credentialsFrom(res, undefined), fingerprint));
}

function credentialsFrom(res: HttpResponse, previous: ResourceServerCredentials | undefined): ResourceServerCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new ConfigurationError('the authorization server answered the registration with something that is not JSON');
  }
  // RFC 7591 §3.2.1: the answer is a JSON object; `null`, an array or a string is not a client information response.
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigurationError('the authorization server answered the registration with JSON that is not an object (RFC 7591 §3.2.1)');
  }
  const body = parsed as Record<string, unknown>;
  const clientId = typeof body.client_id === 'string' ? body.client_id : previous?.clientId;
  const clientSecret = typeof body.client_secret === 'string' ? body.client_secret : previous?.clientSecret;
  if (!clientId || !clientSecret)
    throw new ConfigurationError('the authorization server returned no client_id or client_secret (RFC 7591 §3.2.1)');
  const out: ResourceServerCredentials = { clientId, clientSecret };
  // RFC 7592 §2.1: the AS may rotate the registration access token on any answer.
  const accessToken =
    typeof body.registration_access_token === 'string' ? body.registration_access_token : previous?.registrationAccessToken;
  const clientUri = typeof body.registration_client_uri === 'string' ? body.registration_client_uri : previous?.registrationClientUri;
  // RFC 7592 §2: the registration access token would be sent there, so only over TLS. An AS that names a plain
  // http endpoint has still created the client: keep it, without management (never throw it away, orphaned).
  if (accessToken && clientUri && isTlsUrl(clientUri)) {
    out.registrationAccessToken = accessToken;
    out.registrationClientUri = clientUri;
  }
  // The expiry belongs to the secret: a kept secret keeps its expiry unless the AS restates it; a new one does not inherit it.
  if (typeof body.client_secret_expires_at === 'number') out.clientSecretExpiresAt = body.client_secret_expires_at;
  else if (previous?.clientSecretExpiresAt !== undefined && clientSecret === previous.clientSecret)
    out.clientSecretExpiresAt = previous.clientSecretExpiresAt;
  return out;
}

/** Whether a URL is https (or http on loopback). */
function isTlsUrl(value: string): boolean {
  try {
    return isSecureOrLoopback(new URL(value));
  } catch {
    return false;
  }
}

/** Refuse a URL that is not https (http only on loopback). The message names the origin only: no path, query or userinfo. */
function requireTls(value: string, what: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`oauth-resource-server: the ${what} of the authorization server is not an absolute URL`);
  }
  if (!isSecureOrLoopback(url)) {
    const origin = url.host ? `${url.protocol}//${url.host}` : url.protocol;
    throw new ConfigurationError(
      `oauth-resource-server: the ${what} (${origin}) must use https (RFC 7591 §3, RFC 7592 §2; http only on loopback)`,
    );
  }
}

/** RFC 7591 §3.2.1: client_secret_expires_at is 0 for never, else the expiry in seconds since the epoch. */
function expired(c: ResourceServerCredentials): boolean {
  const at = c.clientSecretExpiresAt;
  return typeof at === 'number' && at !== 0 && at <= Date.now() / 1000 + EXPIRY_MARGIN_SECONDS;
}

/** One call to a registration endpoint; one that gets no answer is an error naming issuer, URL and cause. */
async function registrationCall(issuer: string, url: string, init: HttpRequestInit): Promise<RegistrationAnswer> {
  try {
    return { ...(await httpRequest(url, init)), url };
  } catch (err) {
    throw new AuthorizationServerCallError({ issuer, step: 'registration', url, failure: classify(err, init.timeoutMs) });
  }
}

type RegistrationAnswer = HttpResponse & { url: string };

function registrationError(res: RegistrationAnswer, what: string, issuer: string): ConfigurationError {
  let error: string | undefined;
  let description: string | undefined;
  try {
    const b = JSON.parse(res.body.toString('utf8')) as { error?: unknown; error_description?: unknown };
    if (typeof b.error === 'string') error = b.error;
    if (typeof b.error_description === 'string') description = b.error_description.slice(0, 300);
  } catch {
    // no JSON body
  }
  const known = error && RFC7591_ERRORS.has(error) ? ` (RFC 7591 §3.2.2 ${error})` : error ? ` (${error})` : '';
  return new ConfigurationError(
    `oauth-resource-server: the authorization server ${issuer} refused the ${what} of the resource server ` +
      `at ${safeUrlOf(res.url)}: HTTP ${res.status}${known}${description ? `: ${description}` : ''}`,
  );
}

async function save(store: CacheStore, key: string, c: ResourceServerCredentials, fingerprint: string): Promise<ResourceServerCredentials> {
  await store.set(key, JSON.stringify({ ...c, fingerprint } satisfies Stored), FOREVER);
  return c;
}

function publicPart(c: ResourceServerCredentials): ResourceServerCredentials {
  const { clientId, clientSecret, registrationAccessToken, registrationClientUri, clientSecretExpiresAt } = c;
  return {
    clientId,
    clientSecret,
    ...(registrationAccessToken ? { registrationAccessToken } : {}),
    ...(registrationClientUri ? { registrationClientUri } : {}),
    ...(clientSecretExpiresAt !== undefined ? { clientSecretExpiresAt } : {}),
  };
}
