/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): the document, built from the kit's own
 * configuration and declared scopes (never written by hand), its well-known URL, and the optional
 * signed form.
 */
import { SignJWT } from 'jose';
import type { CryptoKey, KeyObject } from '../token/keys.js';

/** @internal A mount path with route parameters, wildcards or optional groups: it names no one resource identifier. */
export const NOT_FIXED_PATH = /[:*?+(){}[\]]/;

/** What the metadata says beyond what the kit derives. */
export interface MetadataOptions {
  /** `resource_name` (RECOMMENDED, §2). */
  resourceName?: string;
  /** `resource_documentation` (§2). */
  resourceDocumentation?: string;
  /** `resource_policy_uri` (§2). */
  resourcePolicyUri?: string;
  /** `resource_tos_uri` (§2). */
  resourceTosUri?: string;
  /** Scopes to list besides those the routes declare (`scopes_supported`, RECOMMENDED, §2). */
  scopesSupported?: readonly string[];
  /** `authorization_servers` (§2). Default: every trusted issuer. */
  authorizationServers?: readonly string[];
  /** `jwks_uri` (§2): the resource server's own keys, where it signs anything. */
  jwksUri?: string;
  /**
   * `resource_signing_alg_values_supported` (§2): the algorithms the resource uses to sign its responses.
   * Stated only when given: the `signing` alg signs the metadata, not responses.
   */
  resourceSigningAlgValuesSupported?: readonly string[];
  /** Publish `signed_metadata` (§2.2): a JWT over the metadata, signed with this key. */
  signing?: { key: CryptoKey | KeyObject | Uint8Array; alg: string; kid?: string; issuer: string };
  /** Add `resource_metadata="<url>"` to every 401/403 challenge (§5.1). Default true. */
  challenge?: boolean;
  /** `Cache-Control: max-age` of the document, seconds (§7.10). Default 3600. */
  maxAgeSeconds?: number;
}

/** Facts the kit knows about itself, from which the document is built. */
export interface MetadataFacts {
  resource: string;
  authorizationServers: readonly string[];
  scopes: readonly string[];
  bearerMethods: ReadonlyArray<'header' | 'body' | 'query'>;
  dpopRequired?: boolean;
  dpopAlgorithms?: readonly string[];
  mtlsBound?: boolean;
  authorizationDetailsTypes?: readonly string[];
}

/** The protected resource metadata document (§2). */
export type ProtectedResourceMetadata = Record<string, unknown> & { resource: string };

/**
 * The well-known URL of an identifier's metadata (§3.1): `/.well-known/oauth-protected-resource`
 * inserted between the host and the path (a terminating slash after the host dropped), query kept.
 */
export function metadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname;
  return `${u.origin}/.well-known/oauth-protected-resource${path}${u.search}`;
}

/** The path (and query) the metadata of `resource` is served at, on the resource's own host. */
export function metadataPath(resource: string): string {
  const u = new URL(metadataUrl(resource));
  return `${u.pathname}${u.search}`;
}

/** Build the document. Empty arrays are omitted (§3.2); `none` never appears in algorithm lists (§2). */
export function buildMetadata(facts: MetadataFacts, options: MetadataOptions): ProtectedResourceMetadata {
  const doc: ProtectedResourceMetadata = { resource: facts.resource };
  const list = (name: string, values: readonly string[] | undefined) => {
    const v = [...new Set((values ?? []).filter((x) => x !== 'none'))];
    if (v.length) doc[name] = v;
  };
  list('authorization_servers', options.authorizationServers ?? facts.authorizationServers);
  if (options.jwksUri) doc.jwks_uri = options.jwksUri;
  list('scopes_supported', [...facts.scopes, ...(options.scopesSupported ?? [])].sort());
  // RFC 9728 §2: absent says nothing; the kit always states what it accepts.
  doc.bearer_methods_supported = [...facts.bearerMethods];
  // §2: algorithms of the resource's responses; the metadata-signing alg says nothing about those.
  list('resource_signing_alg_values_supported', options.resourceSigningAlgValuesSupported);
  if (options.resourceName) doc.resource_name = options.resourceName;
  if (options.resourceDocumentation) doc.resource_documentation = options.resourceDocumentation;
  if (options.resourcePolicyUri) doc.resource_policy_uri = options.resourcePolicyUri;
  if (options.resourceTosUri) doc.resource_tos_uri = options.resourceTosUri;
  if (facts.mtlsBound) doc.tls_client_certificate_bound_access_tokens = true;
  list('dpop_signing_alg_values_supported', facts.dpopAlgorithms);
  list('authorization_details_types_supported', facts.authorizationDetailsTypes);
  if (facts.dpopRequired) doc.dpop_bound_access_tokens_required = true;
  return doc;
}

/** Add `signed_metadata` (§2.2): a JWS with `iss`, never nesting `signed_metadata`. */
export async function signMetadata(
  doc: ProtectedResourceMetadata,
  signing: NonNullable<MetadataOptions['signing']>,
): Promise<ProtectedResourceMetadata> {
  const { signed_metadata: _nested, ...claims } = doc;
  const jwt = await new SignJWT({ ...claims, iss: signing.issuer })
    .setProtectedHeader({ alg: signing.alg, ...(signing.kid ? { kid: signing.kid } : {}) })
    .setIssuedAt()
    .sign(signing.key);
  return { ...doc, signed_metadata: jwt };
}
