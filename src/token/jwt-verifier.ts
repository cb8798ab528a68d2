/**
 * Local validation of a JWT access token (RFC 9068 §4, RFC 8725): header rules, the key, the signature, the
 * claims, then the verified token, cached from its second sight.
 *
 * Does NOT check the audience or the route's scopes: the caller does, per request and outside the cache, since
 * one verified token may be presented to several resources.
 */
import { AuthorizationServerUnavailableError, InvalidTokenError, ResourceServerError } from '../answers/errors.js';
import type { AccessTokenClaims } from './auth-context.js';
import { verifySignature, type JwsAlgorithm, type VerificationKey } from './jws.js';
import { keyFits } from './key-rules.js';
import { checkClaims, checkHeader, type DecodedJws } from './jwt.js';
import { scopesOf } from './profiles.js';
import { WITHDRAWN, notTrusted, type IssuerRuntime } from './issuer-registry.js';
import { buildVerdict, type VerifiedToken } from './verdict.js';
import type { VerdictCache } from './verdict-cache.js';
import type { VerdictParts } from './verdict-parts.js';
import type { MaybePromise } from '../types/maybe-promise.js';

/** Verifies decoded JWTs against their issuer's settings and keys. */
export class JwtVerifier {
  readonly #cache: VerdictCache | undefined;
  readonly #parts: VerdictParts;

  constructor(cache: VerdictCache | undefined, parts: VerdictParts) {
    this.#cache = cache;
    this.#parts = parts;
  }

  /**
   * Verify `jws` for `runtime`'s issuer; synchronous when its keys are loaded. `cacheKey`: the token's cache key
   * (undefined without a cache).
   */
  verify(runtime: IssuerRuntime, jws: DecodedJws, cacheKey: string | undefined): MaybePromise<VerifiedToken> {
    const alg = checkHeader(jws.header, runtime.config, runtime.policy);
    const kid = jws.header.kid as string | undefined;
    if (alg.startsWith('HS')) {
      // HMAC only with the configured secret, never with a key from the JWKS (RFC 8725 §2.1), and only when
      // the secret is as long as the hash output (RFC 7518 §3.2: a 32-byte secret serves HS256, not HS512).
      const secrets = runtime.secret && keyFits(runtime.secret, alg) ? [runtime.secret] : [];
      return this.#finish(runtime, jws, alg, secrets, cacheKey);
    }
    if (!runtime.keys)
      throw new InvalidTokenError('ERR_TOKEN_ALGORITHM', 'the access token is signed with an algorithm this server does not accept');
    const candidates = runtime.keys.candidates(kid, alg);
    if (Array.isArray(candidates)) return this.#finish(runtime, jws, alg, candidates, cacheKey);
    return candidates.then(
      (keys) => this.#finish(runtime, jws, alg, keys, cacheKey),
      (err: unknown) => {
        if (err instanceof ResourceServerError) throw err;
        throw new AuthorizationServerUnavailableError('the authorization server keys could not be fetched');
      },
    );
  }

  #finish(
    runtime: IssuerRuntime,
    jws: DecodedJws,
    alg: JwsAlgorithm,
    keys: VerificationKey[],
    cacheKey: string | undefined,
  ): VerifiedToken {
    if (runtime.trustedUntilMs === WITHDRAWN) throw notTrusted(); // forgotten while the keys were fetched
    if (keys.length === 0) throw new InvalidTokenError('ERR_TOKEN_KEY_NOT_FOUND', 'the access token was signed with an unknown key');
    let ok = false;
    // Several candidates only when the token names no kid; bounded by the size of the key set.
    for (const key of keys) if ((ok = verifySignature(alg, key.key, jws.data, jws.signature))) break;
    if (!ok) throw new InvalidTokenError('ERR_TOKEN_SIGNATURE', 'the access token signature is invalid');
    const nowSeconds = Date.now() / 1000;
    const policy = runtime.policy;
    const cache = this.#cache;
    // Admitted on its second sight only: a token seen once costs no insert and leaves no long-lived garbage.
    const admitted = cache !== undefined && cacheKey !== undefined && cache.admits(cacheKey);
    // Signature verified: the repeating claims of a token to be cached may now point at shared copies (checked
    // below as they are).
    if (admitted) this.#parts.shareClaims(jws.payload, runtime.config.issuer);
    const clientId = checkClaims(jws.payload, runtime.config.issuer, policy, nowSeconds) as string | undefined;
    const claims = jws.payload as AccessTokenClaims & { exp: number };
    const scopes = scopesOf(claims, policy.profile);
    if (!scopes) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the access token scope claim must be a space-delimited string');
    // A second binding where there is no aud (Cognito): a scope of this API's resource server.
    const prefixes = policy.profile.scopePrefixes;
    if (prefixes.length && !scopes.some((scope) => prefixes.some((prefix) => scope.startsWith(prefix)))) {
      throw new InvalidTokenError('ERR_TOKEN_AUDIENCE', 'the access token carries no scope of this resource');
    }
    const expiresAtMs = (claims.exp + policy.clockToleranceSeconds) * 1000;
    const verdict = buildVerdict(
      this.#parts,
      claims,
      {
        clientId,
        scopes,
        validatedBy: 'jwt',
        expiresAtMs,
        // An aud that is present must name this API, even where the profile binds by client instead ([] names nothing).
        audienceRequired: policy.profile.requireAudience || claims.aud !== undefined,
        issuerAudiences: policy.audiences,
        freshUntilMs: expiresAtMs,
        header: jws.header,
      },
      runtime,
    );
    if (admitted) cache.keepJwt(cacheKey, verdict, jws.payloadLength);
    return verdict;
  }
}
