/**
 * Authorization-server metadata, through openid-client: RFC 8414 first (the well-known suffix inserted
 * before the issuer's path, §3.1), then OpenID Connect Discovery (suffix appended, §4.1). openid-client
 * discards a document whose `issuer` differs from the one asked for (RFC 8414 §3.3, OIDC Discovery §4.3),
 * and the kit then also requires it to be identical, byte for byte (openid-client compares normalised URLs).
 */
import * as client from 'openid-client';
import { createFetch } from '../http/client.js';
import { isSecureOrLoopback } from '../resolve-options.js';

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
const cache = new Map<string, { at: number; value?: Discovered; inflight?: Promise<Discovered> }>();

/**
 * The metadata of an issuer, through one cache every feature shares (JWT keys, introspection,
 * self-registration): fetched once, one fetch in flight, refreshed after an hour in the background, the
 * last good document kept when a refresh fails; a failed first fetch is not remembered (the next call
 * tries again). Throws when neither RFC 8414 nor OpenID discovery gives a valid document for exactly
 * this issuer.
 */
export function discoverAuthorizationServer(issuer: string, settings: DiscoverySettings): Promise<Discovered> {
  const entry = cache.get(issuer);
  const now = Date.now();
  if (entry?.value && (now - entry.at < METADATA_TTL_MS || entry.inflight)) return Promise.resolve(entry.value);
  if (entry?.inflight) return entry.inflight;
  const inflight = fetchMetadata(issuer, settings).then(
    (value) => {
      cache.set(issuer, { at: Date.now(), value });
      return value;
    },
    (err: unknown) => {
      const current = cache.get(issuer);
      if (current?.value) {
        cache.set(issuer, { at: current.at, value: current.value });
        return current.value;
      }
      cache.delete(issuer);
      throw err;
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
  let firstError: unknown;
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    try {
      const configuration = await client.discovery(url, 'oauth-resource-server', undefined, undefined, { ...options, algorithm });
      const metadata = configuration.serverMetadata() as AuthorizationServerMetadata;
      // RFC 8414 §3.3 / OIDC Discovery §4.3: "identical", so no trailing slash, host case or dot segment of difference
      // (tokens' iss is compared exactly, and a look-alike issuer would be a different AS).
      if (metadata.issuer !== issuer) throw new Error('the discovered metadata issuer is not identical to the expected issuer (RFC 8414 §3.3)');
      return { metadata, configuration };
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError instanceof Error ? firstError : new Error('discovery failed');
}
