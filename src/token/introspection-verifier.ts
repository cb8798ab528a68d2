/**
 * Validation by introspection (RFC 7662): one call to the authorization server per token however many requests
 * carry it at the same time (single flight), and, with a shared store, one call across replicas; the answer is
 * checked, cached at once and shared; a refusal is remembered briefly; an AS that cannot answer gives a 503, or a
 * cached active answer within the configured stale window.
 *
 * Does NOT check the audience or the route's scopes: the caller does, per request.
 */
import { AuthorizationServerUnavailableError, InvalidTokenError, ResourceServerError } from '../answers/errors.js';
import type { ResolvedOptions } from '../config/options.js';
import { scopesFromClaims } from '../scopes/requirement.js';
import { isAtomicStore, type CacheStore } from '../stores/store.js';
import type { Introspector } from './introspection.js';
import { checkIntrospection } from './introspection-answer.js';
import { parseSharedVerdict, type SharedVerdict } from './shared-verdict.js';
import { WITHDRAWN, notTrusted, type IssuerRuntime } from './issuer-registry.js';
import { buildVerdict, type VerifiedToken } from './verdict.js';
import type { VerdictCache } from './verdict-cache.js';
import type { VerdictParts } from './verdict-parts.js';

/** An introspection in flight, and the issuer state it was begun under. */
interface Flight {
  readonly runtime: IssuerRuntime;
  readonly verdict: Promise<VerifiedToken>;
}

/** Where a verdict is shared with other replicas: the store and the token's key in it. */
interface SharedSlot {
  readonly store: CacheStore;
  readonly key: string;
}

/** Introspects tokens, caches and shares the verdicts. */
export class IntrospectionVerifier {
  readonly #options: ResolvedOptions;
  readonly #cache: VerdictCache | undefined;
  readonly #parts: VerdictParts;
  /** Introspections in flight, by token hash: N concurrent requests with one token cause one AS call. */
  readonly #inflight = new Map<string, Flight>();

  constructor(options: ResolvedOptions, cache: VerdictCache | undefined, parts: VerdictParts) {
    this.#options = options;
    this.#cache = cache;
    this.#parts = parts;
  }

  /**
   * Introspect once per token however many requests carry it at the same time, then cache the verdict.
   * `key`: the token's cache key (undefined without a cache); `stale`: the cached verdict past its cache life.
   */
  verify(runtime: IssuerRuntime, token: string, key: string | undefined, stale: VerifiedToken | undefined): Promise<VerifiedToken> {
    const introspector = runtime.introspector;
    if (!introspector) return Promise.reject(notTrusted());
    // Without a cache there is no hash to reuse: the token itself keys its flight (for as long as it is in flight).
    const flightKey = key ?? token;
    const inflight = this.#inflight.get(flightKey);
    // Joined only under the same trust: an introspection begun before its issuer was forgotten ends refused.
    if (inflight?.runtime === runtime) return inflight.verdict;
    // The flight ends in the reaction to its answer (straight to the AS, that is no promise hop more than the call
    // needs: every uncached request). The reactions run later than this function, once `verdict` is set.
    const landed = () => {
      if (this.#inflight.get(flightKey)?.verdict === verdict) this.#inflight.delete(flightKey);
    };
    const store = this.#options.cache ? this.#options.cache.store : undefined;
    const verdict: Promise<VerifiedToken> = store
      ? this.#introspectShared(
          { store, key: `ors:introspection:${runtime.config.issuer}:${flightKey}` },
          runtime,
          introspector,
          token,
          flightKey,
          stale,
        ).then(
          (verified) => {
            landed();
            return verified;
          },
          (err: unknown) => {
            landed();
            throw err;
          },
        )
      : introspector.introspectThen(
          token,
          (answer) => {
            landed();
            return this.#verdict(runtime, answer, flightKey, undefined);
          },
          (err) => {
            landed();
            return this.#noVerdict(err, runtime, flightKey, stale, undefined);
          },
        );
    this.#inflight.set(flightKey, { runtime, verdict });
    return verdict;
  }

  /** One introspection for all replicas sharing the store: a verdict already shared, or one claimant asks the AS. */
  async #introspectShared(
    slot: SharedSlot,
    runtime: IssuerRuntime,
    introspector: Introspector,
    token: string,
    key: string,
    stale: VerifiedToken | undefined,
  ): Promise<VerifiedToken> {
    const { store } = slot;
    const flightKey = `${slot.key}:flight`;
    const timeoutMs = this.#options.http.timeoutMs;
    let claimed = false;
    // A verdict another process already obtained; a failing store is bypassed (the AS is asked instead).
    const shared = await this.#readShared(slot, runtime, key);
    if (shared) return shared;
    // Across replicas: the first to claim the token asks the AS; the others wait (bounded) for its verdict,
    // and take over when the claim goes without one (the claimant failed, or its verdict was not shared).
    if (isAtomicStore(store)) {
      // A failing store decides nothing: this replica asks the AS itself at once (and has no claim to remove).
      const claim = () => store.setIfAbsent(flightKey, '1', timeoutMs).catch(() => 'store failed' as const);
      let outcome = await claim();
      const deadline = Date.now() + timeoutMs;
      while (outcome === false && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 15));
        const verdict = await this.#readShared(slot, runtime, key);
        if (verdict) return verdict;
        outcome = await claim();
      }
      claimed = outcome === true;
    }
    try {
      if (claimed) {
        // Another replica may have shared its verdict and released its claim between this replica's read above
        // and its claim: read once more, or both would ask the AS for the same token.
        const verdict = await this.#readShared(slot, runtime, key);
        if (verdict) return verdict;
      }
      let answer: Record<string, unknown>;
      try {
        answer = await introspector.introspect(token);
      } catch (err) {
        return this.#noVerdict(err, runtime, key, stale, slot);
      }
      return this.#verdict(runtime, answer, key, slot);
    } finally {
      // The verdict (if any) was written first: a replica that sees the claim gone finds it, or asks itself.
      if (claimed) void store.delete(flightKey).catch(() => undefined);
    }
  }

  /** The verified token of the AS's answer (cached, and shared when there is a store), or a thrown refusal. */
  #verdict(runtime: IssuerRuntime, answer: Record<string, unknown>, key: string, slot: SharedSlot | undefined): VerifiedToken {
    // Forgotten while the AS was asked: refused, but neither remembered nor shared. It says nothing about the token
    // (the issuer may be trusted again at once, and other replicas still trust it).
    if (runtime.trustedUntilMs === WITHDRAWN) throw notTrusted();
    const settings = runtime.config.introspection!;
    const now = Date.now();
    const exp = typeof answer.exp === 'number' ? (answer.exp + this.#options.clockToleranceSeconds) * 1000 : Infinity;
    // RFC 7662 §4 (CONFORMANCE 32): never beyond exp, and no longer than the configured (short) life.
    const freshUntilMs = now + Math.max(0, Math.min(exp - now, settings.cacheTtlSeconds * 1000));
    let verified: VerifiedToken;
    try {
      verified = this.#accept(runtime, answer, key, freshUntilMs);
    } catch (err) {
      throw err instanceof InvalidTokenError ? this.#refuseShared(runtime, key, err, slot) : err;
    }
    share(slot, { answer, freshUntilMs, atMs: now }, freshUntilMs - now);
    return verified;
  }

  /** No answer to believe: a refusal of the AS (remembered), a stale verdict where allowed, or a 503. */
  #noVerdict(
    err: unknown,
    runtime: IssuerRuntime,
    key: string,
    stale: VerifiedToken | undefined,
    slot: SharedSlot | undefined,
  ): VerifiedToken {
    // Forgotten while the AS was asked: no stale verdict of it is served, and nothing is remembered or shared.
    if (runtime.trustedUntilMs === WITHDRAWN) throw notTrusted();
    if (err instanceof InvalidTokenError) throw this.#refuseShared(runtime, key, err, slot);
    // The AS gave no usable answer: serve a cached active answer within the stale window, if allowed.
    if (stale && Date.now() < stale.expiresAtMs) return stale;
    throw err instanceof ResourceServerError ? err : new AuthorizationServerUnavailableError();
  }

  /** A refusal is remembered here and shared, with its end time, for negativeCacheSeconds; returns the error. */
  #refuseShared(runtime: IssuerRuntime, key: string, err: InvalidTokenError, slot: SharedSlot | undefined): InvalidTokenError {
    const negativeMs = runtime.config.introspection!.negativeCacheSeconds * 1000;
    share(slot, { refusal: err.message, untilMs: Date.now() + negativeMs }, negativeMs);
    return this.#refuse(key, err, negativeMs);
  }

  /** A verdict in the shared store: the verified token, a thrown refusal, or undefined when there is none. */
  async #readShared(slot: SharedSlot, runtime: IssuerRuntime, key: string): Promise<VerifiedToken | undefined> {
    const raw = await slot.store.get(slot.key).catch(() => undefined);
    const shared = raw === undefined ? undefined : parseSharedVerdict(raw);
    // A shared refusal is remembered here only for what is left of its life, not a fresh window.
    if (shared && 'refusal' in shared && shared.untilMs > Date.now()) {
      throw this.#refuse(key, new InvalidTokenError('ERR_TOKEN_INACTIVE', shared.refusal), shared.untilMs - Date.now());
    }
    // An active answer obtained before this replica last began to trust the issuer (it was forgotten, or its
    // settings changed, since) is not believed: the AS is asked again.
    if (shared && 'answer' in shared && Date.now() < shared.freshUntilMs && shared.atMs >= runtime.trustedSinceMs) {
      return this.#accept(runtime, shared.answer, key, shared.freshUntilMs);
    }
    return undefined;
  }

  /** Check an introspection answer, build the verified token, and cache it until `freshUntilMs`. */
  #accept(runtime: IssuerRuntime, answer: Record<string, unknown>, key: string, freshUntilMs: number): VerifiedToken {
    if (runtime.trustedUntilMs === WITHDRAWN) throw notTrusted(); // forgotten while the AS was asked
    const settings = runtime.config.introspection!;
    const tolerance = this.#options.clockToleranceSeconds;
    const { claims, exp } = checkIntrospection(answer, runtime.config.issuer, {
      nowSeconds: Date.now() / 1000,
      toleranceSeconds: tolerance,
    });
    const scopes = scopesFromClaims(claims.scope, claims.scp);
    if (!scopes) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the introspection scope must be a space-delimited string');
    const aud = claims.aud as string | string[];
    const audienceRequired = !settings.acceptMissingAudience || (Array.isArray(aud) ? aud.length > 0 : true);
    const cache = this.#cache;
    if (cache) this.#parts.shareClaims(claims, runtime.config.issuer); // to be cached: point at shared copies
    const verified = buildVerdict(
      this.#parts,
      claims,
      {
        clientId: claims.client_id,
        scopes,
        validatedBy: 'introspection',
        expiresAtMs: exp === undefined ? Infinity : (exp + tolerance) * 1000,
        audienceRequired,
        issuerAudiences: undefined,
        freshUntilMs,
      },
      runtime,
    );
    const now = Date.now();
    if (cache && freshUntilMs > now) {
      // Cached at once (no second sight): every miss here is a call to the AS.
      const keep = Math.min(verified.expiresAtMs - now, freshUntilMs - now + settings.serveStaleSeconds * 1000);
      cache.keepIntrospected(key, verified, keep, JSON.stringify(answer).length);
    }
    return verified;
  }

  /** Remember a refusal briefly, so a flood of bad tokens does not flood the AS; returns the error to throw. */
  #refuse(key: string, err: InvalidTokenError, ttlMs: number): InvalidTokenError {
    this.#cache?.refuse(key, err, ttlMs);
    return err;
  }
}

/** Write a verdict to the shared store, if there is one, without waiting (a failing store is bypassed). */
function share(slot: SharedSlot | undefined, value: SharedVerdict, ttlMs: number): void {
  if (slot && ttlMs > 0) void slot.store.set(slot.key, JSON.stringify(value), ttlMs).catch(() => undefined);
}
