/**
 * Authorization-server metadata, through openid-client: RFC 8414 first (the well-known suffix inserted
 * before the issuer's path, §3.1), then OpenID Connect Discovery (suffix appended, §4.1). openid-client
 * discards a document whose `issuer` differs from the one asked for (RFC 8414 §3.3, OIDC Discovery §4.3).
 */
import * as client from 'openid-client';
import { createFetch } from '../http/client.js';
import { isSecureOrLoopback } from '../options.js';

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

/**
 * Fetch and validate an issuer's metadata: RFC 8414, then OpenID Connect Discovery. Throws when neither
 * answers with a valid document for exactly this issuer.
 */
export async function discoverAuthorizationServer(issuer: string, settings: DiscoverySettings): Promise<{ metadata: AuthorizationServerMetadata; configuration: client.Configuration }> {
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
      return { metadata: configuration.serverMetadata() as AuthorizationServerMetadata, configuration };
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError instanceof Error ? firstError : new Error('discovery failed');
}
