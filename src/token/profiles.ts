/**
 * Token profiles: how one issuer's JWT access tokens differ from RFC 9068, as its vendor documents it.
 *
 * A profile may accept another header `typ`, name the client in another claim, not require `jti`, read scopes
 * from other claims, and (only together with a client allow-list) not require `aud`. It can never turn off the
 * signature, `iss`, `exp` or the binding of the token to this resource: those checks are not expressible here.
 * A profile is resolved once per issuer (at start-up, or when `resolveIssuer` vouches), never per request.
 */
import { fail } from '../config/option-checks.js';

/** The built-in profiles: strict RFC 9068 (the default) and one per hosted authorization server. */
export type TokenProfileName = 'rfc9068' | 'keycloak' | 'auth0' | 'okta' | 'entra' | 'cognito';

/**
 * How an issuer's JWT access tokens are read, as changes to a preset. Each member given replaces the preset's.
 *
 * @example Amazon Cognito (no `aud`: the client allow-list binds the token to this API)
 * ```ts
 * { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC', profile: { preset: 'cognito', clientIds: ['4k1example'] } }
 * ```
 * @example An authorization server of your own with `typ: JWT` and `azp`
 * ```ts
 * { issuer: 'https://as.example.com', profile: { typ: ['at+jwt', 'JWT'], clientIdClaims: ['azp'], requireJti: false } }
 * ```
 */
export interface TokenProfileOptions {
  /** The profile these settings change. Default `rfc9068`. */
  preset?: TokenProfileName;
  /**
   * Accepted header `typ` values, compared case-insensitively with the `application/` prefix optional
   * (RFC 7515 §4.1.9); `null` accepts a header without `typ`. RFC 9068: `['at+jwt']`.
   */
  typ?: readonly (string | null)[];
  /**
   * The claims that name the client, in order of preference (the first present one is `AuthContext.clientId`).
   * While `requiredClaims` lists `client_id` (the default), a token must carry one of them. RFC 9068: `['client_id']`.
   */
  clientIdClaims?: readonly string[];
  /** Whether `jti` is required. `false` drops it from `requiredClaims` for this issuer. Default: as `requiredClaims` says. */
  requireJti?: boolean;
  /**
   * The claims whose values are the granted scopes (a space-delimited string, or an array of strings; `scope` is
   * always a string, RFC 9068 §2.2.3). RFC 9068 profile: `['scope', 'scp']`. Listing a claim here makes its
   * values grant access: list `permissions` (Auth0 RBAC) or `roles` only if they are this API's permissions.
   */
  scopeClaims?: readonly string[];
  /**
   * Claims whose values count as scopes only in a token that carries none of `scopeClaims`: an application
   * token (client credentials), where the vendor puts the permissions granted to the client (Entra `roles`).
   * Default none (`entra`: `['roles']`).
   */
  appPermissionClaims?: readonly string[];
  /**
   * Further `aud` values that name this API in tokens of this issuer only, where the vendor puts something that
   * is not a URI there: Entra v2.0's application (client) ID GUID, a Keycloak client ID from an "Included Client
   * Audience" mapper. Accepted wherever the API is mounted, besides `resource`.
   */
  audiences?: readonly string[];
  /** Only tokens issued to these clients (by the client claim) are accepted. Required when `requireAudience` is false. */
  clientIds?: readonly string[];
  /**
   * Whether `aud` is required. Default true. `false` only for an issuer that puts no `aud` in access tokens
   * (Cognito), and only with `clientIds`: then the allow-list binds the token to this API. An `aud` that is
   * present must still name this resource.
   */
  requireAudience?: boolean;
  /**
   * The token must carry at least one scope starting with one of these prefixes (a Cognito resource server
   * identifier followed by `/`, e.g. `https://api.example.com/`): a second binding where there is no `aud`.
   */
  scopePrefixes?: readonly string[];
  /** Claims that must be present with exactly these string values (Cognito: `{ token_use: 'access' }`). */
  claimValues?: Readonly<Record<string, string>>;
}

/** A trusted issuer's token profile: a preset's name, or changes to a preset. */
export type TokenProfile = TokenProfileName | TokenProfileOptions;

/** A profile after validation: plain data (compared by value when a resolver answers again). */
export interface ResolvedTokenProfile {
  readonly name: string;
  readonly typ: readonly (string | null)[];
  readonly clientIdClaims: readonly string[];
  readonly requireJti: boolean | undefined;
  readonly scopeClaims: readonly string[];
  readonly appPermissionClaims: readonly string[];
  readonly audiences: readonly string[];
  readonly clientIds: readonly string[] | undefined;
  readonly requireAudience: boolean;
  readonly scopePrefixes: readonly string[];
  readonly claimValues: Readonly<Record<string, string>>;
}

type Preset = Omit<ResolvedTokenProfile, 'name' | 'audiences' | 'clientIds' | 'scopePrefixes'>;

const RFC9068: Preset = {
  typ: ['at+jwt'],
  clientIdClaims: ['client_id'],
  requireJti: undefined,
  scopeClaims: ['scope', 'scp'],
  appPermissionClaims: [],
  requireAudience: true,
  claimValues: {},
};

/**
 * Each preset changes only what its vendor's documentation says its access tokens do differently (the README's
 * "Token profiles" table; sources cited in test/conformance/vendor-profiles.test.ts). `at+jwt` stays accepted
 * everywhere: a vendor that turns RFC 9068 on keeps working.
 */
const PRESETS: Readonly<Record<TokenProfileName, Preset>> = {
  rfc9068: RFC9068,
  // Header typ JWT unless the client's "at+jwt" option is on; the client in azp (client_id in service-account
  // tokens). The payload typ "Bearer" tells an access token from an ID token ("ID") signed with the same keys.
  keycloak: {
    ...RFC9068,
    typ: ['at+jwt', 'JWT'],
    clientIdClaims: ['azp', 'client_id'],
    scopeClaims: ['scope'],
    claimValues: { typ: 'Bearer' },
  },
  // Auth0's default token profile: typ JWT, the client in azp, no jti. RBAC `permissions` only when listed.
  auth0: { ...RFC9068, typ: ['at+jwt', 'JWT'], clientIdClaims: ['client_id', 'azp'], requireJti: false, scopeClaims: ['scope'] },
  // Okta custom authorization servers: no typ, the client in cid, scopes in scp (an array).
  okta: { ...RFC9068, typ: ['at+jwt', null], clientIdClaims: ['cid'], scopeClaims: ['scp'] },
  // Entra ID v1.0/v2.0: typ JWT, the client in azp (v2.0) or appid (v1.0), no jti (uti), scopes in scp (a
  // string); roles are the application permissions in app-only tokens (which carry no scp).
  entra: {
    ...RFC9068,
    typ: ['at+jwt', 'JWT'],
    clientIdClaims: ['azp', 'appid'],
    requireJti: false,
    scopeClaims: ['scp'],
    appPermissionClaims: ['roles'],
  },
  // Cognito user pools: no typ, no aud (the client_id allow-list binds instead), token_use "access".
  cognito: { ...RFC9068, typ: ['at+jwt', null], scopeClaims: ['scope'], requireAudience: false, claimValues: { token_use: 'access' } },
};

/** The names of the built-in profiles. */
export const TOKEN_PROFILE_NAMES = Object.freeze(Object.keys(PRESETS) as TokenProfileName[]);

/** The default profile, resolved. */
export const DEFAULT_PROFILE: ResolvedTokenProfile = Object.freeze({
  name: 'rfc9068',
  ...RFC9068,
  audiences: [],
  clientIds: undefined,
  scopePrefixes: [],
});

function names(value: unknown, what: string, allowEmpty: boolean): readonly string[] {
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    fail(`${what} must be ${allowEmpty ? 'an' : 'a non-empty'} array of non-empty strings`);
  }
  return Object.freeze([...(value as string[])]);
}

/** Validate a trusted issuer's `profile`; throws {@link ConfigurationError} with a clear message. */
export function resolveTokenProfile(profile: TokenProfile | undefined, issuer: string): ResolvedTokenProfile {
  if (profile === undefined || profile === 'rfc9068') return DEFAULT_PROFILE;
  const o: TokenProfileOptions = typeof profile === 'string' ? { preset: profile } : profile;
  if (!o || typeof o !== 'object' || Array.isArray(o))
    fail(`profile of ${issuer} must be one of ${TOKEN_PROFILE_NAMES.join(', ')} or an object`);
  const known = new Set([
    'preset',
    'typ',
    'clientIdClaims',
    'requireJti',
    'scopeClaims',
    'appPermissionClaims',
    'audiences',
    'clientIds',
    'requireAudience',
    'scopePrefixes',
    'claimValues',
  ]);
  for (const k of Object.keys(o)) if (!known.has(k)) fail(`profile of ${issuer} has an unknown member ${JSON.stringify(k)}`);
  const name = o.preset ?? 'rfc9068';
  const base = Object.hasOwn(PRESETS, name)
    ? PRESETS[name]
    : fail(`profile of ${issuer}: unknown preset ${JSON.stringify(name)} (one of ${TOKEN_PROFILE_NAMES.join(', ')})`);
  const what = (m: string) => `profile.${m} of ${issuer}`;
  let typ = base.typ;
  if (o.typ !== undefined) {
    if (!Array.isArray(o.typ) || o.typ.length === 0 || !o.typ.every((t) => t === null || (typeof t === 'string' && t.length > 0)))
      fail(`${what('typ')} must be a non-empty array of media types (or null for "no typ")`);
    typ = Object.freeze([...o.typ]);
  }
  for (const b of ['requireJti', 'requireAudience'] as const)
    if (o[b] !== undefined && typeof o[b] !== 'boolean') fail(`${what(b)} must be a boolean`);
  const clientIds = o.clientIds === undefined ? undefined : names(o.clientIds, what('clientIds'), false);
  const requireAudience = o.requireAudience ?? base.requireAudience;
  // The token must be bound to this API somehow: without aud, only an explicit client allow-list does it.
  if (!requireAudience && !clientIds) {
    const which = name === 'cognito' ? '"cognito"' : 'without aud';
    fail(
      `profile ${which} of ${issuer} needs clientIds: with no aud in the token, ` +
        'the allow-list of the app clients that may call this API is what binds a token to it',
    );
  }
  let claimValues = base.claimValues;
  if (o.claimValues !== undefined) {
    if (
      !o.claimValues ||
      typeof o.claimValues !== 'object' ||
      Array.isArray(o.claimValues) ||
      !Object.values(o.claimValues).every((v) => typeof v === 'string')
    )
      fail(`${what('claimValues')} must map claim names to strings`);
    claimValues = Object.freeze({ ...o.claimValues });
  }
  return Object.freeze({
    name: typeof profile === 'string' ? name : `${name} (customised)`,
    typ,
    clientIdClaims: o.clientIdClaims === undefined ? base.clientIdClaims : names(o.clientIdClaims, what('clientIdClaims'), false),
    requireJti: o.requireJti ?? base.requireJti,
    scopeClaims: o.scopeClaims === undefined ? base.scopeClaims : names(o.scopeClaims, what('scopeClaims'), true),
    appPermissionClaims:
      o.appPermissionClaims === undefined ? base.appPermissionClaims : names(o.appPermissionClaims, what('appPermissionClaims'), true),
    audiences: o.audiences === undefined ? [] : names(o.audiences, what('audiences'), true),
    clientIds,
    requireAudience,
    scopePrefixes: o.scopePrefixes === undefined ? [] : names(o.scopePrefixes, what('scopePrefixes'), true),
    claimValues,
  });
}

/**
 * A profile compiled against the options, once per issuer: what the per-token checks read. For the default
 * profile these are exactly the RFC 9068 checks (the `requiredClaims` list unchanged, `client_id`, `scope`/`scp`).
 */
export interface TokenPolicy {
  readonly profile: ResolvedTokenProfile;
  readonly clockToleranceSeconds: number;
  /** `requiredClaims` with the profile's changes (`client_id` → the client claims, `jti`, `aud`). */
  readonly requiredClaims: readonly string[];
  /** Normalised accepted `typ` values (`''`: no typ), or undefined for RFC 9068's `at+jwt` alone. */
  readonly typ: ReadonlySet<string> | undefined;
  /** The client claim is required but is not `client_id` (whose presence `requiredClaims` checks). */
  readonly requireClient: boolean;
  /** The message of a missing client claim, built once. */
  readonly missingClient: string;
  /** The profile's `audiences`, or undefined when it names none. */
  readonly audiences: ReadonlySet<string> | undefined;
  readonly clientIds: ReadonlySet<string> | undefined;
  readonly claimValues: ReadonlyArray<readonly [string, string]>;
}

/** Normalise a `typ` for comparison: lower case, `application/` dropped when no other `/` follows (RFC 7515 §4.1.9). */
export function normaliseTyp(typ: string): string {
  const t = typ.toLowerCase();
  return t.startsWith('application/') && t.indexOf('/', 12) === -1 ? t.slice(12) : t;
}

/** Compile a resolved profile against the options' `requiredClaims` and leeway. */
export function compileProfile(
  profile: ResolvedTokenProfile,
  options: { requiredClaims: readonly string[]; clockToleranceSeconds: number },
): TokenPolicy {
  const { clientIdClaims } = profile;
  const standardClient = clientIdClaims.length === 1 && clientIdClaims[0] === 'client_id';
  let required = options.requiredClaims.filter((c) => {
    if (c === 'client_id') return standardClient;
    if (c === 'jti') return profile.requireJti !== false;
    if (c === 'aud') return profile.requireAudience;
    return true;
  });
  if (profile.requireJti === true && !required.includes('jti')) required = [...required, 'jti'];
  const standardTyp = profile.typ.length === 1 && profile.typ[0] === 'at+jwt';
  return Object.freeze({
    profile,
    clockToleranceSeconds: options.clockToleranceSeconds,
    requiredClaims:
      required.length === options.requiredClaims.length && required.every((c, i) => c === options.requiredClaims[i])
        ? options.requiredClaims
        : Object.freeze(required),
    typ: standardTyp ? undefined : new Set(profile.typ.map((t) => (t === null ? '' : normaliseTyp(t)))),
    requireClient: !standardClient && options.requiredClaims.includes('client_id'),
    missingClient: `the access token lacks the client claim (${clientIdClaims.join(' or ')})`,
    audiences: profile.audiences.length ? new Set(profile.audiences) : undefined,
    clientIds: profile.clientIds ? new Set(profile.clientIds) : undefined,
    claimValues: Object.freeze(Object.entries(profile.claimValues)),
  });
}

/** The client a token names under the profile: the first of its client claims that is present. */
export function clientIdOf(payload: Record<string, unknown>, profile: ResolvedTokenProfile): unknown {
  for (const c of profile.clientIdClaims) if (payload[c] !== undefined) return payload[c];
  return undefined;
}

/**
 * The granted scopes under the profile: the values of its scope claims; of its application-permission claims
 * only when no scope claim is present. Undefined when a claim has the wrong shape (the token is refused).
 */
export function scopesOf(payload: Record<string, unknown>, profile: ResolvedTokenProfile): string[] | undefined {
  const out: string[] = [];
  let found = false;
  for (const c of profile.scopeClaims) {
    const v = payload[c];
    if (v === undefined) continue;
    found = true;
    // RFC 9068 §2.2.3: `scope` is a space-delimited string, never an array.
    if (!addScopes(out, v, c !== 'scope')) return undefined;
  }
  // App permissions only in an app-only token: no scopes, and nothing saying a user is in it. Entra says so in
  // `idtyp` (`app` or `user`) where the optional claim is on; without it, an app-only token's `sub` is its `oid`.
  const userToken = payload.idtyp === undefined ? typeof payload.oid === 'string' && payload.oid !== payload.sub : payload.idtyp !== 'app';
  if (!found && !userToken) {
    for (const c of profile.appPermissionClaims) {
      const v = payload[c];
      if (v !== undefined && !addScopes(out, v, true)) return undefined;
    }
  }
  return out;
}

function addScopes(out: string[], v: unknown, arrays: boolean): boolean {
  if (typeof v === 'string') {
    for (const s of v.split(' ')) if (s) out.push(s);
    return true;
  }
  if (arrays && Array.isArray(v) && v.every((s) => typeof s === 'string')) {
    out.push(...(v as string[]));
    return true;
  }
  return false;
}
