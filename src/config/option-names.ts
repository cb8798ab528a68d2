/**
 * Option names checked at start-up, at every level of the options object: a misspelled name (`clockTolerance`,
 * `authrequired`, a nested `jwksuri`) would otherwise be ignored silently, leaving a default in force that the
 * author meant to change. Only TypeScript would catch it, and not for JavaScript users. An unknown name is a
 * ConfigurationError naming the closest known one; express-oauth2-jwt-bearer's names also get a pointer to the
 * README's migration section.
 *
 * The tables are typed against the option interfaces (every key, and only those), so an option added to
 * options.ts without its entry here does not compile.
 */
import type { IntrospectionOptions, ResourceServerOptions, TrustedIssuer } from './options.js';
import type { MetadataOptions } from '../metadata/metadata.js';
import type { ResourceServerCredentials } from '../authz-server/credentials.js';
import type { DpopOptions } from '../sender/dpop.js';
import type { MtlsOptions } from '../sender/mtls.js';
import type { TokenProfileOptions } from '../token/profiles.js';
import type { UmaRegistrarOptions } from '../uma/registrar-options.js';

/** A value not looked into (a string, a function, a key, a store, or a map of the user's own names). */
export const ANY = 0;
/** What a name holds: any value, or an object whose own names are checked against a table. */
export type Slot = typeof ANY | Table;
/** The names an object may have; `each` also checks the plain objects of an array (issuer entries). */
export interface Table {
  readonly names: Readonly<Record<string, Slot>>;
  readonly each?: boolean;
}
/** What each name of an options type holds (every key of `T`, and only those). */
export type Slots<T extends object> = { readonly [K in keyof Required<T>]: Slot };

/** The table of an options type (for options checked outside this module, such as umaProtection's). */
export const table = <T extends object>(names: Slots<T>, each = false): Table => ({ names, each });
type Inner<K extends keyof ResourceServerOptions> = Exclude<NonNullable<ResourceServerOptions[K]>, boolean | string | readonly unknown[]>;

const PROFILE = table<TokenProfileOptions>({
  preset: ANY,
  typ: ANY,
  clientIdClaims: ANY,
  requireJti: ANY,
  scopeClaims: ANY,
  appPermissionClaims: ANY,
  audiences: ANY,
  clientIds: ANY,
  requireAudience: ANY,
  scopePrefixes: ANY,
  claimValues: ANY,
});

// registerResourceServer()'s credentials are documented as `introspection` settings as they are: their other
// members (the RFC 7592 management handles) are known names, and not used here.
const INTROSPECTION = table<IntrospectionOptions & ResourceServerCredentials>({
  clientId: ANY,
  clientSecret: ANY,
  clientAuthMethod: ANY,
  privateKey: table<{ key: unknown; kid: unknown }>({ key: ANY, kid: ANY }),
  tls: table<{ cert: unknown; key: unknown }>({ cert: ANY, key: ANY }),
  endpoint: ANY,
  jwtResponse: ANY,
  acceptMissingAudience: ANY,
  cacheTtlSeconds: ANY,
  negativeCacheSeconds: ANY,
  serveStaleSeconds: ANY,
  registrationAccessToken: ANY,
  registrationClientUri: ANY,
  clientSecretExpiresAt: ANY,
});

/** A trusted issuer entry (also one a `resolveIssuer` returns). */
export const ISSUER_NAMES = table<TrustedIssuer>(
  {
    issuer: ANY,
    jwksUri: ANY,
    jwks: ANY,
    algorithms: ANY,
    secret: ANY,
    requireAccessTokenType: ANY,
    profile: PROFILE,
    validation: ANY,
    introspection: INTROSPECTION,
  },
  true,
);

const METADATA = table<MetadataOptions>({
  resourceName: ANY,
  resourceDocumentation: ANY,
  resourcePolicyUri: ANY,
  resourceTosUri: ANY,
  scopesSupported: ANY,
  authorizationServers: ANY,
  jwksUri: ANY,
  resourceSigningAlgValuesSupported: ANY,
  signing: table<NonNullable<MetadataOptions['signing']>>({ key: ANY, alg: ANY, kid: ANY, issuer: ANY }),
  challenge: ANY,
  maxAgeSeconds: ANY,
});

const DPOP = table<DpopOptions>({
  mode: ANY,
  algorithms: ANY,
  maxProofAgeSeconds: ANY,
  nonce: table<NonNullable<DpopOptions['nonce']>>({ secret: ANY, rotateSeconds: ANY }),
  baseUrl: ANY,
  maxReplayEntries: ANY,
  replayStore: ANY,
  replayStoreFailure: ANY,
});

/** The options of a resource server. Issuer entries are checked where they are read (resolveIssuerEntry). */
export const OPTION_NAMES = table<ResourceServerOptions>({
  issuer: ANY,
  resolveIssuer: ANY,
  resolveIssuerTtlSeconds: ANY,
  resource: ANY,
  publicBaseUrl: ANY,
  audienceMatching: ANY,
  realm: ANY,
  clockToleranceSeconds: ANY,
  requiredClaims: ANY,
  tokenLocations: table<Inner<'tokenLocations'>>({ body: ANY, query: ANY }),
  maxTokenLength: ANY,
  scopes: table<Inner<'scopes'>>({ convention: ANY, methodVerbs: ANY, implications: ANY, wildcards: ANY, includeInChallenge: ANY }),
  authRequired: ANY,
  errorResponse: ANY,
  cache: table<Inner<'cache'>>({ maxEntries: ANY, maxBytes: ANY, maxTtlSeconds: ANY, store: ANY }),
  jwks: table<Inner<'jwks'>>({ cooldownSeconds: ANY, maxAgeSeconds: ANY }),
  http: table<Inner<'http'>>({ timeoutMs: ANY, maxResponseBytes: ANY, retryIntervalMs: ANY }),
  logger: ANY,
  metadata: METADATA,
  dpop: DPOP,
  mtls: table<MtlsOptions>({ certificateHeader: ANY, trustedProxies: ANY }),
  authorizationDetails: table<Inner<'authorizationDetails'>>({ types: ANY }),
});

/** The names of an UMA registrar's options (umaProtection's add their own to them, in src/express/uma.ts). */
export const UMA_REGISTRAR_SLOTS: Slots<UmaRegistrarOptions> = {
  issuer: ANY,
  profile: ANY,
  clientId: ANY,
  clientSecret: ANY,
  endpoints: table<NonNullable<UmaRegistrarOptions['endpoints']>>({ token: ANY, resourceRegistration: ANY, permission: ANY }),
  store: ANY,
  namespace: ANY,
  deleteUndeclared: ANY,
  timeoutMs: ANY,
  retryIntervalMs: ANY,
  reconcileIntervalMs: ANY,
  registrationWaitMs: ANY,
  maxBytes: ANY,
  logger: ANY,
};

/** The options of an UMA registrar. */
export const UMA_REGISTRAR_NAMES = table<UmaRegistrarOptions>(UMA_REGISTRAR_SLOTS);

/** express-oauth2-jwt-bearer's option names (by path), and where their meaning lives here. */
const AUTH0_NAMES: Readonly<Record<string, string>> = {
  issuerBaseURL: 'issuer',
  audience: 'resource',
  tokenSigningAlg: 'issuer: { issuer, algorithms }',
  jwksUri: 'issuer: { issuer, jwksUri }',
  secret: 'issuer: { issuer, secret }',
  publicKey: 'issuer: { issuer, jwks }',
  mcd: 'issuer: [...] (several issuers) or resolveIssuer',
  clockTolerance: 'clockToleranceSeconds',
  timeoutDuration: 'http.timeoutMs',
  cacheMaxAge: 'jwks.maxAgeSeconds',
  cooldownDuration: 'jwks.cooldownSeconds',
  strict: 'issuer: { issuer, requireAccessTokenType } (or a profile)',
  validators: 'requireClaims() on routes, or an issuer profile',
  maxTokenAge: 'requireClaims({ iat: (iat) => ... }) on routes',
  agent: 'nothing: outbound calls use fetch',
  getCertificate: 'mtls: { certificateHeader, trustedProxies }',
  'cache.discovery': 'nothing: discovery is cached by the kit',
  'cache.jwks': 'jwks: { maxAgeSeconds, cooldownSeconds }',
  'dpop.enabled': 'dpop: true',
  'dpop.required': "dpop: { mode: 'required' }",
  'dpop.iatOffset': 'dpop.maxProofAgeSeconds',
  'dpop.iatLeeway': 'dpop.maxProofAgeSeconds',
  'mtls.enabled': 'nothing: certificate-bound tokens (RFC 8705) are always checked',
  'mtls.required': 'nothing: certificate-bound tokens (RFC 8705) are always checked',
};

/** Edit distance, case-insensitive (`authrequired` is one step from nothing but `authRequired`). */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[y.length]!;
}

/** The known name closest to `name`, when close enough to be a misspelling (or a prefix of it). */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; edits: number } | undefined;
  for (const k of known) {
    const edits = k.toLowerCase().startsWith(name.toLowerCase()) ? Math.min(distance(name, k), 1) : distance(name, k);
    if (!best || edits < best.edits) best = { name: k, edits };
  }
  // Two edits for short names, more for longer ones (maxEntry → maxEntries is three).
  const allowed = name.length >= 6 ? Math.max(3, Math.floor(name.length / 3)) : 2;
  return best && best.edits <= allowed ? best.name : undefined;
}

/** A message for an unknown `name` at `path` among `known`: a suggestion, and the migration hint where it applies. */
function unknownName(path: string, name: string, known: readonly string[]): string {
  const at = path ? `${path}.${name}` : name;
  const suggestion = closest(name, known);
  const auth0 = Object.hasOwn(AUTH0_NAMES, at) ? AUTH0_NAMES[at] : undefined;
  if (auth0) {
    return (
      `unknown option ${JSON.stringify(at)}: that is express-oauth2-jwt-bearer's name; here it is ${auth0} ` +
      '(see "Migrating from express-oauth2-jwt-bearer" in the README)'
    );
  }
  const hint = suggestion
    ? `: did you mean ${JSON.stringify(path ? `${path}.${suggestion}` : suggestion)}?`
    : `; the options here are ${known.join(', ')}`;
  return `unknown option ${JSON.stringify(at)}${hint}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * The first unknown option name in `value` (checked against `names`, recursively), as a message; undefined
 * when every name is known. Only plain objects are looked into: keys, stores and loggers are the user's own.
 */
export function unknownOptionName(value: unknown, names: Table, path = ''): string | undefined {
  const items = names.each && Array.isArray(value) ? value.map((v, i) => [v, `${path}[${i}]`] as const) : [[value, path] as const];
  for (const [item, at] of items) {
    if (!isPlainObject(item)) continue;
    const known = Object.keys(names.names);
    for (const name of Object.keys(item)) {
      // Own names only: `toString` or `constructor` are not options.
      const slot = Object.hasOwn(names.names, name) ? names.names[name] : undefined;
      if (slot === undefined) return unknownName(at, name, known);
      if (slot !== ANY) {
        const inner = unknownOptionName(item[name], slot, at ? `${at}.${name}` : name);
        if (inner) return inner;
      }
    }
  }
  return undefined;
}
