/**
 * The protection API access token (PAT, UMA 2.0 FedAuthz §1.3): an OAuth access token with scope
 * `uma_protection`, obtained through openid-client. By default with the client-credentials grant (what
 * Keycloak expects, the resource server acting for itself); per-owner PATs (the owner authorised the
 * resource server with the code grant) are refreshed from their stored refresh tokens.
 *
 * Cached, renewed before it expires, one renewal in flight, and renewed once when the AS answers 401.
 */
import * as client from 'openid-client';
import { createFetch } from '../http/client.js';
import { isSecureOrLoopback } from '../resolve-options.js';
import { isAtomicStore, type AtomicStore, type CacheStore } from '../stores/store.js';

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
}

/** Renew when this little of the token's life is left (or a fifth of it, whichever is larger). */
const RENEW_MARGIN_MS = 30_000;

/** A source of PATs for one AS (and, for per-owner PATs, one owner). */
export class ProtectionToken {
  readonly #s: ProtectionTokenSettings;
  readonly #config: client.Configuration;
  #token: { value: string; renewAtMs: number; expiresAtMs: number } | undefined;
  #inflight: Promise<string> | undefined;
  readonly #owner: string | undefined;

  constructor(settings: ProtectionTokenSettings, owner?: string) {
    this.#s = settings;
    this.#owner = owner;
    this.#config = new client.Configuration(
      { issuer: settings.issuer, token_endpoint: settings.tokenEndpoint },
      settings.clientId,
      {},
      client.ClientSecretBasic(settings.clientSecret),
    );
    this.#config.timeout = Math.max(1, Math.ceil(settings.timeoutMs / 1000));
    this.#config[client.customFetch] = createFetch({ timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes });
    if (isSecureOrLoopback(new URL(settings.tokenEndpoint)) && settings.tokenEndpoint.startsWith('http:')) client.allowInsecureRequests(this.#config);
  }

  /** A PAT that is valid now (renewed when close to expiry). */
  async get(): Promise<string> {
    const t = this.#token;
    const now = Date.now();
    if (t && now < t.renewAtMs) return t.value;
    if (t && now < t.expiresAtMs) {
      void this.#renew().catch(() => undefined); // renew in the background while the current one still works
      return t.value;
    }
    return this.#renew();
  }

  /** Drop the current PAT (the AS answered 401 invalid_token) and get a new one. */
  async renewAfterRejection(rejected: string): Promise<string> {
    if (this.#token?.value === rejected) this.#token = undefined;
    // The shared copy goes too, but only if it is still the rejected one (another replica may have renewed it).
    const store = this.#s.store;
    if (!this.#owner && store) {
      const shared = parseShared(await store.get(this.#sharedKey()).catch(() => undefined));
      if (shared?.value === rejected) await store.delete(this.#sharedKey()).catch(() => undefined);
    }
    return this.get();
  }

  #sharedKey(): string {
    return `pat:${this.#s.issuer}:${this.#s.clientId}`;
  }

  /** Adopt a PAT another replica fetched, if it is still fresh. */
  #adopt(raw: string | undefined): string | undefined {
    const shared = parseShared(raw);
    if (!shared || Date.now() >= shared.renewAtMs) return undefined;
    this.#token = shared;
    return shared.value;
  }

  /**
   * The resource server's own PAT with an atomic shared store: one fetch for all replicas (the first takes the
   * lock, fetches and shares; the others find it). A failing store means a local fetch.
   */
  async #fetchShared(store: AtomicStore): Promise<string> {
    let grantFailure: { error: unknown } | undefined;
    try {
      const found = this.#adopt(await store.get(this.#sharedKey()));
      if (found) return found;
      return await store.withLock(this.#sharedKey(), 3 * this.#s.timeoutMs, async () => {
        const again = this.#adopt(await store.get(this.#sharedKey()));
        if (again) return again;
        let value: string;
        try {
          value = await this.#fetchLocal();
        } catch (error) {
          grantFailure = { error };
          throw error;
        }
        const t = this.#token!;
        await store.set(this.#sharedKey(), JSON.stringify(t), t.expiresAtMs - Date.now()).catch(() => undefined);
        return value;
      });
    } catch {
      if (grantFailure) throw grantFailure.error;
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
    const store = this.#s.store;
    return !this.#owner && isAtomicStore(store) ? this.#fetchShared(store) : this.#fetchLocal();
  }

  async #fetchLocal(): Promise<string> {
    const scope = this.#s.scope ?? 'uma_protection';
    let response: client.TokenEndpointResponse;
    if (this.#owner) {
      // Per-owner PAT: the owner's refresh token, kept in the store, is exchanged (and rotated if the AS rotates it).
      const key = `ors:pat-refresh:${this.#s.issuer}:${this.#owner}`;
      const refresh = await this.#s.store?.get(key);
      if (!refresh) throw new Error(`no stored authorization of owner ${this.#owner} for the protection API`);
      response = await client.refreshTokenGrant(this.#config, refresh, { scope });
      if (response.refresh_token && response.refresh_token !== refresh) await this.#s.store?.set(key, response.refresh_token, 365 * 24 * 3600 * 1000);
    } else {
      response = await client.clientCredentialsGrant(this.#config, { scope });
    }
    const lifeMs = (response.expires_in ?? 300) * 1000;
    const now = Date.now();
    this.#token = { value: response.access_token, expiresAtMs: now + lifeMs, renewAtMs: now + Math.max(lifeMs - Math.max(RENEW_MARGIN_MS, lifeMs / 5), lifeMs / 2) };
    return response.access_token;
  }
}

/**
 * Store an owner's authorization (the refresh token the resource server got when the owner authorised it
 * with scope `uma_protection`), so a per-owner {@link ProtectionToken} can be had later.
 */
export async function storeOwnerAuthorization(store: CacheStore, issuer: string, owner: string, refreshToken: string): Promise<void> {
  await store.set(`ors:pat-refresh:${issuer}:${owner}`, refreshToken, 365 * 24 * 3600 * 1000);
}

function parseShared(raw: string | undefined): { value: string; renewAtMs: number; expiresAtMs: number } | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as { value?: unknown; renewAtMs?: unknown; expiresAtMs?: unknown };
    if (typeof v.value === 'string' && typeof v.renewAtMs === 'number' && typeof v.expiresAtMs === 'number') return { value: v.value, renewAtMs: v.renewAtMs, expiresAtMs: v.expiresAtMs };
  } catch {
    // a corrupt entry is ignored
  }
  return undefined;
}
