/**
 * Token verification with a bounded cache: the per-request entry point of the core.
 *
 * The result of a full check (signature, issuer, type, time claims) is cached under a SHA-256 of the
 * token (never the token itself) until the earlier of the token's `exp` and `cache.maxTtlSeconds`;
 * every hit re-checks `exp` against the clock. The audience and the route's scopes are checked on
 * every request by the caller, outside the cache.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AuthorizationServerUnavailableError, InvalidTokenError, ResourceServerError } from '../errors.js';
import type { AccessTokenClaims, AuthContext } from '../auth-context.js';
import { resolveIssuerEntry, type ResolvedIssuer, type ResolvedOptions } from '../options.js';
import { closeImplications, GrantedScopes, scopesFromClaims } from '../scopes/requirement.js';
import { discoverAuthorizationServer } from '../authz-server/discovery.js';
import { importSecret, verifySignature, type JwsAlgorithm, type VerificationKey } from './jws.js';
import { RemoteKeySet } from './jwks.js';
import { checkClaims, checkHeader, decodeJws, type DecodedJws } from './jwt.js';

/** A verified token: the context route code sees, and what the caller re-checks per request. */
export interface VerifiedToken {
  readonly context: AuthContext;
  readonly granted: GrantedScopes;
  /** `exp` plus the leeway, in milliseconds: the token is refused from this instant on. */
  readonly expiresAtMs: number;
}

interface IssuerRuntime {
  config: ResolvedIssuer;
  keys: RemoteKeySet | undefined;
  secret: VerificationKey | undefined;
}

const MAX_DYNAMIC_ISSUERS = 100;

/** Verifies access tokens for one resource server. */
export class TokenVerifier {
  readonly #o: ResolvedOptions;
  readonly #issuers = new Map<string, IssuerRuntime>();
  readonly #dynamic: LRUCache<string, IssuerRuntime> | undefined;
  readonly #cache: LRUCache<string, VerifiedToken> | undefined;
  readonly #implications: Map<string, readonly string[]>;

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.#implications = closeImplications(options.implications);
    for (const config of options.issuers) this.#issuers.set(config.issuer, this.#runtime(config));
    if (options.resolveIssuer) this.#dynamic = new LRUCache({ max: MAX_DYNAMIC_ISSUERS });
    if (options.cache) {
      this.#cache = new LRUCache<string, VerifiedToken>({
        max: options.cache.maxEntries,
        maxSize: options.cache.maxBytes,
        // An estimate of the entry's heap cost: the decoded claims dominate.
        sizeCalculation: (v) => 256 + (v.context.claims as unknown as { [SIZE]: number })[SIZE],
        ttl: options.cache.maxTtlSeconds * 1000,
      });
    }
  }

  /** Fetch every configured issuer's keys now, so the first request does not wait. Never throws. */
  async warmUp(): Promise<void> {
    await Promise.all([...this.#issuers.values()].map((r) => r.keys?.warm()));
  }

  /**
   * Verify a token. Returns synchronously when the answer is known now (cache hit, or keys already
   * loaded: the signature check itself is synchronous); a promise when keys must be fetched.
   * Throws/rejects with {@link InvalidTokenError} or {@link AuthorizationServerUnavailableError}.
   */
  verify(token: string): VerifiedToken | Promise<VerifiedToken> {
    const cache = this.#cache;
    let key: string | undefined;
    if (cache) {
      key = hash('sha256', token, 'base64url'); // one-shot: ~40 % cheaper than createHash here
      const hit = cache.get(key);
      if (hit) {
        if (Date.now() < hit.expiresAtMs) return hit;
        cache.delete(key);
        throw new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the access token has expired');
      }
    }
    const jws = decodeJws(token);
    const iss = jws.payload.iss;
    if (typeof iss !== 'string') throw new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token has no issuer');
    const runtime = this.#issuers.get(iss) ?? this.#dynamic?.get(iss);
    if (runtime) return this.#verifyWith(runtime, jws, key);
    if (!this.#o.resolveIssuer) throw new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token issuer is not trusted');
    return this.#resolve(iss).then((r) => this.#verifyWith(r, jws, key));
  }

  /** Drop every cached result (for tests and key-compromise drills). */
  clearCache(): void {
    this.#cache?.clear();
  }

  async #resolve(iss: string): Promise<IssuerRuntime> {
    let entry;
    try {
      entry = await this.#o.resolveIssuer!(iss);
    } catch (err) {
      this.#o.logger.error('resolveIssuer threw', { reason: err instanceof Error ? err.message : String(err) });
      throw new AuthorizationServerUnavailableError('the issuer could not be resolved');
    }
    if (entry === undefined) throw new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token issuer is not trusted');
    let config: ResolvedIssuer;
    try {
      config = resolveIssuerEntry(entry);
    } catch (err) {
      this.#o.logger.error('resolveIssuer returned an invalid issuer', { reason: err instanceof Error ? err.message : String(err) });
      throw new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token issuer is not trusted');
    }
    // The resolver must vouch for exactly this issuer (never trust iss A with the settings of issuer B).
    if (config.issuer !== iss) throw new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token issuer is not trusted');
    const r = this.#dynamic!.get(iss) ?? this.#runtime(config);
    this.#dynamic!.set(iss, r);
    return r;
  }

  #runtime(config: ResolvedIssuer): IssuerRuntime {
    const o = this.#o;
    let jwksUri: Promise<string> | undefined;
    const uri = (): string | Promise<string> => {
      if (config.jwksUri) return config.jwksUri;
      jwksUri ??= discoverAuthorizationServer(config.issuer, { timeoutMs: o.httpTimeoutMs, maxBytes: o.httpMaxResponseBytes }).then(
        ({ metadata }) => {
          if (typeof metadata.jwks_uri !== 'string') throw new Error('the metadata has no jwks_uri');
          return metadata.jwks_uri;
        },
        (err: unknown) => {
          jwksUri = undefined; // retry discovery on a later request
          throw err;
        },
      );
      return jwksUri;
    };
    const hasAsymmetric = [...config.algorithms].some((a) => !a.startsWith('HS'));
    return {
      config,
      keys: hasAsymmetric
        ? new RemoteKeySet(uri, { cooldownMs: o.jwksCooldownMs, maxAgeMs: o.jwksMaxAgeMs, timeoutMs: o.httpTimeoutMs, maxBytes: o.httpMaxResponseBytes, logger: o.logger })
        : undefined,
      secret: config.secret !== undefined ? importSecret(config.secret) : undefined,
    };
  }

  #verifyWith(runtime: IssuerRuntime, jws: DecodedJws, cacheKey: string | undefined): VerifiedToken | Promise<VerifiedToken> {
    const alg = checkHeader(jws.header, runtime.config);
    const kid = jws.header.kid as string | undefined;
    if (alg.startsWith('HS')) {
      // HMAC only with the configured secret, never with a key from the JWKS (RFC 8725 §2.1).
      return this.#finish(runtime, jws, alg, runtime.secret ? [runtime.secret] : [], cacheKey);
    }
    if (!runtime.keys) throw new InvalidTokenError('ERR_TOKEN_ALGORITHM', 'the access token is signed with an algorithm this server does not accept');
    const candidates = runtime.keys.candidates(kid, alg);
    if (Array.isArray(candidates)) return this.#finish(runtime, jws, alg, candidates, cacheKey);
    return candidates.then((c) => this.#finish(runtime, jws, alg, c, cacheKey), (err: unknown) => {
      if (err instanceof ResourceServerError) throw err;
      throw new AuthorizationServerUnavailableError('the authorization server keys could not be fetched');
    });
  }

  #finish(runtime: IssuerRuntime, jws: DecodedJws, alg: JwsAlgorithm, keys: VerificationKey[], cacheKey: string | undefined): VerifiedToken {
    if (keys.length === 0) throw new InvalidTokenError('ERR_TOKEN_KEY_NOT_FOUND', 'the access token was signed with an unknown key');
    let ok = false;
    // Several candidates only when the token names no kid; bounded by the size of the key set.
    for (const k of keys) if ((ok = verifySignature(alg, k.key, jws.data, jws.signature))) break;
    if (!ok) throw new InvalidTokenError('ERR_TOKEN_SIGNATURE', 'the access token signature is invalid');
    const nowSeconds = Date.now() / 1000;
    const claims = checkClaims(jws.payload, runtime.config.issuer, this.#o, nowSeconds);
    const scopes = scopesFromClaims(claims.scope, claims.scp);
    if (!scopes) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the access token scope claim must be a space-delimited string');
    const verified = this.#build(claims, scopes, jws.payloadLength);
    if (this.#cache && cacheKey) {
      const ttl = Math.min(verified.expiresAtMs - Date.now(), (this.#o.cache as { maxTtlSeconds: number }).maxTtlSeconds * 1000);
      if (ttl > 0) this.#cache.set(cacheKey, verified, { ttl });
    }
    return verified;
  }

  #build(claims: AccessTokenClaims, scopes: string[], size: number): VerifiedToken {
    const granted = new GrantedScopes(scopes, this.#implications, this.#o.wildcards);
    Object.defineProperty(claims, SIZE, { value: size * 2, enumerable: false });
    const context: AuthContext = Object.freeze({
      issuer: claims.iss,
      subject: claims.sub,
      clientId: claims.client_id,
      audience: Object.freeze(typeof claims.aud === 'string' ? [claims.aud] : [...claims.aud]),
      scopes: granted.granted,
      expiresAt: claims.exp,
      validatedBy: 'jwt' as const,
      claims: deepFreeze(claims),
      hasScope: (scope: string) => granted.has(scope),
    });
    return Object.freeze({ context, granted, expiresAtMs: (claims.exp + this.#o.clockToleranceSeconds) * 1000 });
  }
}

const SIZE = Symbol('size');

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
