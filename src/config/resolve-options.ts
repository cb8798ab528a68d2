/**
 * Start-up validation and defaults of the options (the types and DEFAULTS live in options.ts): a
 * configuration mistake throws a ConfigurationError with a clear message when the resource server is
 * created, not at the first request.
 */
import { guardedLogger, isLogger, safeLogger } from './guarded-logger.js';
import { timingSafeEqual } from 'node:crypto';
import { fail, nonNegative, positive } from './option-checks.js';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, isJwsAlgorithm } from '../token/jws.js';
import type { MetadataOptions } from '../metadata/metadata.js';
import { resolveTokenProfile } from '../token/profiles.js';
import { ISSUER_NAMES, OPTION_NAMES, unknownOptionName } from './option-names.js';
import { isSecureOrLoopback } from '../http/secure-url.js';
import { resolveDpop } from '../sender/resolve-dpop.js';
import {
  DEFAULTS,
  type IntrospectionOptions,
  type Logger,
  type ResolvedIntrospection,
  type ResolvedIssuer,
  type ResolvedOptions,
  type ResourceServerOptions,
  type TrustedIssuer,
} from './options.js';

export { isSecureOrLoopback } from '../http/secure-url.js';
export { positive, nonNegative } from './option-checks.js';

/** Validate an issuer identifier (RFC 8414 §2: https, no query or fragment; http only on loopback). */
export function validateIssuerUrl(issuer: unknown, what = 'issuer'): string {
  if (typeof issuer !== 'string' || !issuer) fail(`${what} must be a non-empty string`);
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    fail(`${what} is not an absolute URL`);
  }
  // The message names the URL without its userinfo, query or fragment: they may hold credentials.
  const shown = JSON.stringify(`${url.protocol}//${url.host}${url.pathname}`);
  if (url.username || url.password) fail(`${what} ${shown} must carry no credentials (user:password@)`);
  if (!isSecureOrLoopback(url)) fail(`${what} ${shown} must use https (http is allowed only on loopback)`);
  if (url.search || url.hash || issuer.includes('#') || issuer.includes('?')) fail(`${what} ${shown} must have no query or fragment`);
  return issuer;
}

/** Validate a resource identifier (RFC 8707 §2: an absolute URI without a fragment). */
export function validateResourceIdentifier(id: unknown): string {
  if (typeof id !== 'string' || !id) fail('every resource identifier must be a non-empty string');
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(id)) fail(`resource identifier ${JSON.stringify(id)} must be an absolute URI`);
  if (id.includes('#')) fail(`resource identifier ${JSON.stringify(id)} must not contain a fragment (RFC 8707 §2)`);
  return id;
}

/** Normalise one trusted-issuer entry. */
export function resolveIssuerEntry(entry: string | TrustedIssuer): ResolvedIssuer {
  const trusted: TrustedIssuer = typeof entry === 'string' ? { issuer: entry } : entry;
  if (!trusted || typeof trusted !== 'object') fail('issuer entries must be strings or objects');
  const misnamed = unknownOptionName(trusted, ISSUER_NAMES, 'issuer');
  if (misnamed) fail(misnamed);
  const issuer = validateIssuerUrl(trusted.issuer);
  if (trusted.jwksUri !== undefined) validateIssuerUrl(trusted.jwksUri, 'jwksUri');
  if (trusted.jwks !== undefined && (!trusted.jwks || !Array.isArray(trusted.jwks.keys)))
    fail(`jwks of ${issuer} must be a JWK Set ({ keys: [...] })`);
  const algs = trusted.algorithms ?? [...ASYMMETRIC_ALGORITHMS];
  if (!Array.isArray(algs) || algs.length === 0) fail(`algorithms of ${issuer} must be a non-empty array`);
  for (const a of algs) {
    if (!isJwsAlgorithm(a)) fail(`algorithm ${JSON.stringify(a)} of ${issuer} is not supported (never "none")`);
    if ((HMAC_ALGORITHMS as readonly string[]).includes(a) && trusted.secret === undefined)
      fail(`${a} for ${issuer} needs an explicitly configured secret`);
  }
  if (trusted.secret !== undefined) {
    const len = typeof trusted.secret === 'string' ? Buffer.byteLength(trusted.secret) : trusted.secret.byteLength;
    if (len < 32) fail(`the HMAC secret of ${issuer} must be at least 32 bytes (RFC 7518 §3.2)`);
  }
  const introspection = trusted.introspection === undefined ? undefined : resolveIntrospection(trusted.introspection, issuer);
  const validation = trusted.validation ?? (introspection ? 'auto' : 'jwt');
  if (!['jwt', 'introspection', 'auto'].includes(validation)) fail(`validation of ${issuer} must be "jwt", "introspection" or "auto"`);
  if (validation !== 'jwt' && !introspection)
    fail(`validation "${validation}" of ${issuer} needs introspection settings (clientId and credentials)`);
  const withHmac = trusted.secret !== undefined && trusted.algorithms === undefined ? [...algs, ...HMAC_ALGORITHMS] : algs;
  return {
    issuer,
    jwksUri: trusted.jwksUri,
    jwks: trusted.jwks,
    algorithms: new Set(withHmac),
    secret: trusted.secret,
    requireAccessTokenType: trusted.requireAccessTokenType ?? DEFAULTS.requireAccessTokenType,
    profile: resolveTokenProfile(trusted.profile ?? DEFAULTS.tokenProfile, issuer),
    validation,
    introspection,
  };
}

/**
 * Whether two resolved issuers have the same settings: a resolver that answers again as before keeps the
 * issuer's keys, discovery and cached verdicts. Compared by value; private keys by identity (a resolver that
 * builds a new key object on every call gets a fresh issuer state each time, which is correct, only slower).
 */
export function sameIssuerSettings(a: ResolvedIssuer, b: ResolvedIssuer): boolean {
  return (
    a.issuer === b.issuer &&
    a.jwksUri === b.jwksUri &&
    a.requireAccessTokenType === b.requireAccessTokenType &&
    (a.profile === b.profile || JSON.stringify(a.profile) === JSON.stringify(b.profile)) &&
    a.validation === b.validation &&
    JSON.stringify(a.jwks) === JSON.stringify(b.jwks) &&
    a.algorithms.size === b.algorithms.size &&
    [...a.algorithms].every((alg) => b.algorithms.has(alg)) &&
    sameBytes(a.secret, b.secret) &&
    (a.introspection === b.introspection || (!!a.introspection && !!b.introspection && sameIntrospection(a.introspection, b.introspection)))
  );
}

function sameIntrospection(a: ResolvedIntrospection, b: ResolvedIntrospection): boolean {
  const ak = a.privateKey && 'key' in a.privateKey ? a.privateKey : { key: a.privateKey, kid: undefined };
  const bk = b.privateKey && 'key' in b.privateKey ? b.privateKey : { key: b.privateKey, kid: undefined };
  return (
    a.clientId === b.clientId &&
    sameBytes(a.clientSecret, b.clientSecret) &&
    a.clientAuthMethod === b.clientAuthMethod &&
    ak.key === bk.key &&
    ak.kid === bk.kid &&
    sameBytes(a.tls?.cert, b.tls?.cert) &&
    sameBytes(a.tls?.key, b.tls?.key) &&
    a.endpoint === b.endpoint &&
    a.jwtResponseAlg === b.jwtResponseAlg &&
    a.acceptMissingAudience === b.acceptMissingAudience &&
    a.cacheTtlSeconds === b.cacheTtlSeconds &&
    a.negativeCacheSeconds === b.negativeCacheSeconds &&
    a.serveStaleSeconds === b.serveStaleSeconds
  );
}

/** Secrets and key material compared in constant time (both absent counts as the same). */
function sameBytes(a: string | Uint8Array | undefined, b: string | Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const x = typeof a === 'string' ? Buffer.from(a) : a;
  const y = typeof b === 'string' ? Buffer.from(b) : b;
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}

function resolveIntrospection(introspection: IntrospectionOptions, issuer: string): ResolvedIntrospection {
  if (!introspection || typeof introspection !== 'object' || typeof introspection.clientId !== 'string' || !introspection.clientId)
    fail(`introspection of ${issuer} needs a clientId`);
  const method = introspection.clientAuthMethod ?? DEFAULTS.introspectionClientAuthMethod;
  if (!['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth'].includes(method))
    fail(`unknown clientAuthMethod ${JSON.stringify(method)}`);
  if (method.startsWith('client_secret') && !introspection.clientSecret) fail(`${method} at ${issuer} needs a clientSecret`);
  if (method === 'private_key_jwt' && !introspection.privateKey) fail(`private_key_jwt at ${issuer} needs a privateKey`);
  if (method === 'tls_client_auth' && !introspection.tls) fail(`tls_client_auth at ${issuer} needs tls.cert and tls.key`);
  if (introspection.endpoint !== undefined) validateIssuerUrl(introspection.endpoint, 'introspection.endpoint');
  const jwtAlg =
    introspection.jwtResponse === true ? 'RS256' : typeof introspection.jwtResponse === 'string' ? introspection.jwtResponse : undefined;
  if (jwtAlg !== undefined && !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(jwtAlg))
    fail(`introspection.jwtResponse must name an asymmetric JWS algorithm`);
  return {
    clientId: introspection.clientId,
    clientSecret: introspection.clientSecret,
    clientAuthMethod: method,
    privateKey: introspection.privateKey,
    tls: introspection.tls,
    endpoint: introspection.endpoint,
    jwtResponseAlg: jwtAlg,
    acceptMissingAudience: introspection.acceptMissingAudience === true,
    cacheTtlSeconds: positive(introspection.cacheTtlSeconds ?? DEFAULTS.introspectionCacheTtlSeconds, 'introspection.cacheTtlSeconds'),
    negativeCacheSeconds: nonNegative(
      introspection.negativeCacheSeconds ?? DEFAULTS.introspectionNegativeCacheSeconds,
      'introspection.negativeCacheSeconds',
    ),
    serveStaleSeconds: nonNegative(
      introspection.serveStaleSeconds ?? DEFAULTS.introspectionServeStaleSeconds,
      'introspection.serveStaleSeconds',
    ),
  };
}

const consoleLogger: Logger = safeLogger({
  warn: (m, d) => (d === undefined ? console.warn(`oauth-resource-server: ${m}`) : console.warn(`oauth-resource-server: ${m}`, d)),
  error: (m, d) => (d === undefined ? console.error(`oauth-resource-server: ${m}`) : console.error(`oauth-resource-server: ${m}`, d)),
});
const silentLogger: Logger = safeLogger({ warn: () => undefined, error: () => undefined });

/** The logger the kit uses: a configured one guarded (it may throw), the console's, or none (`false`). */
function resolveLogger(logger: ResourceServerOptions['logger']): Logger {
  if (logger === false) return silentLogger;
  if (logger === undefined || logger === null) return consoleLogger;
  if (!isLogger(logger)) fail('logger must be false or a logger (warn and error methods)');
  return guardedLogger(logger);
}

/** Apply defaults and validate; throws {@link ConfigurationError} with a clear message. */
export function resolveOptions(options: ResourceServerOptions): ResolvedOptions {
  if (!options || typeof options !== 'object') fail('options are required');
  const misnamed = unknownOptionName(options, OPTION_NAMES);
  if (misnamed) fail(misnamed);
  const entries =
    options.issuer === undefined ? [] : Array.isArray(options.issuer) ? options.issuer : [options.issuer as string | TrustedIssuer];
  if (entries.length === 0 && !options.resolveIssuer) fail('an issuer is required (options.issuer, or options.resolveIssuer)');
  const issuers = entries.map(resolveIssuerEntry);
  if (new Set(issuers.map((i) => i.issuer)).size !== issuers.length) fail('an issuer is listed twice');

  const resources =
    options.resource === undefined
      ? []
      : (typeof options.resource === 'string' ? [options.resource] : [...options.resource]).map(validateResourceIdentifier);
  let publicBaseUrl: string | undefined;
  if (options.publicBaseUrl !== undefined) {
    let base: URL;
    try {
      base = new URL(options.publicBaseUrl);
    } catch {
      fail('publicBaseUrl must be an absolute URL');
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') fail('publicBaseUrl must be an http(s) URL');
    if (base.search || base.hash) fail('publicBaseUrl must have no query or fragment');
    publicBaseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
  }
  if (resources.length === 0 && !publicBaseUrl)
    fail('a resource identifier is required (options.resource, or options.publicBaseUrl to derive it from the mount path)');

  const audienceMatching = options.audienceMatching ?? DEFAULTS.audienceMatching;
  if (audienceMatching !== 'exact' && audienceMatching !== 'path') fail('audienceMatching must be "exact" or "path"');
  const errorResponse = options.errorResponse ?? DEFAULTS.errorResponse;
  if (!['json', 'problem', 'next'].includes(errorResponse)) fail('errorResponse must be "json", "problem" or "next"');
  const convention = options.scopes?.convention ?? DEFAULTS.scopeConvention;
  if (typeof convention !== 'function' && !['verb:resource', 'resource:verb', 'uri:action', 'verb'].includes(convention))
    fail(`unknown scope convention ${JSON.stringify(convention)}`);

  const cache =
    options.cache === false
      ? false
      : {
          maxEntries: positive(options.cache?.maxEntries ?? DEFAULTS.cacheMaxEntries, 'cache.maxEntries'),
          maxBytes: positive(options.cache?.maxBytes ?? DEFAULTS.cacheMaxBytes, 'cache.maxBytes'),
          maxTtlSeconds: positive(options.cache?.maxTtlSeconds ?? DEFAULTS.cacheMaxTtlSeconds, 'cache.maxTtlSeconds'),
          store: options.cache?.store,
        };
  const requiredClaims = options.requiredClaims ?? DEFAULTS.requiredClaims;
  if (!Array.isArray(requiredClaims) || !requiredClaims.every((c) => typeof c === 'string'))
    fail('requiredClaims must be an array of claim names');

  const clockToleranceSeconds = nonNegative(options.clockToleranceSeconds ?? DEFAULTS.clockToleranceSeconds, 'clockToleranceSeconds');
  return {
    issuers,
    resolveIssuer: options.resolveIssuer,
    resolveIssuerTtlMs: nonNegative(options.resolveIssuerTtlSeconds ?? DEFAULTS.resolveIssuerTtlSeconds, 'resolveIssuerTtlSeconds') * 1000,
    resources,
    publicBaseUrl,
    audienceMatching,
    realm: options.realm,
    clockToleranceSeconds,
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
    jwks: {
      cooldownMs: nonNegative(options.jwks?.cooldownSeconds ?? DEFAULTS.jwksCooldownSeconds, 'jwks.cooldownSeconds') * 1000,
      maxAgeMs: positive(options.jwks?.maxAgeSeconds ?? DEFAULTS.jwksMaxAgeSeconds, 'jwks.maxAgeSeconds') * 1000,
    },
    http: {
      timeoutMs: positive(options.http?.timeoutMs ?? DEFAULTS.httpTimeoutMs, 'http.timeoutMs'),
      maxResponseBytes: positive(options.http?.maxResponseBytes ?? DEFAULTS.httpMaxResponseBytes, 'http.maxResponseBytes'),
      retryIntervalMs: positive(options.http?.retryIntervalMs ?? DEFAULTS.httpRetryIntervalMs, 'http.retryIntervalMs'),
    },
    logger: resolveLogger(options.logger),
    metadata: resolveMetadata(options.metadata, resources, publicBaseUrl),
    dpop: resolveDpop(options.dpop, { publicBaseUrl, resources, clockToleranceSeconds }),
    mtls: options.mtls,
    authorizationDetails: options.authorizationDetails,
  };
}

function resolveMetadata(
  option: ResourceServerOptions['metadata'],
  resources: readonly string[],
  publicBaseUrl: string | undefined,
): MetadataOptions | undefined {
  if (!option) return undefined;
  const metadata: MetadataOptions = option === true ? {} : option;
  // RFC 9728 §1.2 (CONFORMANCE 55): a metadata-publishing identifier is an https URL without a fragment.
  for (const id of publicBaseUrl ? [publicBaseUrl] : resources) {
    let url: URL;
    try {
      url = new URL(id);
    } catch {
      fail(`resource identifier ${JSON.stringify(id)} must be an https URL to publish metadata (RFC 9728 §1.2)`);
    }
    if (!isSecureOrLoopback(url))
      fail(`resource identifier ${JSON.stringify(id)} must be an https URL to publish metadata (RFC 9728 §1.2; http only on loopback)`);
  }
  for (const [name, v] of [
    ['resourceDocumentation', metadata.resourceDocumentation],
    ['resourcePolicyUri', metadata.resourcePolicyUri],
    ['resourceTosUri', metadata.resourceTosUri],
    ['jwksUri', metadata.jwksUri],
  ] as const) {
    if (v !== undefined) {
      try {
        new URL(v);
      } catch {
        fail(`metadata.${name} must be an absolute URL`);
      }
    }
  }
  // Lists of strings, checked here so that a wrong shape is a start-up error, not a 500 on every metadata request.
  for (const [name, v] of [
    ['authorizationServers', metadata.authorizationServers],
    ['scopesSupported', metadata.scopesSupported],
    ['resourceSigningAlgValuesSupported', metadata.resourceSigningAlgValuesSupported],
  ] as const) {
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string')))
      fail(`metadata.${name} must be an array of strings`);
  }
  for (const a of metadata.authorizationServers ?? []) validateIssuerUrl(a, 'metadata.authorizationServers[]');
  if (metadata.signing && (metadata.signing.alg === 'none' || !metadata.signing.issuer))
    fail('metadata.signing needs an asymmetric alg (never "none") and an issuer');
  return metadata;
}
