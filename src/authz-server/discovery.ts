/**
 * Authorization-server metadata, through openid-client: RFC 8414 first (the well-known suffix inserted
 * before the issuer's path, §3.1), then OpenID Connect Discovery (suffix appended, §4.1). openid-client
 * discards a document whose `issuer` differs from the one asked for (RFC 8414 §3.3, OIDC Discovery §4.3),
 * and the kit then also requires it to be identical, byte for byte (openid-client compares normalised URLs).
 */
import * as client from 'openid-client';
import { createFetch } from '../http/client.js';
import { AuthorizationServerCallError, classify, type AsFailure } from '../http/as-failure.js';
import { DEFAULTS } from '../config/options.js';
import { isSecureOrLoopback } from '../http/secure-url.js';

/** Authorization-server metadata (RFC 8414 §2), as far as the kit reads it. */
export interface AuthorizationServerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
  token_endpoint?: string;
  registration_endpoint?: string;
  [member: string]: unknown;
}

/** Settings of a discovery call. */
export interface DiscoverySettings {
  timeoutMs: number;
  maxBytes: number;
  /**
   * While an issuer's metadata cannot be fetched, the least time between two attempts, in milliseconds (default
   * `DEFAULTS.httpRetryIntervalMs`): callers in between get the last document, or the last failure.
   */
  retryIntervalMs?: number;
}

/** The RFC 8414 metadata URL of an issuer (§3.1: inserted between host and path). */
export function oauthMetadataUrl(issuer: string): string {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
  return `${u.origin}/.well-known/oauth-authorization-server${path}`;
}

/** The OpenID Connect discovery URL of an issuer (§4.1: appended after removing a trailing slash). */
export function openidConfigurationUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

type Discovered = { metadata: AuthorizationServerMetadata; configuration: client.Configuration };

/** How long a discovered document is used before it is fetched again (in the background). */
const METADATA_TTL_MS = 60 * 60 * 1000;
const MAX_ISSUERS = 100;
interface Entry {
  /** When `value` was fetched. */
  at: number;
  value?: Discovered;
  inflight?: Promise<Discovered>;
  /** When the last attempt failed, and how (answered again until the retry interval has passed). */
  failedAt?: number;
  failure?: AuthorizationServerCallError;
}
const cache = new Map<string, Entry>();

/**
 * The metadata of an issuer, through one cache every feature shares (JWT keys, introspection,
 * self-registration): fetched once, one fetch in flight, refreshed after an hour in the background, the
 * last good document kept when a refresh fails. After a failure the AS is asked again only once the retry
 * interval has passed, by the first call after it, however many calls come meanwhile and whether or not a
 * document is known: an outage costs the AS one fetch per interval, and its end is seen within one interval.
 * Rejects with an {@link AuthorizationServerCallError} (step `discovery`) when neither RFC 8414 nor OpenID
 * discovery gives a valid document for exactly this issuer.
 */
export function discoverAuthorizationServer(issuer: string, settings: DiscoverySettings): Promise<Discovered> {
  const entry = cache.get(issuer);
  const now = Date.now();
  if (entry?.value && (now - entry.at < METADATA_TTL_MS || entry.inflight)) return Promise.resolve(entry.value);
  if (entry?.inflight) return entry.inflight;
  if (entry?.failure && entry.failedAt !== undefined && now - entry.failedAt < (settings.retryIntervalMs ?? DEFAULTS.httpRetryIntervalMs)) {
    return entry.value ? Promise.resolve(entry.value) : Promise.reject(entry.failure);
  }
  const inflight = fetchMetadata(issuer, settings).then(
    (value) => {
      cache.set(issuer, { at: Date.now(), value });
      return value;
    },
    (err: unknown) => {
      const failure =
        err instanceof AuthorizationServerCallError
          ? err
          : new AuthorizationServerCallError({
              issuer,
              step: 'discovery',
              url: oauthMetadataUrl(issuer),
              failure: classify(err, settings.timeoutMs),
            });
      const current = cache.get(issuer);
      // The failure is remembered for the retry interval only; the last good document for as long as it takes.
      cache.set(issuer, { at: current?.at ?? 0, ...(current?.value ? { value: current.value } : {}), failedAt: Date.now(), failure });
      if (current?.value) return current.value;
      throw failure;
    },
  );
  if (!entry && cache.size >= MAX_ISSUERS) cache.delete(cache.keys().next().value as string);
  cache.set(issuer, { at: entry?.at ?? 0, ...(entry?.value ? { value: entry.value } : {}), inflight });
  return entry?.value ? Promise.resolve(entry.value) : inflight;
}

async function fetchMetadata(issuer: string, settings: DiscoverySettings): Promise<Discovered> {
  const url = new URL(issuer);
  const options: client.DiscoveryRequestOptions = {
    timeout: Math.max(1, Math.ceil(settings.timeoutMs / 1000)),
    [client.customFetch]: createFetch({ timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes }),
  };
  // http is accepted only for loopback issuers (development), checked at start-up.
  if (url.protocol === 'http:' && isSecureOrLoopback(url)) options.execute = [client.allowInsecureRequests];
  const failures: AuthorizationServerCallError[] = [];
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    const at = algorithm === 'oauth2' ? oauthMetadataUrl(issuer) : openidConfigurationUrl(issuer);
    let configuration: client.Configuration;
    try {
      configuration = await client.discovery(url, 'oauth-resource-server', undefined, undefined, { ...options, algorithm });
    } catch (err) {
      failures.push(
        new AuthorizationServerCallError({
          issuer,
          step: 'discovery',
          url: at,
          failure: discoveryFailure(err, issuer, settings.timeoutMs),
        }),
      );
      continue;
    }
    const metadata = configuration.serverMetadata() as AuthorizationServerMetadata;
    // RFC 8414 §3.3 / OIDC Discovery §4.3: "identical", so no trailing slash, host case or dot segment of difference
    // (tokens' iss is compared exactly, and a look-alike issuer would be a different AS).
    if (metadata.issuer === issuer) return { metadata, configuration };
    failures.push(
      new AuthorizationServerCallError({
        issuer,
        step: 'discovery',
        url: at,
        failure: { kind: 'issuer_mismatch', expectedIssuer: issuer, actualIssuer: String(metadata.issuer) },
      }),
    );
  }
  // The telling failure: not a 404 of an AS that serves only the other document.
  throw failures.find((f) => f.failure.status !== 404) ?? failures[0]!;
}

/** openid-client reports a document for another issuer as an invalid answer; name both issuers instead. */
function discoveryFailure(err: unknown, issuer: string, timeoutMs: number): AsFailure {
  const body = (err as { cause?: { cause?: { body?: { issuer?: unknown } } } } | undefined)?.cause?.cause?.body;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' && typeof body?.issuer === 'string') {
    return { kind: 'issuer_mismatch', expectedIssuer: issuer, actualIssuer: body.issuer.slice(0, 300) };
  }
  return classify(err, timeoutMs);
}
