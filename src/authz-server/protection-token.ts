/**
 * The protection API access token (PAT, UMA 2.0 FedAuthz §1.3): an OAuth access token with scope
 * `uma_protection`, obtained through openid-client. By default with the client-credentials grant (what
 * Keycloak expects, the resource server acting for itself); per-owner PATs (the owner authorised the
 * resource server with the code grant) are refreshed from their stored refresh tokens.
 *
 * Cached, renewed before it expires, one renewal in flight, and renewed once when the AS answers 401. With an
 * atomic shared store, replicas share one PAT (the server's own, and each owner's): one replica fetches it
 * under a lock, the others adopt it; a per-owner refresh token is redeemed by one replica at a time.
 */
import * as client from 'openid-client';
import { clientSecretBasic } from '../http/basic-credentials.js';
import { createFetch } from '../http/client.js';
import { AuthorizationServerCallError, classify, type AsHealth } from '../http/as-failure.js';
import { isSecureOrLoopback } from '../http/secure-url.js';
import { isAtomicStore, type AtomicStore, type CacheStore } from '../stores/store.js';
import { ProtectionApiError } from '../uma/protection-api-error.js';
import { requireObjectArgument } from '../types/object-argument.js';

/** Credentials and settings of the PAT. */
export interface ProtectionTokenSettings {
  issuer: string;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** Default `uma_protection`. */
  scope?: string;
  timeoutMs: number;
  maxBytes: number;
  /** Where per-owner refresh tokens live (and a shared PAT, with a shared store). */
  store?: CacheStore;
  /** Where failed token requests are reported (logged once per state change). */
  health?: AsHealth;
}

/** Renew when this little of the token's life is left (or a fifth of it, whichever is larger). */
const RENEW_MARGIN_MS = 30_000;
/** How many rejected PATs are remembered (each until it would have expired): a few renewals' worth. */
const MAX_REJECTED = 16;
/** How long a rejected PAT whose expiry is unknown is remembered. */
const REJECTED_DEFAULT_MS = 3600_000;

type Held = { value: string; renewAtMs: number; expiresAtMs: number };

/** A source of PATs for one AS (and, for per-owner PATs, one owner). */
export class ProtectionToken {
  readonly #settings: ProtectionTokenSettings;
  readonly #config: client.Configuration;
  #token: Held | undefined;
  #inflight: Promise<string> | undefined;
  readonly #owner: string | undefined;
  /**
   * PATs the AS answered 401 to, and until when to remember them: such a PAT is never adopted (from the shared
   * copy, which may still hold it) nor returned again.
   */
  readonly #rejected = new Map<string, number>();

  constructor(settings: ProtectionTokenSettings, owner?: string) {
    this.#settings = settings;
    this.#owner = owner;
    this.#config = new client.Configuration(
      { issuer: settings.issuer, token_endpoint: settings.tokenEndpoint },
      settings.clientId,
      {},
      clientSecretBasic(settings.clientSecret),
    );
    this.#config.timeout = Math.max(1, Math.ceil(settings.timeoutMs / 1000));
    this.#config[client.customFetch] = createFetch({ timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes });
    if (isSecureOrLoopback(new URL(settings.tokenEndpoint)) && settings.tokenEndpoint.startsWith('http:'))
      client.allowInsecureRequests(this.#config);
  }

  /** A PAT that is valid now (renewed when close to expiry). */
  async get(): Promise<string> {
    const t = this.#token && !this.#isRejected(this.#token.value) ? this.#token : undefined;
    const now = Date.now();
    if (t && now < t.renewAtMs) return t.value;
    if (t && now < t.expiresAtMs) {
      void this.#renew().catch(() => undefined); // renew in the background while the current one still works
      return t.value;
    }
    return this.#renew();
  }

  /**
   * Drop the current PAT (the AS answered 401 invalid_token) and get a new one: never `rejected` again, though a
   * concurrent renewal may have adopted it (or the shared copy may still hold it).
   */
  async renewAfterRejection(rejected: string): Promise<string> {
    this.#reject(rejected);
    // A renewal already in flight may still resolve to the rejected PAT (it adopted it before it was known bad):
    // then renew again, now that it is refused.
    for (let attempt = 0; attempt < 3; attempt++) {
      const value = await this.get();
      if (!this.#isRejected(value)) return value;
    }
    throw new ProtectionApiError({
      operation: 'token',
      status: 401,
      error: 'invalid_token',
      message: 'the authorization server keeps issuing a protection token it rejects',
    });
  }

  #reject(value: string): void {
    const now = Date.now();
    for (const [v, untilMs] of this.#rejected) if (untilMs <= now) this.#rejected.delete(v);
    const untilMs = this.#token?.value === value ? this.#token.expiresAtMs : now + REJECTED_DEFAULT_MS;
    this.#rejected.delete(value); // re-inserted last: the oldest entries go first below
    this.#rejected.set(value, Math.max(untilMs, now + 1));
    for (const v of this.#rejected.keys()) {
      if (this.#rejected.size <= MAX_REJECTED) break;
      this.#rejected.delete(v);
    }
    if (this.#token?.value === value) this.#token = undefined;
  }

  #isRejected(value: string): boolean {
    const untilMs = this.#rejected.get(value);
    return untilMs !== undefined && Date.now() < untilMs;
  }

  /** Where the PAT is shared: the server's own, or one owner's (never the refresh token's key). */
  #sharedKey(): string {
    return this.#owner
      ? `pat-owner:${this.#settings.issuer}:${this.#settings.clientId}:${this.#owner}`
      : `pat:${this.#settings.issuer}:${this.#settings.clientId}`;
  }

  /** The lock of a fetch: per issuer and owner for an owner's PAT, as its refresh token is per issuer and owner. */
  #lockName(): string {
    return this.#owner ? `pat-refresh:${this.#settings.issuer}:${this.#owner}` : this.#sharedKey();
  }

  /** Adopt a PAT another replica fetched, if it is still fresh and was not rejected here. */
  #adopt(raw: string | undefined): string | undefined {
    const shared = parseShared(raw);
    if (!shared || Date.now() >= shared.renewAtMs || this.#isRejected(shared.value)) return undefined;
    this.#token = shared;
    return shared.value;
  }

  /**
   * A PAT with an atomic shared store: one fetch for all replicas (the first takes the lock, fetches and
   * shares; the others find it). For the server's own PAT a failing store means a local fetch. An owner's PAT
   * is only ever refreshed under the lock: a refresh token redeemed twice fails (invalid_grant) with an AS that
   * rotates it, and may get the whole grant revoked by one that detects reuse.
   */
  async #fetchShared(store: AtomicStore): Promise<string> {
    const key = this.#sharedKey();
    let grantFailure: { error: unknown } | undefined;
    try {
      const found = this.#adopt(await store.get(key));
      if (found) return found;
      return await store.withLock(this.#lockName(), 3 * this.#settings.timeoutMs, async () => {
        const raw = await store.get(key);
        const again = this.#adopt(raw);
        if (again) return again;
        // The shared copy is one rejected here: drop it so no replica adopts it while this one fetches (only
        // lock holders write it, so this deletes no newer PAT).
        const stale = parseShared(raw);
        if (stale && this.#isRejected(stale.value)) await store.delete(key).catch(() => undefined);
        let value: string;
        try {
          // For an owner this reads the stored refresh token here, inside the lock: the one a replica that held
          // the lock before may have rotated.
          value = await this.#fetchLocal();
        } catch (error) {
          grantFailure = { error };
          throw error;
        }
        const t = this.#token!;
        await store.set(key, JSON.stringify(t), t.expiresAtMs - Date.now()).catch(() => undefined);
        return value;
      });
    } catch (error) {
      if (grantFailure) throw grantFailure.error;
      if (this.#owner) {
        // The lock was not had (another replica may be redeeming the refresh token right now): take what it
        // shared, else fail rather than redeem the refresh token outside the lock.
        const shared = this.#adopt(await store.get(key).catch(() => undefined));
        if (shared) return shared;
        throw error;
      }
      // The store failed or the lock was not had in time: fetch here (slower for the AS, still correct).
      return this.#fetchLocal();
    }
  }

  #renew(): Promise<string> {
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  #fetch(): Promise<string> {
    const store = this.#settings.store;
    // Without an atomic store there is no lock to share with: each process fetches (and refreshes) its own.
    return isAtomicStore(store) ? this.#fetchShared(store) : this.#fetchLocal();
  }

  /** A token request; a failure becomes an error naming issuer, endpoint and cause, reported once per outage. */
  async #request(call: () => Promise<client.TokenEndpointResponse>): Promise<client.TokenEndpointResponse> {
    const settings = this.#settings;
    let response: client.TokenEndpointResponse;
    try {
      response = await call();
    } catch (err) {
      const failure = new AuthorizationServerCallError({
        issuer: settings.issuer,
        step: 'token',
        url: settings.tokenEndpoint,
        failure: classify(err, settings.timeoutMs),
      });
      // An owner's grant refused (invalid_grant: the owner withdrew it) is about that owner, not the AS's health.
      if (!this.#owner || failure.failure.kind !== 'status') settings.health?.failed(failure, { clientId: settings.clientId });
      throw failure;
    }
    settings.health?.ok(settings.issuer, 'token');
    return response;
  }

  async #fetchLocal(): Promise<string> {
    const scope = this.#settings.scope ?? 'uma_protection';
    let response: client.TokenEndpointResponse;
    if (this.#owner) {
      // Per-owner PAT: the owner's refresh token, kept in the store, is exchanged (and rotated if the AS rotates it).
      const key = `ors:pat-refresh:${this.#settings.issuer}:${this.#owner}`;
      const refresh = await this.#settings.store?.get(key);
      if (!refresh) {
        throw new ProtectionApiError({
          operation: 'token',
          status: 0,
          message: `no stored authorization of owner ${this.#owner} for the protection API`,
        });
      }
      response = await this.#request(() => client.refreshTokenGrant(this.#config, refresh, { scope }));
      if (response.refresh_token && response.refresh_token !== refresh)
        await this.#settings.store?.set(key, response.refresh_token, 365 * 24 * 3600 * 1000);
    } else {
      response = await this.#request(() => client.clientCredentialsGrant(this.#config, { scope }));
    }
    const lifeMs = (response.expires_in ?? 300) * 1000;
    const now = Date.now();
    this.#token = {
      value: response.access_token,
      expiresAtMs: now + lifeMs,
      renewAtMs: now + Math.max(lifeMs - Math.max(RENEW_MARGIN_MS, lifeMs / 5), lifeMs / 2),
    };
    return response.access_token;
  }
}

/** An owner's authorization of the resource server at one authorization server. */
export interface OwnerAuthorization {
  /** The authorization server (its issuer identifier). */
  issuer: string;
  /** The resource owner, as `register({ owner })` names them. */
  owner: string;
  /** The refresh token the resource server got when the owner authorised it with scope `uma_protection`. */
  refreshToken: string;
}

/**
 * Store an owner's authorization, so a per-owner {@link ProtectionToken} can be had later:
 * `storeOwnerAuthorization(store, { issuer, owner, refreshToken })`.
 */
export async function storeOwnerAuthorization(store: CacheStore, authorization: OwnerAuthorization): Promise<void> {
  // A JavaScript caller of the former form (store, issuer, owner, refreshToken) is told so: it would otherwise
  // store under `ors:pat-refresh:undefined:undefined`.
  const form = 'storeOwnerAuthorization(store, { issuer, owner, refreshToken })';
  requireObjectArgument(authorization, form, 'the authorization');
  const { issuer, owner, refreshToken } = authorization;
  for (const [name, value] of Object.entries({ issuer, owner, refreshToken })) {
    if (typeof value !== 'string' || !value) throw new TypeError(`${form}: ${name} must be a non-empty string`);
  }
  await store.set(`ors:pat-refresh:${issuer}:${owner}`, refreshToken, 365 * 24 * 3600 * 1000);
}

function parseShared(raw: string | undefined): Held | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as { value?: unknown; renewAtMs?: unknown; expiresAtMs?: unknown };
    if (typeof v.value === 'string' && typeof v.renewAtMs === 'number' && typeof v.expiresAtMs === 'number')
      return { value: v.value, renewAtMs: v.renewAtMs, expiresAtMs: v.expiresAtMs };
  } catch {
    // a corrupt entry is ignored
  }
  return undefined;
}
