/**
 * An attribute provider (OpenID Connect Core §5.6.2): a resource server that holds user attributes and
 * answers an OpenID Provider, or a client holding the OP's access token, with the claims the token's
 * scopes allow, as a JWT signed with the provider's key (the form distributed and aggregated claims
 * need) or as JSON. Framework-agnostic: the Express router is `src/express/attribute-provider.ts`.
 *
 * Every refusal is one of the kit's RFC 6750 errors (401 `invalid_token`, 403 `insufficient_scope`); an
 * unknown `sub` is a 404 whose body is the same for every subject, so it never tells whether anyone else
 * exists.
 */
import { SignJWT } from 'jose';
import type { JWK } from '../token/keys.js';
import type { AuthContext } from '../token/auth-context.js';
import { ConfigurationError, InsufficientScopeError, InvalidTokenError } from '../answers/errors.js';
import { authorizationDetailsFor } from '../claims/authorization-details.js';
import { assertScope, challengeScopes, requirement, type ScopeRequirement } from '../scopes/requirement.js';
import { ASYMMETRIC_ALGORITHMS } from '../token/jws.js';
import { negotiateClaimsFormat, type ClaimsFormat } from './claims-format.js';
import { prepareKey, publicPart, SECRET_MEMBERS, type ClaimsSigningKey, type PreparedKey } from './claims-signing-key.js';

/** The standard scopes and the claims each requests (OpenID Connect Core §5.4). */
export const STANDARD_SCOPE_CLAIMS: Readonly<Record<'profile' | 'email' | 'address' | 'phone', readonly string[]>> = Object.freeze({
  profile: Object.freeze([
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ]),
  email: Object.freeze(['email', 'email_verified']),
  address: Object.freeze(['address']),
  phone: Object.freeze(['phone_number', 'phone_number_verified']),
});

/** Claim names a claims JWT sets itself; no scope may map to them. */
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'iat', 'exp', 'nbf', 'jti', 'azp', '_claim_names', '_claim_sources']);

/** Finds a user's attributes by the token's `sub`; undefined when there is no such user. */
export type UserLookup = (sub: string) => Promise<Record<string, unknown> | undefined>;

/**
 * The Claims Provider's own identifier for a user, given the user's attributes and the access token's `sub`
 * (the OpenID Provider's identifier for the user); undefined for none.
 */
export type ClaimsProviderSubject = (user: Readonly<Record<string, unknown>>, tokenSubject: string) => string | undefined;

/** Options of {@link AttributeProvider}. */
export interface AttributeProviderOptions {
  /** The provider's identifier: `iss` of its claims JWTs. Required for JWT answers. */
  issuer?: string;
  /** Looks a user up by `sub`. */
  findUser: UserLookup;
  /**
   * Scope → the claim names it releases. Merged over the standard OpenID scopes (a scope named here
   * replaces the standard one): `{ credit: ['credit_score'] }`.
   */
  scopes?: Readonly<Record<string, readonly string[]>>;
  /** Include `profile`, `email`, `address` and `phone` (OpenID Connect Core §5.4). Default true. */
  standardScopes?: boolean;
  /** The signing key of claims JWTs. Without it the provider answers JSON only. */
  signingKey?: ClaimsSigningKey;
  /** More public keys to publish in the JWKS (a previous key during a rotation). */
  additionalPublicKeys?: readonly JWK[];
  /**
   * The formats offered, the first being the default; the other is chosen by the request's `Accept`
   * (`application/jwt` or `application/json`, see {@link negotiateClaimsFormat}), and answers then carry
   * `Vary: Accept`. Default `['jwt']` with a signing key, else `['json']`.
   */
  formats?: readonly ClaimsFormat[];
  /**
   * The `sub` of claims JWTs. OpenID Connect Core §5.6.2: an aggregated or distributed claims JWT SHOULD NOT
   * contain `sub` unless it is the End-User's identifier at the Claims Provider (this provider), not at the
   * OpenID Provider. The access token's `sub` is the OP's identifier, so by default the JWT has no `sub`.
   * Return this provider's own identifier for the user to include it (e.g. `(user) => user.id`, or
   * `(_user, sub) => sub` when the OP and this provider share user identifiers); undefined leaves it out.
   * JSON answers always carry the token's `sub` (whose claims they are, as UserInfo does).
   */
  claimsProviderSubject?: ClaimsProviderSubject;
  /** Lifetime of a claims JWT (`exp - iat`), seconds. Default 300. */
  ttlSeconds?: number;
  /**
   * The RFC 9396 `authorization_details` type this provider implements. Entries of this type may carry
   * `claims` (an array of claim names) to narrow what the scopes release, and must name this provider in
   * `locations` when they have any (CONFORMANCE 74); entries of other types are ignored (CONFORMANCE 73).
   * Default: none (every entry is ignored).
   */
  authorizationDetailsType?: string;
}

/** One request to the claims endpoint. */
export interface ClaimsRequest {
  /** The validated access token (already checked to be issued for this provider, RFC 8707). */
  token: AuthContext;
  /** This provider's resource identifier(s), which `authorization_details` `locations` must name. */
  resource: string | readonly string[];
  /** The request's `Accept` header. */
  accept?: string | undefined;
  /** The body format of a 404 (the resource server's `errorResponse`). Default `json`. */
  errorFormat?: 'json' | 'problem';
}

/** A ready-to-send answer of the claims endpoint (200 with the claims, or 404). */
export interface ClaimsAnswer {
  status: 200 | 404;
  headers: Record<string, string>;
  body: string;
}

/** A claim group: one scope and the claims it releases (registered as one UMA resource). */
export interface ClaimGroup {
  readonly scope: string;
  readonly claims: readonly string[];
}

/** Whom a claims JWT is for: the client (`aud`) and, when given, the user's identifier here (`sub`). */
export interface ClaimsJwtRecipient {
  /** The client the JWT is for: its `aud`. */
  audience: string;
  /** This provider's own identifier for the user (its `sub`); undefined leaves `sub` out. */
  subject?: string | undefined;
}

/** The claims logic of an attribute provider: which claims a token may have, and the signed answer. */
export class AttributeProvider {
  /** `iss` of the claims JWTs. */
  readonly issuer: string | undefined;
  /** Scope → claim names, after merging the standard scopes and validation. */
  readonly scopeClaims: ReadonlyMap<string, readonly string[]>;
  /** The formats offered, the default first. */
  readonly formats: readonly ClaimsFormat[];
  readonly #findUser: UserLookup;
  readonly #signingKey: ClaimsSigningKey | undefined;
  readonly #additionalPublicKeys: readonly JWK[];
  readonly #ttlSeconds: number;
  readonly #detailsType: string | undefined;
  readonly #providerSubject: ClaimsProviderSubject | undefined;
  readonly #requirement: ScopeRequirement;
  #prepared: Promise<PreparedKey> | undefined;

  /** Validates the options now: a mistake throws {@link ConfigurationError}. */
  constructor(options: AttributeProviderOptions) {
    if (!options || typeof options.findUser !== 'function')
      throw new ConfigurationError('attributeProvider needs findUser: (sub) => Promise<claims | undefined>');
    const merged: Record<string, readonly string[]> = {
      ...(options.standardScopes === false ? {} : STANDARD_SCOPE_CLAIMS),
      ...options.scopes,
    };
    const map = new Map<string, readonly string[]>();
    for (const [scope, claims] of Object.entries(merged)) {
      assertScope(scope);
      if (!Array.isArray(claims) || !claims.every((c) => typeof c === 'string' && c.length > 0))
        throw new ConfigurationError(`the claims of scope ${scope} must be an array of claim names`);
      for (const c of claims)
        if (RESERVED_CLAIMS.has(c))
          throw new ConfigurationError(`claim ${c} of scope ${scope} is set by the provider itself and cannot be released by a scope`);
      map.set(scope, Object.freeze([...claims]));
    }
    if (map.size === 0) throw new ConfigurationError('attributeProvider needs at least one scope that releases claims');
    this.scopeClaims = map;
    this.#requirement = requirement([], [...map.keys()]);

    const signingKey = options.signingKey;
    if (signingKey !== undefined) {
      if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(signingKey.alg))
        throw new ConfigurationError(`the claims signing algorithm must be asymmetric (${ASYMMETRIC_ALGORITHMS.join(', ')})`);
      if (signingKey.publicJwk && SECRET_MEMBERS.some((m) => m in signingKey.publicJwk!))
        throw new ConfigurationError('signingKey.publicJwk holds private key material');
    }
    this.#signingKey = signingKey;
    const formats = options.formats ?? [signingKey ? 'jwt' : 'json'];
    if (formats.length === 0 || !formats.every((f) => f === 'jwt' || f === 'json'))
      throw new ConfigurationError('formats must name "jwt" and/or "json"');
    if (formats.includes('jwt') && !signingKey) throw new ConfigurationError('JWT answers need a signingKey');
    if (formats.includes('jwt') && !options.issuer) throw new ConfigurationError('JWT answers need the provider issuer (their iss)');
    this.formats = Object.freeze([...new Set(formats)]);
    this.issuer = options.issuer;
    this.#findUser = options.findUser;
    this.#additionalPublicKeys = (options.additionalPublicKeys ?? []).map(publicPart);
    const ttlSeconds = options.ttlSeconds ?? 300;
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new ConfigurationError('ttlSeconds must be a positive number');
    this.#ttlSeconds = Math.floor(ttlSeconds);
    this.#detailsType = options.authorizationDetailsType;
    if (options.claimsProviderSubject !== undefined && typeof options.claimsProviderSubject !== 'function')
      throw new ConfigurationError('claimsProviderSubject must be a function (user, sub) => string | undefined');
    this.#providerSubject = options.claimsProviderSubject;
  }

  /** The claim groups (one per scope). */
  claimGroups(): ClaimGroup[] {
    return [...this.scopeClaims].map(([scope, claims]) => ({ scope, claims }));
  }

  /**
   * The claim names a token may receive: the union over the scopes it holds (honouring the resource
   * server's implication and wildcard rules), narrowed by `authorization_details` of the implemented type.
   * Throws {@link InsufficientScopeError} when it holds no claim scope or its details deny this provider,
   * {@link InvalidTokenError} when its `authorization_details` are malformed.
   */
  allowedClaims(token: AuthContext, resource: string | readonly string[]): Set<string> {
    const details =
      this.#detailsType === undefined
        ? []
        : authorizationDetailsFor(token.claims, { types: { [this.#detailsType]: ['claims'] }, resource });
    const allowed = new Set<string>();
    let held = false;
    for (const [scope, claims] of this.scopeClaims) {
      if (!token.hasScope(scope)) continue;
      held = true;
      for (const c of claims) allowed.add(c);
    }
    if (!held) throw new InsufficientScopeError(challengeScopes(this.#requirement));
    // RFC 9396: never broader than either grant: the details' `claims`, when every entry names some, narrow.
    if (details.length > 0 && details.every((d) => d.claims !== undefined)) {
      const named = new Set<string>();
      for (const d of details) {
        if (!Array.isArray(d.claims) || !d.claims.every((c) => typeof c === 'string'))
          throw new InsufficientScopeError([], 'the access token authorization_details claims must be an array of claim names');
        for (const c of d.claims as string[]) named.add(c);
      }
      for (const c of allowed) if (!named.has(c)) allowed.delete(c);
    }
    return allowed;
  }

  /**
   * Answer a claims request: 200 with the allowed claims of the token's `sub` (a JWT or JSON, by
   * {@link negotiateClaimsFormat}), or 404 when the user is unknown. Throws the kit's RFC 6750 errors.
   */
  async answer(request: ClaimsRequest): Promise<ClaimsAnswer> {
    const { token } = request;
    const allowed = this.allowedClaims(token, request.resource);
    const sub = token.subject;
    if (typeof sub !== 'string' || sub === '') throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the access token names no subject');
    const format = negotiateClaimsFormat(request.accept, this.formats);
    const client = token.clientId ?? (typeof token.claims.azp === 'string' ? token.claims.azp : undefined);
    if (format === 'jwt' && !client) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the access token names no client');
    const user = await this.#findUser(sub);
    if (user === undefined || user === null || typeof user !== 'object') return notFound(request.errorFormat ?? 'json');
    const claims: Record<string, unknown> = {};
    for (const name of allowed) {
      if (!Object.prototype.hasOwnProperty.call(user, name)) continue;
      const v = user[name];
      // OpenID Connect Core §5.3.2: a claim without a value is omitted, never null.
      if (v !== undefined && v !== null) claims[name] = v;
    }
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (this.formats.length > 1) headers.vary = 'accept';
    if (format === 'json') {
      headers['content-type'] = 'application/json; charset=utf-8';
      return { status: 200, headers, body: JSON.stringify({ sub, ...claims }) };
    }
    headers['content-type'] = 'application/jwt';
    return { status: 200, headers, body: await this.sign(claims, { audience: client!, subject: this.#jwtSubject(user, sub) }) };
  }

  /** OpenID Connect Core §5.6.2: the claims JWT's `sub` is the provider's own identifier for the user, or absent. */
  #jwtSubject(user: Readonly<Record<string, unknown>>, tokenSubject: string): string | undefined {
    if (!this.#providerSubject) return undefined;
    const own: unknown = this.#providerSubject(user, tokenSubject);
    if (own === undefined) return undefined;
    if (typeof own !== 'string' || own === '')
      throw new ConfigurationError('claimsProviderSubject returned something that is not a non-empty string');
    return own;
  }

  /**
   * Sign claims for the client `audience`: `iss`, `aud`, `iat`, `exp`, the claims, and `sub` when `subject` is
   * given (only this provider's own identifier for the user belongs there, OpenID Connect Core §5.6.2).
   */
  async sign(claims: Readonly<Record<string, unknown>>, { audience, subject }: ClaimsJwtRecipient): Promise<string> {
    const { key, publicJwk } = await this.#key();
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(claims)) if (!RESERVED_CLAIMS.has(k)) payload[k] = v;
    if (subject !== undefined) payload.sub = subject;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: this.#signingKey!.alg, kid: publicJwk.kid!, typ: 'JWT' })
      .setIssuer(this.issuer!)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.#ttlSeconds)
      .sign(key);
  }

  /** The provider's JWKS (public keys only): what the OP and relying parties verify claims JWTs with. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const keys = this.#signingKey ? [(await this.#key()).publicJwk] : [];
    return { keys: [...keys, ...this.#additionalPublicKeys] };
  }

  /** Prepare the signing key now (a wrong key or algorithm rejects with {@link ConfigurationError}). */
  async ready(): Promise<void> {
    if (this.#signingKey) await this.#key();
  }

  #key(): Promise<PreparedKey> {
    if (!this.#signingKey || !this.issuer)
      return Promise.reject(new ConfigurationError('signing claims needs a signingKey and the provider issuer'));
    this.#prepared ??= prepareKey(this.#signingKey);
    return this.#prepared;
  }
}

function notFound(format: 'json' | 'problem'): ClaimsAnswer {
  // The same text for every subject: nothing tells whether other users exist.
  const detail = 'no claims are available for this access token';
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (format === 'problem') {
    headers['content-type'] = 'application/problem+json';
    return {
      status: 404,
      headers,
      body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail, error: 'not_found' }),
    };
  }
  headers['content-type'] = 'application/json; charset=utf-8';
  return { status: 404, headers, body: JSON.stringify({ error: 'not_found', error_description: detail }) };
}
