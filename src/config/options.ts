/**
 * The one options type and its defaults (all in {@link DEFAULTS}). Start-up validation, which turns a
 * missing issuer or resource identifier into an error at creation, lives in resolve-options.ts.
 */
import type { JwsAlgorithm } from '../token/jws.js';
import type { ScopeConvention } from '../scopes/conventions.js';
import type { CryptoKey } from '../token/keys.js';
import type { CacheStore } from '../stores/store.js';
import type { MetadataOptions } from '../metadata/metadata.js';
import type { DpopOptions, ResolvedDpop } from '../sender/dpop-options.js';
import type { MtlsOptions } from '../sender/mtls.js';
import type { ResolvedTokenProfile, TokenProfile } from '../token/profiles.js';
import { DEFAULT_METHOD_VERBS } from '../scopes/conventions.js';

/** Where the kit reports what an operator must know (never token material). */
export interface Logger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
  /**
   * Optional, off unless present: one line per refused token, naming the check that failed and the values that
   * decided it (issuer got/expected, audience got/expected, `typ`, missing claims, `alg`, `kid`, times). Never the
   * token, its signature or its whole payload. For development: a client can cause one line per request. Nothing
   * is computed for it when absent.
   */
  debug?(message: string, details?: Record<string, unknown>): void;
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
  /**
   * Check the header `typ` (RFC 9068 §4: `at+jwt`, or what the `profile` accepts). Default true; `false` accepts
   * any `typ`: prefer a `profile`, which still tells access tokens from ID tokens.
   */
  requireAccessTokenType?: boolean;
  /**
   * How this issuer's JWT access tokens differ from RFC 9068, as its vendor documents it: `'rfc9068'` (the
   * default, strict), `'keycloak'`, `'auth0'`, `'okta'`, `'entra'`, `'cognito'`, or changes to one of them
   * (`{ preset: 'cognito', clientIds: [...] }`, `{ typ: ['at+jwt', 'JWT'], clientIdClaims: ['azp'] }`). A profile
   * never disables the signature, `iss`, `exp` or the binding to this resource; see the README's "Token profiles".
   * Applies to local JWT validation; introspection answers keep RFC 7662's shape.
   */
  profile?: TokenProfile;
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
  /**
   * Dynamic trust: map an `iss` to its settings, or undefined to refuse it. An answer that trusts the issuer
   * is remembered for `resolveIssuerTtlSeconds`; a refusal is not remembered (a tenant added to the resolver is
   * trusted at its next token). A resolver that throws, or does not answer within `http.timeoutMs`, makes the
   * request fail with 503 and never prolongs an earlier answer. Concurrent requests for one `iss` share one call.
   */
  resolveIssuer?: (iss: string) => TrustedIssuer | string | undefined | Promise<TrustedIssuer | string | undefined>;
  /**
   * How long an answer of `resolveIssuer` that trusts an issuer is remembered, in seconds. Past it, the next
   * token of that issuer asks the resolver again, and verified tokens of it in the cache are accepted again only
   * once the resolver has vouched anew: an issuer the resolver stops returning is refused (401) at most this
   * long after (plus one request in flight). `ResourceServer.forgetIssuer()` withdraws trust at once. 0 asks
   * for every token. Default 300 (the default `cache.maxTtlSeconds`: the longest anything else is believed
   * without asking again).
   */
  resolveIssuerTtlSeconds?: number;
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
  /**
   * Largest accepted token, in characters, checked before any parsing (400 `invalid_request`). Default 8192.
   * Node's HTTP server limits the whole request head first (`http.maxHeaderSize`, 16 KiB by default) and
   * answers 431 itself: to accept tokens near or above that, raise it too (`http.createServer({ maxHeaderSize })`
   * or `--max-http-header-size`).
   */
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
  cache?:
    | false
    | {
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
    /**
     * While an AS endpoint (discovery, JWKS) is failing, the least time between two attempts at it, in
     * milliseconds. Requests drive the retries: one attempt in flight whatever the load, and the first request
     * after this interval tries again, so the kit serves again about this long after the AS is back, however
     * long it was down. Requests in between get 503 (or the last good keys). Default 1000.
     */
    retryIntervalMs?: number;
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
  resolveIssuerTtlSeconds: 300,
  httpTimeoutMs: 5000,
  httpMaxResponseBytes: 1024 * 1024,
  httpRetryIntervalMs: 1000,
  requireAccessTokenType: true,
  tokenProfile: 'rfc9068' as const,
  introspectionCacheTtlSeconds: 60,
  introspectionNegativeCacheSeconds: 10,
  introspectionServeStaleSeconds: 0,
  introspectionClientAuthMethod: 'client_secret_basic' as const,
  /**
   * The DPoP proofs per second one process is sized for: the default `dpop.maxReplayEntries` is this times
   * the replay window (2,130,000 for the default 71 s). Measured in-process, ResourceServer.authenticate()
   * checks up to ~26,800 fresh RS256 proofs per second on one core here (ES256 ~13,500, Ed25519 ~9,900;
   * `node --expose-gc bench/dpop-capacity.mjs`); behind HTTP a process does far fewer (~2,600/s with
   * Express, bench/RESULTS.md). So one process never fills the set, honestly or not: its memory follows
   * its CPU (~90 bytes per entry, ~200 MB if ever full), and the bound only stops what cannot happen.
   */
  dpopProofsPerSecond: 30_000,
  dpopMode: 'allowed' as const,
  dpopAlgorithms: Object.freeze(['ES256', 'ES384', 'EdDSA', 'Ed25519', 'RS256', 'PS256'] as const),
  dpopMaxProofAgeSeconds: 60,
  dpopNonceRotateSeconds: 300,
  /** UMA: how long a request waits for the registration of its resource under way before a 503. */
  umaRegistrationWaitMs: 10_000,
  /** UMA: how often the registrar reconciles the AS with the declarations (jittered; `false` turns it off). */
  umaReconcileIntervalMs: 10 * 60_000,
  /** UMA: the protection API the AS speaks. */
  umaProfile: 'uma2' as const,
  /** UMA: which undeclared sets a sync deletes (`managed`: only those the kit created). */
  umaDeleteUndeclared: 'managed' as const,
  /** UMA: a bare registrar's namespace (`umaProtection` uses the resource server's resource identifier). */
  umaNamespace: '',
  /** UMA: the `type` of the claim groups an attribute provider registers (`claimGroupResources`). */
  umaClaimGroupType: 'claim-group',
  // An UMA registrar's timeoutMs, maxBytes and retryIntervalMs default to httpTimeoutMs,
  // httpMaxResponseBytes and httpRetryIntervalMs.
});

/** A trusted issuer after validation. */
export interface ResolvedIssuer {
  issuer: string;
  jwksUri: string | undefined;
  jwks: { keys: readonly object[] } | undefined;
  algorithms: ReadonlySet<JwsAlgorithm>;
  secret: string | Uint8Array | undefined;
  requireAccessTokenType: boolean;
  profile: ResolvedTokenProfile;
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

/** Limits of every outbound call to an authorization server, after defaults. */
export interface ResolvedHttp {
  timeoutMs: number;
  maxResponseBytes: number;
  retryIntervalMs: number;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  issuers: ResolvedIssuer[];
  resolveIssuer: ResourceServerOptions['resolveIssuer'];
  resolveIssuerTtlMs: number;
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
  /** JWKS refresh rules (input `jwks`), in milliseconds. */
  jwks: { cooldownMs: number; maxAgeMs: number };
  /** Outbound calls to authorization servers (input `http`). */
  http: ResolvedHttp;
  logger: Logger;
  metadata: MetadataOptions | undefined;
  dpop: ResolvedDpop | undefined;
  mtls: MtlsOptions | undefined;
  authorizationDetails: { types: Readonly<Record<string, readonly string[]>> } | undefined;
}
