/**
 * The one options type, its defaults (all in {@link DEFAULTS}), and start-up validation: a missing
 * issuer or resource identifier is an error when the resource server is created, not at the first request.
 */
import { ConfigurationError } from './errors.js';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, isJwsAlgorithm, type JwsAlgorithm } from './token/jws.js';
import type { ScopeConvention } from './scopes/conventions.js';
import type { CryptoKey } from 'jose';
import type { CacheStore } from './stores/store.js';
import type { MetadataOptions } from './metadata.js';
import type { DpopOptions } from './sender/dpop.js';
import type { MtlsOptions } from './sender/mtls.js';
import { DEFAULT_METHOD_VERBS } from './scopes/conventions.js';

/** Where the kit reports what an operator must know (never token material). */
export interface Logger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** An authorization server whose tokens this resource server accepts. */
export interface TrustedIssuer {
  /** The issuer identifier, compared to `iss` byte for byte (RFC 9068 §4; no trailing-slash tolerance). */
  issuer: string;
  /** The JWKS URI; when absent it is discovered (RFC 8414, then OpenID Connect Discovery). */
  jwksUri?: string;
  /** A fixed JWK Set (`{ keys: [...] }`) instead of a `jwksUri`: for tests and for keys distributed out of band. */
  jwks?: { keys: readonly object[] };
  /**
   * Accepted JWS algorithms. Default: every asymmetric algorithm, each key used only with its own type
   * and its JWK `alg` (so in effect the algorithms the AS's keys advertise). `none` never exists here.
   */
  algorithms?: readonly JwsAlgorithm[];
  /** A shared secret for HS256/384/512. HMAC is accepted only with this, never with a public key. */
  secret?: string | Uint8Array;
  /** Require `typ: at+jwt` (RFC 9068 §4). Default true; turn off only for ASes that do not set it. */
  requireAccessTokenType?: boolean;
  /**
   * How this issuer's tokens are validated. `jwt`: locally (RFC 9068). `introspection`: always at the AS
   * (RFC 7662). `auto`: a JWS-shaped token of this issuer is verified locally, anything else (opaque tokens)
   * is introspected. Default: `auto` when `introspection` is set, else `jwt`.
   */
  validation?: 'jwt' | 'introspection' | 'auto';
  /** Token introspection (RFC 7662) at this issuer, authenticating as the resource server. */
  introspection?: IntrospectionOptions;
}

/** How the resource server introspects tokens at an issuer (RFC 7662, RFC 9701). */
export interface IntrospectionOptions {
  /** The resource server's client_id at the AS. */
  clientId: string;
  /** The client secret (for `client_secret_basic` / `client_secret_post`). */
  clientSecret?: string;
  /** Client authentication (RFC 6749 §2.3, RFC 7523, RFC 8705). Default `client_secret_basic`. */
  clientAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'tls_client_auth';
  /** The private key for `private_key_jwt` (a WebCrypto key, optionally with its `kid`). */
  privateKey?: CryptoKey | { key: CryptoKey; kid?: string };
  /** Client certificate and key (PEM) for `tls_client_auth` (mutual TLS to the AS). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The introspection endpoint; default from the AS's metadata. */
  endpoint?: string;
  /**
   * Ask for an RFC 9701 signed response (`application/token-introspection+jwt`) and verify it: a JWS
   * algorithm such as `RS256`, or `true` for `RS256`. Default off.
   */
  jwtResponse?: boolean | string;
  /** Accept an active answer without `aud` (the AS does not audience-restrict). Default false. */
  acceptMissingAudience?: boolean;
  /** Longest an active answer is cached, in seconds; never past the token's `exp`. Default 60. */
  cacheTtlSeconds?: number;
  /** How long an inactive answer is remembered, in seconds (a flood of bad tokens costs the AS little). Default 10. */
  negativeCacheSeconds?: number;
  /**
   * While the AS is unreachable, keep serving a cached active answer for up to this many seconds past its
   * cache life (never past the token's `exp`). Default 0: off.
   */
  serveStaleSeconds?: number;
}

/** Options of the resource server. Only `issuer` (or `resolveIssuer`) and `resource` (or `publicBaseUrl`) are required. */
export interface ResourceServerOptions {
  /** Trusted issuer(s). */
  issuer?: string | TrustedIssuer | ReadonlyArray<string | TrustedIssuer>;
  /** Dynamic trust: map an `iss` to its settings, or undefined to refuse it. Results are remembered. */
  resolveIssuer?: (iss: string) => TrustedIssuer | string | undefined | Promise<TrustedIssuer | string | undefined>;
  /** This resource server's identifier(s) (RFC 8707); a token's `aud` must contain one of them. */
  resource?: string | readonly string[];
  /**
   * The public base URL (`https://api.example.com`): the identifier is derived from it plus the path the
   * middleware is mounted at. Never derived from the request's `Host` header.
   */
  publicBaseUrl?: string;
  /**
   * `exact` (default): an `aud` value must equal an identifier. `path`: an `aud` that is a path-segment
   * ancestor of an identifier on the same origin also matches (`https://api.example.com` covers
   * `https://api.example.com/orders`, never `https://api.example.com/ordersx`).
   */
  audienceMatching?: 'exact' | 'path';
  /** The `realm` of challenges. Default: none. */
  realm?: string;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /** Claims a JWT access token must carry. Default RFC 9068 §2.2: iss exp aud sub client_id iat jti. */
  requiredClaims?: readonly string[];
  /** Token locations besides the header (RFC 6750 §2.2, §2.3). Both off by default. */
  tokenLocations?: { body?: boolean; query?: boolean };
  /** Largest accepted token, in characters, checked before any parsing. Default 8192. */
  maxTokenLength?: number;
  /** Scope conventions and rules. */
  scopes?: {
    /** How derived scopes are named. Default `verb:resource`. */
    convention?: ScopeConvention;
    /** Method → verb for derived scopes. Default GET/HEAD → read, POST/PUT/PATCH/DELETE → write. */
    methodVerbs?: Readonly<Record<string, string>>;
    /** Implication rules (`{ 'orders:write': ['orders:read'] }`). Default none. */
    implications?: Readonly<Record<string, readonly string[]>>;
    /** `orders:*` / `*:orders` wildcards in granted scopes. Default false. */
    wildcards?: boolean;
    /** Name the needed scopes in 403 challenges (RFC 6750 §3 `scope`, a MAY). Default true. */
    includeInChallenge?: boolean;
  };
  /** Whether a request without a token is refused by the app-wide middleware. Default true. */
  authRequired?: boolean;
  /**
   * How the Express layer answers errors. `json` (default): the challenge and `{ error, error_description }`.
   * `problem`: the challenge and an RFC 9457 `application/problem+json` body. `next`: call `next(err)` with
   * the typed error (its `status` and `headers` set) and let the app render it.
   */
  errorResponse?: 'json' | 'problem' | 'next';
  /** Verified-token cache. `false` turns it off. */
  cache?: false | {
    /** Most entries. Default 50,000. */
    maxEntries?: number;
    /** Most bytes (estimated, ~1.2 KB per RS256 token here). Default 64 MiB. */
    maxBytes?: number;
    /** Longest an entry lives, in seconds; never past the token's `exp`. Default 300. */
    maxTtlSeconds?: number;
    /**
     * A shared second-level store for introspection verdicts (e.g. Redis, for many replicas): consulted
     * before the AS is asked, written after. Keys are hashes; entries never outlive the token's `exp`.
     */
    store?: CacheStore;
  };
  /** JWKS caching. */
  jwks?: {
    /** Least time between refetches on an unknown `kid`, in seconds. Default 30. */
    cooldownSeconds?: number;
    /** Age after which keys are refreshed in the background, in seconds. Default 600. */
    maxAgeSeconds?: number;
  };
  /** Outbound calls to authorization servers. */
  http?: {
    /** Deadline of each call, in milliseconds. Default 5000. */
    timeoutMs?: number;
    /** Largest accepted response, in bytes. Default 1 MiB. */
    maxResponseBytes?: number;
  };
  /** Where warnings go. Default: `console.warn`/`console.error` with a prefix; `false` silences. */
  logger?: Logger | false;
  /**
   * RFC 9728 protected resource metadata: `true` or its options. Then every 401/403 challenge carries
   * `resource_metadata` (§5.1) and `protectedResourceMetadata()` serves the document. Default off.
   */
  metadata?: boolean | MetadataOptions;
  /** DPoP (RFC 9449): `true` or its options. Default off (a DPoP-bound token is still refused as Bearer). */
  dpop?: boolean | DpopOptions;
  /** Certificate-bound tokens (RFC 8705): how the client certificate arrives behind a proxy. */
  mtls?: MtlsOptions;
  /**
   * RFC 9396 rich authorization requests: the `authorization_details` types this API implements, each with
   * the type-specific fields it understands. Entries of other types are ignored; an implemented entry whose
   * `locations` do not name this resource, or with an unknown field, is refused. Default: none checked.
   */
  authorizationDetails?: { types: Readonly<Record<string, readonly string[]>> };
}

/** Every default, in one place. */
export const DEFAULTS = Object.freeze({
  audienceMatching: 'exact' as const,
  clockToleranceSeconds: 5,
  requiredClaims: Object.freeze(['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti']),
  maxTokenLength: 8192,
  scopeConvention: 'verb:resource' as const,
  methodVerbs: DEFAULT_METHOD_VERBS,
  wildcards: false,
  includeScopeInChallenge: true,
  authRequired: true,
  errorResponse: 'json' as const,
  cacheMaxEntries: 50_000,
  cacheMaxBytes: 64 * 1024 * 1024,
  cacheMaxTtlSeconds: 300,
  jwksCooldownSeconds: 30,
  jwksMaxAgeSeconds: 600,
  httpTimeoutMs: 5000,
  httpMaxResponseBytes: 1024 * 1024,
  requireAccessTokenType: true,
  introspectionCacheTtlSeconds: 60,
  introspectionNegativeCacheSeconds: 10,
  introspectionServeStaleSeconds: 0,
  introspectionClientAuthMethod: 'client_secret_basic' as const,
});

/** A trusted issuer after validation. */
export interface ResolvedIssuer {
  issuer: string;
  jwksUri: string | undefined;
  jwks: { keys: readonly object[] } | undefined;
  algorithms: ReadonlySet<JwsAlgorithm>;
  secret: string | Uint8Array | undefined;
  requireAccessTokenType: boolean;
  validation: 'jwt' | 'introspection' | 'auto';
  introspection: ResolvedIntrospection | undefined;
}

/** Introspection settings after defaults and validation. */
export interface ResolvedIntrospection {
  clientId: string;
  clientSecret: string | undefined;
  clientAuthMethod: NonNullable<IntrospectionOptions['clientAuthMethod']>;
  privateKey: IntrospectionOptions['privateKey'];
  tls: IntrospectionOptions['tls'];
  endpoint: string | undefined;
  jwtResponseAlg: string | undefined;
  acceptMissingAudience: boolean;
  cacheTtlSeconds: number;
  negativeCacheSeconds: number;
  serveStaleSeconds: number;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  issuers: ResolvedIssuer[];
  resolveIssuer: ResourceServerOptions['resolveIssuer'];
  resources: readonly string[];
  publicBaseUrl: string | undefined;
  audienceMatching: 'exact' | 'path';
  realm: string | undefined;
  clockToleranceSeconds: number;
  requiredClaims: readonly string[];
  tokenLocations: { body: boolean; query: boolean };
  maxTokenLength: number;
  scopeConvention: ScopeConvention;
  methodVerbs: Readonly<Record<string, string>>;
  implications: Readonly<Record<string, readonly string[]>> | undefined;
  wildcards: boolean;
  includeScopeInChallenge: boolean;
  authRequired: boolean;
  errorResponse: 'json' | 'problem' | 'next';
  cache: { maxEntries: number; maxBytes: number; maxTtlSeconds: number; store: CacheStore | undefined } | false;
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
  httpTimeoutMs: number;
  httpMaxResponseBytes: number;
  logger: Logger;
  metadata: MetadataOptions | undefined;
  dpop: DpopOptions | undefined;
  mtls: MtlsOptions | undefined;
  authorizationDetails: { types: Readonly<Record<string, readonly string[]>> } | undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a URL is https, or http on a loopback host (development). */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && (LOOPBACK.has(url.hostname) || url.hostname.startsWith('127.')));
}

function fail(message: string): never {
  throw new ConfigurationError(`oauth-resource-server: ${message}`);
}

/** Validate an issuer identifier (RFC 8414 §2: https, no query or fragment; http only on loopback). */
export function validateIssuerUrl(issuer: unknown, what = 'issuer'): string {
  if (typeof issuer !== 'string' || !issuer) fail(`${what} must be a non-empty string`);
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    fail(`${what} ${JSON.stringify(issuer)} is not an absolute URL`);
  }
  if (!isSecureOrLoopback(url)) fail(`${what} ${JSON.stringify(issuer)} must use https (http is allowed only on loopback)`);
  if (url.search || url.hash || issuer.includes('#') || issuer.includes('?')) fail(`${what} ${JSON.stringify(issuer)} must have no query or fragment`);
  return issuer;
}

/** Validate a resource identifier (RFC 8707 §2: an absolute URI without a fragment). */
export function validateResourceIdentifier(id: unknown): string {
  if (typeof id !== 'string' || !id) fail('every resource identifier must be a non-empty string');
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(id)) fail(`resource identifier ${JSON.stringify(id)} must be an absolute URI`);
  if (id.includes('#')) fail(`resource identifier ${JSON.stringify(id)} must not contain a fragment (RFC 8707 §2)`);
  return id;
}

function positive(n: unknown, name: string, allowZero = false): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) fail(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  return n;
}

/** Normalise one trusted-issuer entry. */
export function resolveIssuerEntry(entry: string | TrustedIssuer): ResolvedIssuer {
  const e: TrustedIssuer = typeof entry === 'string' ? { issuer: entry } : entry;
  if (!e || typeof e !== 'object') fail('issuer entries must be strings or objects');
  const issuer = validateIssuerUrl(e.issuer);
  if (e.jwksUri !== undefined) validateIssuerUrl(e.jwksUri, 'jwksUri');
  if (e.jwks !== undefined && (!e.jwks || !Array.isArray(e.jwks.keys))) fail(`jwks of ${issuer} must be a JWK Set ({ keys: [...] })`);
  const algs = e.algorithms ?? [...ASYMMETRIC_ALGORITHMS];
  if (!Array.isArray(algs) || algs.length === 0) fail(`algorithms of ${issuer} must be a non-empty array`);
  for (const a of algs) {
    if (!isJwsAlgorithm(a)) fail(`algorithm ${JSON.stringify(a)} of ${issuer} is not supported (never "none")`);
    if ((HMAC_ALGORITHMS as readonly string[]).includes(a) && e.secret === undefined) fail(`${a} for ${issuer} needs an explicitly configured secret`);
  }
  if (e.secret !== undefined) {
    const len = typeof e.secret === 'string' ? Buffer.byteLength(e.secret) : e.secret.byteLength;
    if (len < 32) fail(`the HMAC secret of ${issuer} must be at least 32 bytes (RFC 7518 §3.2)`);
  }
  const introspection = e.introspection === undefined ? undefined : resolveIntrospection(e.introspection, issuer);
  const validation = e.validation ?? (introspection ? 'auto' : 'jwt');
  if (!['jwt', 'introspection', 'auto'].includes(validation)) fail(`validation of ${issuer} must be "jwt", "introspection" or "auto"`);
  if (validation !== 'jwt' && !introspection) fail(`validation "${validation}" of ${issuer} needs introspection settings (clientId and credentials)`);
  const withHmac = e.secret !== undefined && e.algorithms === undefined ? [...algs, ...HMAC_ALGORITHMS] : algs;
  return {
    issuer,
    jwksUri: e.jwksUri,
    jwks: e.jwks,
    algorithms: new Set(withHmac),
    secret: e.secret,
    requireAccessTokenType: e.requireAccessTokenType ?? DEFAULTS.requireAccessTokenType,
    validation,
    introspection,
  };
}

function resolveIntrospection(i: IntrospectionOptions, issuer: string): ResolvedIntrospection {
  if (!i || typeof i !== 'object' || typeof i.clientId !== 'string' || !i.clientId) fail(`introspection of ${issuer} needs a clientId`);
  const method = i.clientAuthMethod ?? DEFAULTS.introspectionClientAuthMethod;
  if (!['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth'].includes(method)) fail(`unknown clientAuthMethod ${JSON.stringify(method)}`);
  if (method.startsWith('client_secret') && !i.clientSecret) fail(`${method} at ${issuer} needs a clientSecret`);
  if (method === 'private_key_jwt' && !i.privateKey) fail(`private_key_jwt at ${issuer} needs a privateKey`);
  if (method === 'tls_client_auth' && !i.tls) fail(`tls_client_auth at ${issuer} needs tls.cert and tls.key`);
  if (i.endpoint !== undefined) validateIssuerUrl(i.endpoint, 'introspection.endpoint');
  const jwtAlg = i.jwtResponse === true ? 'RS256' : typeof i.jwtResponse === 'string' ? i.jwtResponse : undefined;
  if (jwtAlg !== undefined && !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(jwtAlg)) fail(`introspection.jwtResponse must name an asymmetric JWS algorithm`);
  return {
    clientId: i.clientId,
    clientSecret: i.clientSecret,
    clientAuthMethod: method,
    privateKey: i.privateKey,
    tls: i.tls,
    endpoint: i.endpoint,
    jwtResponseAlg: jwtAlg,
    acceptMissingAudience: i.acceptMissingAudience === true,
    cacheTtlSeconds: positive(i.cacheTtlSeconds ?? DEFAULTS.introspectionCacheTtlSeconds, 'introspection.cacheTtlSeconds'),
    negativeCacheSeconds: positive(i.negativeCacheSeconds ?? DEFAULTS.introspectionNegativeCacheSeconds, 'introspection.negativeCacheSeconds', true),
    serveStaleSeconds: positive(i.serveStaleSeconds ?? DEFAULTS.introspectionServeStaleSeconds, 'introspection.serveStaleSeconds', true),
  };
}

const consoleLogger: Logger = {
  warn: (m, d) => console.warn(`oauth-resource-server: ${m}`, d ?? ''),
  error: (m, d) => console.error(`oauth-resource-server: ${m}`, d ?? ''),
};
const silentLogger: Logger = { warn: () => undefined, error: () => undefined };

/** Apply defaults and validate; throws {@link ConfigurationError} with a clear message. */
export function resolveOptions(options: ResourceServerOptions): ResolvedOptions {
  if (!options || typeof options !== 'object') fail('options are required');
  const entries = options.issuer === undefined ? [] : Array.isArray(options.issuer) ? options.issuer : [options.issuer as string | TrustedIssuer];
  if (entries.length === 0 && !options.resolveIssuer) fail('an issuer is required (options.issuer, or options.resolveIssuer)');
  const issuers = entries.map(resolveIssuerEntry);
  if (new Set(issuers.map((i) => i.issuer)).size !== issuers.length) fail('an issuer is listed twice');

  const resources = options.resource === undefined ? [] : (typeof options.resource === 'string' ? [options.resource] : [...options.resource]).map(validateResourceIdentifier);
  let publicBaseUrl: string | undefined;
  if (options.publicBaseUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(options.publicBaseUrl);
    } catch {
      fail('publicBaseUrl must be an absolute URL');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') fail('publicBaseUrl must be an http(s) URL');
    if (u.search || u.hash) fail('publicBaseUrl must have no query or fragment');
    publicBaseUrl = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  }
  if (resources.length === 0 && !publicBaseUrl) fail('a resource identifier is required (options.resource, or options.publicBaseUrl to derive it from the mount path)');

  const audienceMatching = options.audienceMatching ?? DEFAULTS.audienceMatching;
  if (audienceMatching !== 'exact' && audienceMatching !== 'path') fail('audienceMatching must be "exact" or "path"');
  const errorResponse = options.errorResponse ?? DEFAULTS.errorResponse;
  if (!['json', 'problem', 'next'].includes(errorResponse)) fail('errorResponse must be "json", "problem" or "next"');
  const convention = options.scopes?.convention ?? DEFAULTS.scopeConvention;
  if (typeof convention !== 'function' && !['verb:resource', 'resource:verb', 'uri:action', 'verb'].includes(convention)) fail(`unknown scope convention ${JSON.stringify(convention)}`);

  const cache = options.cache === false ? false : {
    maxEntries: positive(options.cache?.maxEntries ?? DEFAULTS.cacheMaxEntries, 'cache.maxEntries'),
    maxBytes: positive(options.cache?.maxBytes ?? DEFAULTS.cacheMaxBytes, 'cache.maxBytes'),
    maxTtlSeconds: positive(options.cache?.maxTtlSeconds ?? DEFAULTS.cacheMaxTtlSeconds, 'cache.maxTtlSeconds'),
    store: options.cache?.store,
  };
  const requiredClaims = options.requiredClaims ?? DEFAULTS.requiredClaims;
  if (!Array.isArray(requiredClaims) || !requiredClaims.every((c) => typeof c === 'string')) fail('requiredClaims must be an array of claim names');

  return {
    issuers,
    resolveIssuer: options.resolveIssuer,
    resources,
    publicBaseUrl,
    audienceMatching,
    realm: options.realm,
    clockToleranceSeconds: positive(options.clockToleranceSeconds ?? DEFAULTS.clockToleranceSeconds, 'clockToleranceSeconds', true),
    requiredClaims,
    tokenLocations: { body: options.tokenLocations?.body === true, query: options.tokenLocations?.query === true },
    maxTokenLength: positive(options.maxTokenLength ?? DEFAULTS.maxTokenLength, 'maxTokenLength'),
    scopeConvention: convention,
    methodVerbs: { ...DEFAULTS.methodVerbs, ...options.scopes?.methodVerbs },
    implications: options.scopes?.implications,
    wildcards: options.scopes?.wildcards ?? DEFAULTS.wildcards,
    includeScopeInChallenge: options.scopes?.includeInChallenge ?? DEFAULTS.includeScopeInChallenge,
    authRequired: options.authRequired ?? DEFAULTS.authRequired,
    errorResponse,
    cache,
    jwksCooldownMs: positive(options.jwks?.cooldownSeconds ?? DEFAULTS.jwksCooldownSeconds, 'jwks.cooldownSeconds', true) * 1000,
    jwksMaxAgeMs: positive(options.jwks?.maxAgeSeconds ?? DEFAULTS.jwksMaxAgeSeconds, 'jwks.maxAgeSeconds') * 1000,
    httpTimeoutMs: positive(options.http?.timeoutMs ?? DEFAULTS.httpTimeoutMs, 'http.timeoutMs'),
    httpMaxResponseBytes: positive(options.http?.maxResponseBytes ?? DEFAULTS.httpMaxResponseBytes, 'http.maxResponseBytes'),
    logger: options.logger === false ? silentLogger : (options.logger ?? consoleLogger),
    metadata: resolveMetadata(options.metadata, resources, publicBaseUrl),
    dpop: options.dpop === true ? {} : options.dpop || undefined,
    mtls: options.mtls,
    authorizationDetails: options.authorizationDetails,
  };
}

function resolveMetadata(m: ResourceServerOptions['metadata'], resources: readonly string[], publicBaseUrl: string | undefined): MetadataOptions | undefined {
  if (!m) return undefined;
  const o: MetadataOptions = m === true ? {} : m;
  // RFC 9728 §1.2 (CONFORMANCE 55): a metadata-publishing identifier is an https URL without a fragment.
  for (const id of publicBaseUrl ? [publicBaseUrl] : resources) {
    let u: URL;
    try {
      u = new URL(id);
    } catch {
      fail(`resource identifier ${JSON.stringify(id)} must be an https URL to publish metadata (RFC 9728 §1.2)`);
    }
    if (!isSecureOrLoopback(u)) fail(`resource identifier ${JSON.stringify(id)} must be an https URL to publish metadata (RFC 9728 §1.2; http only on loopback)`);
  }
  for (const [name, v] of [['resourceDocumentation', o.resourceDocumentation], ['resourcePolicyUri', o.resourcePolicyUri], ['resourceTosUri', o.resourceTosUri], ['jwksUri', o.jwksUri]] as const) {
    if (v !== undefined) {
      try {
        new URL(v);
      } catch {
        fail(`metadata.${name} must be an absolute URL`);
      }
    }
  }
  for (const a of o.authorizationServers ?? []) validateIssuerUrl(a, 'metadata.authorizationServers[]');
  if (o.signing && (o.signing.alg === 'none' || !o.signing.issuer)) fail('metadata.signing needs an asymmetric alg (never "none") and an issuer');
  return o;
}
