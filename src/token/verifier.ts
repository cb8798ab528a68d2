/**
 * Token verification with a bounded cache: the per-request entry point of the core.
 *
 * The result of a full check (signature, issuer, type, time claims) is cached under a SHA-256 of the
 * token (never the token itself) until the earlier of the token's `exp` and `cache.maxTtlSeconds`;
 * every hit re-checks `exp` against the clock. The audience and the route's scopes are checked on
 * every request by the caller, outside the cache.
 *
 * Trust given by `resolveIssuer` is remembered for `resolveIssuerTtlSeconds`, then asked again; a cached verdict
 * is believed only while the trust it was made under holds (one number compared on a hit), so an issuer the
 * resolver stops returning, or that is forgotten, stops being accepted with its cached tokens too.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AuthorizationServerUnavailableError, ConfigurationError, InvalidTokenError, ResourceServerError, type InvalidTokenCode } from '../errors.js';
import type { AccessTokenClaims, AuthContext } from '../auth-context.js';
import type { ResolvedIssuer, ResolvedOptions, TrustedIssuer } from '../options.js';
import { resolveIssuerEntry, sameIssuerSettings } from '../resolve-options.js';
import { closeImplications, scopesFromClaims, type GrantedScopes } from '../scopes/requirement.js';
import { discoverAuthorizationServer, oauthMetadataUrl } from '../authz-server/discovery.js';
import { AsHealth, AuthorizationServerCallError } from '../http/as-failure.js';
import { importSecret, verifySignature, type JwsAlgorithm, type VerificationKey } from './jws.js';
import { keyFits } from './key-rules.js';
import { RemoteKeySet, StaticKeySet } from './jwks.js';
import { checkClaims, checkHeader, decodeJws, hasTwoDots, type DecodedJws } from './jwt.js';
import { compileProfile, scopesOf, type TokenPolicy } from './profiles.js';
import { parseSharedVerdict, type SharedVerdict } from './shared-verdict.js';
import { checkIntrospection, Introspector } from './introspection.js';
import { SecondSight } from './admission.js';
import { VerdictParts } from './verdict-parts.js';
import { assertTokenSyntax } from './extract.js';
import { isAtomicStore, type CacheStore } from '../stores/store.js';

/** A verified token: the context route code sees, and what the caller re-checks per request. */
export interface VerifiedToken {
  readonly context: AuthContext;
  readonly granted: GrantedScopes;
  /** `exp` plus the leeway, in milliseconds: the token is refused from this instant on. */
  readonly expiresAtMs: number;
  /**
   * False only for an introspected token without `aud` when `acceptMissingAudience` is on, and for a JWT of an
   * issuer whose token profile binds tokens by their client instead of `aud` (Cognito).
   */
  readonly audienceRequired: boolean;
  /** `aud` values that name this resource for this token's issuer only (its profile's `audiences`), if any. */
  readonly issuerAudiences?: ReadonlySet<string> | undefined;
}

/** An issuer's state: its settings, keys (and discovery), introspector, and how long it is trusted. */
interface IssuerRuntime {
  readonly config: ResolvedIssuer;
  /** The issuer's token profile compiled against the options: resolved once per issuer, read per token. */
  readonly policy: TokenPolicy;
  readonly keys: RemoteKeySet | StaticKeySet | undefined;
  readonly secret: VerificationKey | undefined;
  readonly introspector: Introspector | undefined;
  /**
   * Tokens of this issuer, cached verdicts included, are accepted while the clock is before this: Infinity for
   * a configured issuer; for a resolver's answer, the answer's time plus the TTL (renewed when the resolver
   * vouches again); 0 once evicted (ask again); {@link WITHDRAWN} once refused by the resolver or forgotten.
   */
  trustedUntilMs: number;
  /** When the resolver first vouched for this state (-Infinity when configured): older shared verdicts are not believed. */
  readonly trustedSinceMs: number;
}

/** `trustedUntilMs` of an issuer whose trust was withdrawn: even requests already under way are refused. */
const WITHDRAWN = -Infinity;

/**
 * A verified token, and what the cache needs to believe it again: it is its own cache entry (one object, not a
 * token wrapped in an entry). Fresh until `freshUntilMs` (the token's expiry, or an introspection answer's cache
 * life), and only while `trust` (the issuer state it was made under) holds.
 */
class Verdict implements VerifiedToken {
  readonly context: AuthContext;
  readonly granted: GrantedScopes;
  readonly expiresAtMs: number;
  readonly audienceRequired: boolean;
  readonly issuerAudiences: ReadonlySet<string> | undefined;
  readonly freshUntilMs: number;
  readonly trust: IssuerRuntime;

  constructor(context: AuthContext, granted: GrantedScopes, expiresAtMs: number, audienceRequired: boolean, issuerAudiences: ReadonlySet<string> | undefined, freshUntilMs: number, trust: IssuerRuntime) {
    this.context = context;
    this.granted = granted;
    this.expiresAtMs = expiresAtMs;
    this.audienceRequired = audienceRequired;
    this.issuerAudiences = issuerAudiences;
    this.freshUntilMs = freshUntilMs;
    this.trust = trust;
    Object.freeze(this);
  }
}

/** A refusal remembered until `untilMs`. */
class Refusal {
  constructor(
    readonly error: InvalidTokenError,
    readonly untilMs: number,
  ) {
    Object.freeze(this);
  }
}

type CacheEntry = Verdict | Refusal;

/** A call of `resolveIssuer` in progress, shared by the requests for its issuer; `withdrawn` if forgotten meanwhile. */
interface Resolution {
  readonly asked: { withdrawn: boolean };
  readonly answer: Promise<IssuerRuntime>;
}

const MAX_DYNAMIC_ISSUERS = 100;
/**
 * Heap bytes of a cache entry besides its claims (key, LRU slot, verdict, context; the scope set, audience array
 * and repeating strings are shared): bench/heap.mjs measures about 500 bytes in all for an RS256 token whose
 * payload is about 250 base64url characters, of which the claims count twice their JSON length here.
 */
const ENTRY_OVERHEAD = 250;

/** Verifies access tokens for one resource server. */
export class TokenVerifier {
  readonly #o: ResolvedOptions;
  readonly #issuers = new Map<string, IssuerRuntime>();
  readonly #dynamic: LRUCache<string, IssuerRuntime> | undefined;
  readonly #cache: LRUCache<string, CacheEntry> | undefined;
  /** JWT verdicts are cached on their second sight (see admission.ts); introspection verdicts at once. */
  readonly #admission: SecondSight | undefined;
  /** Strings, audience arrays and scope sets shared by the verdicts. */
  readonly #parts: VerdictParts;
  /** Introspections in flight, by token hash: N concurrent requests with one token cause one AS call. */
  readonly #inflight = new Map<string, { readonly runtime: IssuerRuntime; readonly verdict: Promise<VerifiedToken> }>();
  /** Calls of `resolveIssuer` in flight, by issuer (bounded in time by the resolver deadline). */
  readonly #resolving = new Map<string, Resolution>();
  /** Failures of calls to authorization servers, logged once per state change of each (issuer, step). */
  readonly #health: AsHealth;
  /** Whether the last call of `resolveIssuer` failed: an outage is logged when it begins and ends, not per request. */
  #resolverFailing = false;
  /** The issuer that introspects tokens that are not JWTs of a JWT-trusted issuer (the first configured with introspection). */
  readonly #opaque: IssuerRuntime | undefined;

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.#health = new AsHealth(options.logger);
    this.#parts = new VerdictParts(closeImplications(options.implications), options.wildcards);
    for (const config of options.issuers) this.#issuers.set(config.issuer, this.#runtime(config, Infinity, -Infinity));
    this.#opaque = [...this.#issuers.values()].find((r) => r.introspector && r.config.validation !== 'jwt');
    if (options.resolveIssuer) {
      this.#dynamic = new LRUCache<string, IssuerRuntime>({
        max: MAX_DYNAMIC_ISSUERS,
        // An issuer pushed out by others is asked about again, with its cached verdicts: so that forgetIssuer(),
        // which no longer finds it here, cannot leave verdicts behind that are still believed.
        dispose: (r, _iss, reason) => {
          if (reason === 'evict') r.trustedUntilMs = Math.min(r.trustedUntilMs, 0);
        },
      });
    }
    if (options.cache) {
      // Each set() gives the entry's size: an estimate of its heap cost, which the decoded claims dominate.
      this.#cache = new LRUCache<string, CacheEntry>({ max: options.cache.maxEntries, maxSize: options.cache.maxBytes, ttl: options.cache.maxTtlSeconds * 1000 });
      this.#admission = new SecondSight(options.cache.maxEntries);
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

  #verifyUncached(token: string, key: string | undefined, stale: VerifiedToken | undefined): VerifiedToken | Promise<VerifiedToken> {
    assertTokenSyntax(token);
    // A token that is not three dot-separated parts is no JWS: straight to introspection, without the cost
    // of a decoding error (an Error and its stack) on every opaque token.
    if (this.#opaque && !hasTwoDots(token)) return this.#introspect(this.#opaque, token, key, stale);
    let jws: DecodedJws | undefined;
    try {
      jws = decodeJws(token);
    } catch (err) {
      // Not a JWT: an opaque token, for the introspecting issuer if there is one.
      if (this.#opaque) return this.#introspect(this.#opaque, token, key, stale);
      throw err;
    }
    const iss = jws.payload.iss;
    const known = typeof iss === 'string' ? (this.#issuers.get(iss) ?? this.#dynamic?.get(iss)) : undefined;
    const runtime = known && Date.now() < known.trustedUntilMs ? known : undefined;
    if (runtime) {
      if (runtime.config.validation === 'introspection') return this.#introspect(runtime, token, key, stale);
      return this.#verifyWith(runtime, jws, key);
    }
    // A JWS whose issuer is not trusted for local validation: introspected where an issuer does that (auto mode).
    if (typeof iss === 'string' && this.#o.resolveIssuer) {
      const decoded = jws;
      return this.#resolve(iss).then((r) => (r.config.validation === 'introspection' ? this.#introspect(r, token, key, stale) : this.#verifyWith(r, decoded, key)));
    }
    if (this.#opaque) return this.#introspect(this.#opaque, token, key, stale);
    throw typeof iss === 'string' ? notTrusted() : new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token has no issuer');
  }

  /** Introspect once per token however many requests carry it at the same time, then cache the verdict. */
  #introspect(runtime: IssuerRuntime, token: string, key: string | undefined, stale: VerifiedToken | undefined): Promise<VerifiedToken> {
    if (!runtime.introspector) return Promise.reject(notTrusted());
    // Without a cache there is no hash to reuse: the token itself keys its flight (for as long as it is in flight).
    const flightKey = key ?? token;
    const inflight = this.#inflight.get(flightKey);
    // Joined only under the same trust: an introspection begun before its issuer was forgotten ends refused.
    if (inflight?.runtime === runtime) return inflight.verdict;
    const landed = () => {
      if (this.#inflight.get(flightKey) === flight) this.#inflight.delete(flightKey);
    };
    const flight = {
      runtime,
      verdict: this.#introspectOnce(runtime, runtime.introspector, token, flightKey, stale).then(
        (verified) => {
          landed();
          return verified;
        },
        (err: unknown) => {
          landed();
          throw err;
        },
      ),
    };
    this.#inflight.set(flightKey, flight);
    return flight.verdict;
  }

  /**
   * One introspection: straight to the AS without a shared store (no promise hop more than the call needs), or
   * through the store. `key`: the token's cache key (with no cache, the token itself: then nothing is cached or
   * shared under it).
   */
  #introspectOnce(runtime: IssuerRuntime, introspector: Introspector, token: string, key: string, stale: VerifiedToken | undefined): Promise<VerifiedToken> {
    const store = this.#o.cache ? this.#o.cache.store : undefined;
    if (store) return this.#introspectShared(store, runtime, introspector, token, key, stale);
    return introspector.introspect(token).then(
      (answer) => this.#verdict(runtime, answer, key, undefined, ''),
      (err: unknown) => this.#noVerdict(err, runtime, key, stale, undefined, ''),
    );
  }

  /** One introspection for all replicas sharing `store`: a verdict already shared, or one claimant asks the AS. */
  async #introspectShared(store: CacheStore, runtime: IssuerRuntime, introspector: Introspector, token: string, key: string, stale: VerifiedToken | undefined): Promise<VerifiedToken> {
    const storeKey = `ors:introspection:${runtime.config.issuer}:${key}`;
    const flightKey = `${storeKey}:flight`;
    let claimed = false;
    // A verdict another process already obtained; a failing store is bypassed (the AS is asked instead).
    const shared = await this.#readShared(store, storeKey, runtime, key);
    if (shared) return shared;
    // Across replicas: the first to claim the token asks the AS; the others wait (bounded) for its verdict,
    // and take over when the claim goes without one (the claimant failed, or its verdict was not shared).
    if (isAtomicStore(store)) {
      // A failing store decides nothing: this replica asks the AS itself at once (and has no claim to remove).
      const claim = () => store.setIfAbsent(flightKey, '1', this.#o.httpTimeoutMs).catch(() => 'store failed' as const);
      let c = await claim();
      const deadline = Date.now() + this.#o.httpTimeoutMs;
      while (c === false && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 15));
        const verdict = await this.#readShared(store, storeKey, runtime, key);
        if (verdict) return verdict;
        c = await claim();
      }
      claimed = c === true;
    }
    try {
      if (claimed) {
        // Another replica may have shared its verdict and released its claim between this replica's read above
        // and its claim: read once more, or both would ask the AS for the same token.
        const verdict = await this.#readShared(store, storeKey, runtime, key);
        if (verdict) return verdict;
      }
      let answer: Record<string, unknown>;
      try {
        answer = await introspector.introspect(token);
      } catch (err) {
        return this.#noVerdict(err, runtime, key, stale, store, storeKey);
      }
      return this.#verdict(runtime, answer, key, store, storeKey);
    } finally {
      // The verdict (if any) was written first: a replica that sees the claim gone finds it, or asks itself.
      if (claimed) void store.delete(flightKey).catch(() => undefined);
    }
  }

  /** The verified token of the AS's answer (cached, and shared when there is a store), or a thrown refusal. */
  #verdict(runtime: IssuerRuntime, answer: Record<string, unknown>, key: string, store: CacheStore | undefined, storeKey: string): VerifiedToken {
    const settings = runtime.config.introspection!;
    const now = Date.now();
    const exp = typeof answer.exp === 'number' ? (answer.exp + this.#o.clockToleranceSeconds) * 1000 : Infinity;
    // RFC 7662 §4 (CONFORMANCE 32): never beyond exp, and no longer than the configured (short) life.
    const freshUntilMs = now + Math.max(0, Math.min(exp - now, settings.cacheTtlSeconds * 1000));
    let verified: VerifiedToken;
    try {
      verified = this.#accept(runtime, answer, key, freshUntilMs);
    } catch (err) {
      throw err instanceof InvalidTokenError ? this.#refuseShared(runtime, key, err, store, storeKey) : err;
    }
    share(store, storeKey, { answer, freshUntilMs, atMs: now }, freshUntilMs - now);
    return verified;
  }

  /** No answer to believe: a refusal of the AS (remembered), a stale verdict where allowed, or a 503. */
  #noVerdict(err: unknown, runtime: IssuerRuntime, key: string, stale: VerifiedToken | undefined, store: CacheStore | undefined, storeKey: string): VerifiedToken {
    if (err instanceof InvalidTokenError) throw this.#refuseShared(runtime, key, err, store, storeKey);
    // The AS gave no usable answer: serve a cached active answer within the stale window, if allowed.
    if (stale && Date.now() < stale.expiresAtMs) return stale;
    throw err instanceof ResourceServerError ? err : new AuthorizationServerUnavailableError();
  }

  /** A refusal is remembered here and shared, with its end time, for negativeCacheSeconds; returns the error. */
  #refuseShared(runtime: IssuerRuntime, key: string, err: InvalidTokenError, store: CacheStore | undefined, storeKey: string): InvalidTokenError {
    const negativeMs = runtime.config.introspection!.negativeCacheSeconds * 1000;
    share(store, storeKey, { refusal: err.message, untilMs: Date.now() + negativeMs }, negativeMs);
    return this.#refuse(key, err, negativeMs);
  }

  /** A verdict in the shared store: the verified token, a thrown refusal, or undefined when there is none. */
  async #readShared(store: CacheStore, storeKey: string, runtime: IssuerRuntime, key: string): Promise<VerifiedToken | undefined> {
    const raw = await store.get(storeKey).catch(() => undefined);
    const shared = raw === undefined ? undefined : parseSharedVerdict(raw);
    // A shared refusal is remembered here only for what is left of its life, not a fresh window.
    if (shared && 'refusal' in shared && shared.untilMs > Date.now()) throw this.#refuse(key, new InvalidTokenError('ERR_TOKEN_INACTIVE', shared.refusal), shared.untilMs - Date.now());
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
    const tol = this.#o.clockToleranceSeconds;
    const { claims, exp } = checkIntrospection(answer, runtime.config.issuer, tol, Date.now() / 1000);
    const scopes = scopesFromClaims(claims.scope, claims.scp);
    if (!scopes) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the introspection scope must be a space-delimited string');
    const aud = claims.aud as string | string[];
    const audienceRequired = !settings.acceptMissingAudience || (Array.isArray(aud) ? aud.length > 0 : true);
    if (this.#cache) this.#parts.shareClaims(claims, runtime.config.issuer); // to be cached: point at shared copies
    const verified = this.#build(runtime, claims, claims.client_id, scopes, 'introspection', exp === undefined ? Infinity : (exp + tol) * 1000, audienceRequired, undefined, freshUntilMs);
    const now = Date.now();
    if (this.#cache && freshUntilMs > now) {
      // Cached at once (no second sight): every miss here is a call to the AS.
      const keep = Math.min(verified.expiresAtMs - now, freshUntilMs - now + settings.serveStaleSeconds * 1000);
      this.#cache.set(key, verified, { ttl: keep, size: ENTRY_OVERHEAD + JSON.stringify(answer).length * 2 });
    }
    return verified;
  }

  /** Remember a refusal briefly, so a flood of bad tokens does not flood the AS; returns the error to throw. */
  #refuse(key: string, err: InvalidTokenError, ttlMs: number): InvalidTokenError {
    if (this.#cache && ttlMs > 0) this.#cache.set(key, new Refusal(err, Date.now() + ttlMs), { ttl: ttlMs, size: ENTRY_OVERHEAD });
    return err;
  }

  /**
   * The settings of a trusted issuer (configured, or vouched for by the resolver and not forgotten), without
   * touching its recency: what the debug channel explains a refusal against.
   * @internal
   */
  issuerPolicy(iss: string): { readonly config: ResolvedIssuer; readonly policy: TokenPolicy } | undefined {
    return this.#issuers.get(iss) ?? this.#dynamic?.peek(iss);
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
    const pending = this.#resolving.get(iss);
    if (pending) {
      pending.asked.withdrawn = true;
      this.#resolving.delete(iss);
    }
    return this.#withdraw(iss) || pending !== undefined;
  }

  /** Drop what the resolver said of `iss` (its state goes with it); true when it had said something. */
  #withdraw(iss: string): boolean {
    const known = this.#dynamic?.peek(iss);
    if (!known) return false;
    known.trustedUntilMs = WITHDRAWN;
    this.#dynamic!.delete(iss);
    return true;
  }

  /** The resolver's answer for `iss`, asked once however many requests need it at the same time. */
  #resolve(iss: string): Promise<IssuerRuntime> {
    let pending = this.#resolving.get(iss);
    if (!pending) {
      const asked = { withdrawn: false };
      const answer = this.#ask(iss, asked).finally(() => {
        if (this.#resolving.get(iss)?.asked === asked) this.#resolving.delete(iss);
      });
      pending = { asked, answer };
      this.#resolving.set(iss, pending);
    }
    return pending.answer;
  }

  async #ask(iss: string, asked: { withdrawn: boolean }): Promise<IssuerRuntime> {
    let entry;
    try {
      // Bounded: the shared call must not hold every request of this issuer forever.
      entry = await withDeadline(this.#o.resolveIssuer!(iss), this.#o.httpTimeoutMs);
    } catch (err) {
      // Fail closed: an earlier answer is never prolonged because the resolver cannot answer now.
      if (!this.#resolverFailing) this.#o.logger.error('resolveIssuer threw or did not answer in time: tokens it must vouch for are answered 503', { reason: err instanceof Error ? err.message : String(err) });
      this.#resolverFailing = true;
      throw new AuthorizationServerUnavailableError('the issuer could not be resolved');
    }
    if (this.#resolverFailing) this.#o.logger.warn('resolveIssuer answers again');
    this.#resolverFailing = false;
    if (asked.withdrawn) throw notTrusted(); // forgotten while the resolver was answering
    const r = entry === undefined ? undefined : this.#vouched(iss, entry);
    if (!r) {
      if (this.#withdraw(iss)) this.#o.logger.warn('resolveIssuer no longer trusts an issuer: its tokens are refused', { issuer: iss });
      throw notTrusted();
    }
    r.trustedUntilMs = Date.now() + this.#o.resolveIssuerTtlMs;
    this.#dynamic!.set(iss, r);
    return r;
  }

  /**
   * The state for the resolver's entry: the remembered one while the settings are unchanged (its keys stay);
   * undefined when the entry is unusable or vouches for another issuer.
   */
  #vouched(iss: string, entry: string | TrustedIssuer): IssuerRuntime | undefined {
    const known = this.#dynamic!.peek(iss);
    try {
      const config = resolveIssuerEntry(entry);
      // The resolver must vouch for exactly this issuer (never trust iss A with the settings of issuer B).
      if (config.issuer !== iss) return undefined;
      if (known && sameIssuerSettings(known.config, config)) return known;
      const now = Date.now();
      const fresh = this.#runtime(config, now, now);
      // New settings: the old state's cached verdicts are checked again under them (requests under way finish).
      if (known) known.trustedUntilMs = Math.min(known.trustedUntilMs, 0);
      return fresh;
    } catch (err) {
      this.#o.logger.error('resolveIssuer returned an invalid issuer', { reason: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  }

  #runtime(config: ResolvedIssuer, trustedUntilMs: number, trustedSinceMs: number): IssuerRuntime {
    const o = this.#o;
    let jwksUri: Promise<string> | undefined;
    const uri = (): string | Promise<string> => {
      if (config.jwksUri) return config.jwksUri;
      jwksUri ??= discoverAuthorizationServer(config.issuer, { timeoutMs: o.httpTimeoutMs, maxBytes: o.httpMaxResponseBytes, retryIntervalMs: o.httpRetryIntervalMs }).then(
        ({ metadata }) => {
          if (typeof metadata.jwks_uri !== 'string') throw new AuthorizationServerCallError({ issuer: config.issuer, step: 'discovery', url: oauthMetadataUrl(config.issuer), failure: { kind: 'invalid_answer', detail: 'the metadata has no jwks_uri' } });
          return metadata.jwks_uri;
        },
        (err: unknown) => {
          jwksUri = undefined; // retry discovery on a later request
          throw err;
        },
      );
      return jwksUri;
    };
    // Keys are needed only where tokens are verified locally.
    const hasAsymmetric = config.validation !== 'introspection' && [...config.algorithms].some((a) => !a.startsWith('HS'));
    const introspector = config.introspection
      ? new Introspector(config.issuer, config.introspection, { timeoutMs: o.httpTimeoutMs, maxBytes: o.httpMaxResponseBytes, retryIntervalMs: o.httpRetryIntervalMs, clockToleranceSeconds: o.clockToleranceSeconds, health: this.#health })
      : undefined;
    return {
      config,
      policy: compileProfile(config.profile, o),
      introspector,
      keys: !hasAsymmetric
        ? undefined
        : config.jwks
          ? staticKeys(config)
          : new RemoteKeySet(uri, { issuer: config.issuer, cooldownMs: o.jwksCooldownMs, maxAgeMs: o.jwksMaxAgeMs, timeoutMs: o.httpTimeoutMs, maxBytes: o.httpMaxResponseBytes, retryIntervalMs: o.httpRetryIntervalMs, health: this.#health }),
      secret: config.secret !== undefined ? importSecret(config.secret) : undefined,
      trustedUntilMs,
      trustedSinceMs,
    };
  }

  #verifyWith(runtime: IssuerRuntime, jws: DecodedJws, cacheKey: string | undefined): VerifiedToken | Promise<VerifiedToken> {
    const alg = checkHeader(jws.header, runtime.config, runtime.policy);
    const kid = jws.header.kid as string | undefined;
    if (alg.startsWith('HS')) {
      // HMAC only with the configured secret, never with a key from the JWKS (RFC 8725 §2.1), and only when
      // the secret is as long as the hash output (RFC 7518 §3.2: a 32-byte secret serves HS256, not HS512).
      return this.#finish(runtime, jws, alg, runtime.secret && keyFits(runtime.secret, alg) ? [runtime.secret] : [], cacheKey);
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
    if (runtime.trustedUntilMs === WITHDRAWN) throw notTrusted(); // forgotten while the keys were fetched
    if (keys.length === 0) throw new InvalidTokenError('ERR_TOKEN_KEY_NOT_FOUND', 'the access token was signed with an unknown key');
    let ok = false;
    // Several candidates only when the token names no kid; bounded by the size of the key set.
    for (const k of keys) if ((ok = verifySignature(alg, k.key, jws.data, jws.signature))) break;
    if (!ok) throw new InvalidTokenError('ERR_TOKEN_SIGNATURE', 'the access token signature is invalid');
    const nowSeconds = Date.now() / 1000;
    const policy = runtime.policy;
    // Admitted on its second sight only: a token seen once costs no insert and leaves no long-lived garbage.
    const admitted = this.#cache !== undefined && cacheKey !== undefined && this.#admission!.seen(cacheKey);
    // Signature verified: the repeating claims of a token to be cached may now point at shared copies (checked
    // below as they are).
    if (admitted) this.#parts.shareClaims(jws.payload, runtime.config.issuer);
    const clientId = checkClaims(jws.payload, runtime.config.issuer, policy, nowSeconds) as string | undefined;
    const claims = jws.payload as AccessTokenClaims & { exp: number };
    const scopes = scopesOf(claims, policy.profile);
    if (!scopes) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the access token scope claim must be a space-delimited string');
    // A second binding where there is no aud (Cognito): a scope of this API's resource server.
    if (policy.profile.scopePrefixes.length && !scopes.some((s) => policy.profile.scopePrefixes.some((p) => s.startsWith(p)))) {
      throw new InvalidTokenError('ERR_TOKEN_AUDIENCE', 'the access token carries no scope of this resource');
    }
    const expiresAtMs = (claims.exp + policy.clockToleranceSeconds) * 1000;
    // An aud that is present must name this API, even where the profile binds by client instead ([] names nothing).
    const verified = this.#build(runtime, claims, clientId, scopes, 'jwt', expiresAtMs, policy.profile.requireAudience || claims.aud !== undefined, policy.audiences, expiresAtMs, jws.header);
    if (admitted) {
      const ttl = Math.min(verified.expiresAtMs - Date.now(), (this.#o.cache as { maxTtlSeconds: number }).maxTtlSeconds * 1000);
      if (ttl > 0) this.#cache!.set(cacheKey!, verified, { ttl, size: ENTRY_OVERHEAD + jws.payloadLength * 2 });
    }
    return verified;
  }

  /** The verified token: its own context and claims; scope set, audience array and repeating strings shared. */
  #build(runtime: IssuerRuntime, claims: AccessTokenClaims, clientId: string | undefined, scopes: string[], validatedBy: AuthContext['validatedBy'], expiresAtMs: number, audienceRequired: boolean, issuerAudiences: ReadonlySet<string> | undefined, freshUntilMs: number, header?: Record<string, unknown>): Verdict {
    const granted = this.#parts.granted(scopes);
    const context: AuthContext = Object.freeze({
      issuer: claims.iss,
      subject: claims.sub,
      clientId,
      audience: this.#parts.audience(claims.aud),
      scopes: granted.granted,
      expiresAt: claims.exp,
      validatedBy,
      claims: deepFreeze(claims),
      ...(header ? { header: deepFreeze(header) } : {}),
      hasScope: granted.hasScope,
    });
    return new Verdict(context, granted, expiresAtMs, audienceRequired, issuerAudiences, freshUntilMs, runtime);
  }
}

/** Write a verdict to the shared store, if there is one, without waiting (a failing store is bypassed). */
function share(store: CacheStore | undefined, storeKey: string, value: SharedVerdict, ttlMs: number): void {
  if (store && ttlMs > 0) void store.set(storeKey, JSON.stringify(value), ttlMs).catch(() => undefined);
}

function notTrusted(): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token issuer is not trusted');
}

/** `value`, or a rejection when it is a promise that does not settle within `ms`. */
function withDeadline<T>(value: T | PromiseLike<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref(); // a late answer is of no use to anyone: it must not keep the process alive
    Promise.resolve(value).then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** Deeper claims than this are refused: no access token needs them, and recursion over them could overflow. */
const MAX_CLAIM_DEPTH = 32;

/**
 * Freeze claims all the way down; refuse (401) claims nested deeper than MAX_CLAIM_DEPTH. The recursion is bounded
 * by that depth, so it cannot overflow; it allocates nothing (this runs for every verified token).
 */
function deepFreeze<T>(value: T): T {
  freezeWithin(value, 0);
  return value;
}

function freezeWithin(v: unknown, depth: number): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  if (depth >= MAX_CLAIM_DEPTH) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the token claims are nested too deeply');
  Object.freeze(v);
  // for-in over own and inherited enumerable keys (only own ones are followed); primitives are skipped here, not
  // in a call: most claims are strings and numbers.
  for (const k in v) {
    const child = (v as Record<string, unknown>)[k];
    if (typeof child === 'object' && child !== null && Object.hasOwn(v, k)) freezeWithin(child, depth + 1);
  }
}

function staticKeys(config: ResolvedIssuer): StaticKeySet {
  try {
    return new StaticKeySet(config.jwks);
  } catch (err) {
    throw new ConfigurationError(`oauth-resource-server: the jwks of ${config.issuer} is unusable: ${(err as Error).message}`);
  }
}
