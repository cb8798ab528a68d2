/**
 * Token verification with a bounded cache: the per-request entry point of the core, and a small router.
 *
 * The result of a full check (signature, issuer, type, time claims) is cached under a SHA-256 of the token
 * (never the token itself) until the earlier of the token's `exp` and `cache.maxTtlSeconds`; every hit re-checks
 * `exp` against the clock, and is believed only while the trust of its issuer holds (one number compared). The
 * audience and the route's scopes are checked on every request by the caller, outside the cache.
 *
 * The parts: {@link IssuerRegistry} (which issuers are trusted, their keys and clients), {@link JwtVerifier} (local
 * validation), {@link IntrospectionVerifier} (RFC 7662, single flight, shared verdicts), {@link VerdictCache}.
 */
import { InvalidTokenError, type InvalidTokenCode } from '../answers/errors.js';
import type { ResolvedIssuer, ResolvedOptions } from '../config/options.js';
import { closeImplications } from '../scopes/requirement.js';
import { AsHealth } from '../http/as-failure.js';
import { decodeJws, hasTwoDots, type DecodedJws } from './jwt.js';
import type { TokenPolicy } from './profiles.js';
import { assertTokenSyntax } from './extract.js';
import { IssuerRegistry, notTrusted } from './issuer-registry.js';
import { JwtVerifier } from './jwt-verifier.js';
import { IntrospectionVerifier } from './introspection-verifier.js';
import { VerdictCache } from './verdict-cache.js';
import { VerdictParts } from './verdict-parts.js';
import { Refusal, type VerifiedToken } from './verdict.js';
import type { MaybePromise } from '../types/maybe-promise.js';

export type { VerifiedToken } from './verdict.js';

/**
 * Verifies access tokens for one resource server.
 * @internal
 */
export class TokenVerifier {
  readonly #issuers: IssuerRegistry;
  readonly #cache: VerdictCache | undefined;
  readonly #jwt: JwtVerifier;
  readonly #introspection: IntrospectionVerifier;

  constructor(options: ResolvedOptions) {
    // Strings, audience arrays and scope sets shared by the verdicts.
    const parts = new VerdictParts(closeImplications(options.implications), options.wildcards);
    this.#cache = options.cache ? new VerdictCache(options.cache) : undefined;
    // Failures of calls to authorization servers, logged once per state change of each (issuer, step).
    this.#issuers = new IssuerRegistry(options, new AsHealth(options.logger));
    this.#jwt = new JwtVerifier(this.#cache, parts);
    this.#introspection = new IntrospectionVerifier(options, this.#cache, parts);
  }

  /** Fetch every configured issuer's keys now, so the first request does not wait. Never throws. */
  warmUp(): Promise<void> {
    return this.#issuers.warmUp();
  }

  /**
   * Verify a token. Returns synchronously when the answer is known now (cache hit, or keys already
   * loaded: the signature check itself is synchronous); a promise when keys must be fetched.
   * Throws/rejects with {@link InvalidTokenError} or {@link AuthorizationServerUnavailableError}.
   */
  verify(token: string): MaybePromise<VerifiedToken> {
    const cache = this.#cache;
    let key: string | undefined;
    if (cache) {
      key = VerdictCache.keyOf(token);
      const hit = cache.get(key);
      if (hit) {
        const now = Date.now();
        if (hit instanceof Refusal) {
          if (now < hit.untilMs) throw new InvalidTokenError(hit.error.code as InvalidTokenCode, hit.error.message);
        } else if (!(now < hit.trust.trustedUntilMs)) {
          // The resolver's answer this verdict rests on has lapsed or was withdrawn: ask it again, verify anew.
        } else if (now < hit.freshUntilMs) return hit;
        else if (now >= hit.expiresAtMs) {
          cache.delete(key);
          throw new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the access token has expired');
        } else return this.#verifyUncached(token, key, hit); // an introspection answer past its cache life
        cache.delete(key);
      }
    }
    return this.#verifyUncached(token, key, undefined);
  }

  #verifyUncached(token: string, key: string | undefined, stale: VerifiedToken | undefined): MaybePromise<VerifiedToken> {
    assertTokenSyntax(token);
    const opaque = this.#issuers.opaque;
    // A token that is not three dot-separated parts is no JWS: straight to introspection, without the cost
    // of a decoding error (an Error and its stack) on every opaque token.
    if (opaque && !hasTwoDots(token)) return this.#introspection.verify(opaque, token, key, stale);
    let jws: DecodedJws | undefined;
    try {
      jws = decodeJws(token);
    } catch (err) {
      // Not a JWT: an opaque token, for the introspecting issuer if there is one.
      if (opaque) return this.#introspection.verify(opaque, token, key, stale);
      throw err;
    }
    const iss = jws.payload.iss;
    const runtime = typeof iss === 'string' ? this.#issuers.trusted(iss) : undefined;
    if (runtime) {
      if (runtime.config.validation === 'introspection') return this.#introspection.verify(runtime, token, key, stale);
      return this.#jwt.verify(runtime, jws, key);
    }
    // A JWS whose issuer is not trusted for local validation: introspected where an issuer does that (auto mode).
    if (typeof iss === 'string' && this.#issuers.resolves) {
      const decoded = jws;
      return this.#issuers
        .resolve(iss)
        .then((resolved) =>
          resolved.config.validation === 'introspection'
            ? this.#introspection.verify(resolved, token, key, stale)
            : this.#jwt.verify(resolved, decoded, key),
        );
    }
    if (opaque) return this.#introspection.verify(opaque, token, key, stale);
    throw typeof iss === 'string' ? notTrusted() : new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token has no issuer');
  }

  /**
   * The settings of a trusted issuer (configured, or vouched for by the resolver and not forgotten), without
   * touching its recency: what the debug channel explains a refusal against.
   */
  issuerPolicy(iss: string): { readonly config: ResolvedIssuer; readonly policy: TokenPolicy } | undefined {
    return this.#issuers.peek(iss);
  }

  /** Drop every cached result (for tests and key-compromise drills). */
  clearCache(): void {
    this.#cache?.clear();
  }

  /**
   * Withdraw the trust `resolveIssuer` gave `iss`, at once: its tokens are refused from now on (cached verdicts,
   * requests under way and an answer of the resolver still awaited included) until the resolver vouches for it
   * again, which the next token of that issuer asks. Its keys, discovery state and introspection client are
   * dropped. True when there was something to forget; a configured issuer is never forgotten (false).
   */
  forgetIssuer(iss: string): boolean {
    return this.#issuers.forget(iss);
  }
}
