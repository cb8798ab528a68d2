/**
 * An authorization server's published keys (`jwks_uri`), cached for the hot path:
 * - looked up synchronously once loaded (no promise on the request path);
 * - refetched on an unknown `kid` at most once per cooldown (RFC 9068 §4 key use; CONFORMANCE 25), so a
 *   flood of made-up `kid`s costs the AS one request per cooldown, and a key the AS publishes later is
 *   found one cooldown later at most;
 * - refreshed in the background when older than `maxAge`, with one fetch in flight whatever the load;
 * - the last good keys kept while the endpoint is down;
 * - while it is down (or discovery is), asked again by the first request after `retryIntervalMs`, never sooner:
 *   the AS gets one fetch per interval however long the outage, and the kit serves again within one interval
 *   of its return. Failures are logged once per outage (see AsHealth), never per request.
 */
import { AuthorizationServerUnavailableError } from '../answers/errors.js';
import { httpRequest } from '../http/client.js';
import { AuthorizationServerCallError, classify, classifyAnswer, type AsHealth } from '../http/as-failure.js';
import { importPublicJwk, type JwsAlgorithm, type PublicJwk, type VerificationKey } from './jws.js';
import { keyFits } from './key-rules.js';

/** Settings of a {@link RemoteKeySet}. */
export interface KeySetSettings {
  /** The issuer the keys belong to (named in logs). */
  issuer: string;
  cooldownMs: number;
  maxAgeMs: number;
  timeoutMs: number;
  maxBytes: number;
  /** Least time between two attempts while fetching fails. */
  retryIntervalMs: number;
  health: AsHealth;
}

/** Parse a JWKS document into verification keys (unusable keys are skipped, never trusted). */
export function parseKeySet(body: unknown): VerificationKey[] {
  if (body === null || typeof body !== 'object' || !Array.isArray((body as { keys?: unknown }).keys)) {
    throw new TypeError('not a JWK Set');
  }
  const out: VerificationKey[] = [];
  for (const jwk of (body as { keys: PublicJwk[] }).keys) {
    const k = importPublicJwk(jwk);
    if (k) out.push(k);
  }
  return out;
}

/** A remote JWK Set with the caching rules above. */
export class RemoteKeySet {
  readonly #uri: () => string | Promise<string>;
  readonly #settings: KeySetSettings;
  #keys: VerificationKey[] | undefined;
  #loadedAt = 0;
  #lastAttempt = -Infinity;
  /** When the last fetch failed (undefined while the last one succeeded). */
  #failedAt: number | undefined;
  #inflight: Promise<void> | undefined;

  constructor(uri: () => string | Promise<string>, settings: KeySetSettings) {
    this.#uri = uri;
    this.#settings = settings;
  }

  /**
   * Keys that may verify a token with this `kid` and `alg`: an array when known now, a promise when a
   * fetch is needed. An empty result means "no such key" (→ invalid_token); an unreachable JWKS with no
   * keys at all rejects with {@link AuthorizationServerUnavailableError} (→ 503).
   */
  candidates(kid: string | undefined, alg: JwsAlgorithm): VerificationKey[] | Promise<VerificationKey[]> {
    const keys = this.#keys;
    if (!keys) return this.#refresh(true).then(() => this.#afterMiss(kid, alg));
    const now = Date.now();
    if (now - this.#loadedAt > this.#settings.maxAgeMs) void this.#refresh(false).catch(() => undefined);
    const found = this.#select(kid, alg);
    if (found.length) return found;
    // A fetch already under way (another request's miss, or the background refresh) may bring this key: a
    // rotation seen by many requests at once must not fail all but the one that triggered the fetch.
    const inflight = this.#inflight;
    if (inflight)
      return inflight.then(
        () => this.#afterMiss(kid, alg),
        () => this.#afterMiss(kid, alg),
      );
    // While the endpoint fails, the retry interval (checked in #refresh) paces attempts, not the longer cooldown.
    if (this.#failedAt !== undefined || now - this.#lastAttempt >= this.#settings.cooldownMs)
      return this.#refresh(true).then(() => this.#afterMiss(kid, alg));
    return this.#afterMiss(kid, alg);
  }

  /** After a miss: no key is "no such key", unless the JWKS endpoint is failing (then we cannot know: 503). */
  #afterMiss(kid: string | undefined, alg: JwsAlgorithm): VerificationKey[] {
    const found = this.#select(kid, alg);
    if (!found.length && this.#failedAt !== undefined)
      throw new AuthorizationServerUnavailableError('the authorization server keys could not be refreshed', this.#retryAfterSeconds());
    return found;
  }

  /** Load the keys now (start-up warm-up); resolves false when the endpoint could not be read. */
  async warm(): Promise<boolean> {
    try {
      await this.#refresh(true);
      return true;
    } catch {
      return false;
    }
  }

  #select(kid: string | undefined, alg: JwsAlgorithm): VerificationKey[] {
    const out: VerificationKey[] = [];
    for (const k of this.#keys ?? []) {
      if (kid !== undefined && k.kid !== kid) continue;
      if (keyFits(k, alg)) out.push(k);
    }
    return out;
  }

  #refresh(mustSucceed: boolean): Promise<void> {
    // After a failure, the next attempt waits for the retry interval (measured from the end of the failed one, so a
    // hang does not make it shorter); until then answer from what we have. Not a growing back-off: its end would
    // keep answering 503 long after the AS is back.
    const failedAt = this.#failedAt;
    const waitMs = failedAt === undefined ? 0 : this.#settings.retryIntervalMs - (Date.now() - failedAt);
    if (!this.#inflight && waitMs > 0) {
      return mustSucceed && !this.#keys
        ? Promise.reject(
            new AuthorizationServerUnavailableError('the authorization server keys could not be fetched', this.#retryAfterSeconds()),
          )
        : Promise.resolve();
    }
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight.then(
      () => undefined,
      (err: unknown) => {
        if (mustSucceed) throw err;
      },
    );
  }

  async #fetch(): Promise<void> {
    this.#lastAttempt = Date.now();
    const settings = this.#settings;
    let failure: AuthorizationServerCallError;
    let uri: string | undefined;
    try {
      uri = await this.#uri();
      settings.health.ok(settings.issuer, 'discovery');
      const res = await httpRequest(uri, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        timeoutMs: settings.timeoutMs,
        maxBytes: settings.maxBytes,
      });
      if (res.status !== 200)
        throw new AuthorizationServerCallError({
          issuer: settings.issuer,
          step: 'jwks',
          url: uri,
          failure: classifyAnswer(res, `HTTP ${res.status}`),
        });
      let keys: VerificationKey[];
      try {
        keys = parseKeySet(JSON.parse(res.body.toString('utf8')));
      } catch (err) {
        throw new AuthorizationServerCallError({
          issuer: settings.issuer,
          step: 'jwks',
          url: uri,
          failure: { kind: 'invalid_answer', status: 200, detail: err instanceof SyntaxError ? 'not JSON' : 'not a JWK Set' },
        });
      }
      this.#keys = keys;
      this.#loadedAt = Date.now();
      this.#failedAt = undefined;
      settings.health.ok(settings.issuer, 'jwks');
      return;
    } catch (err) {
      // Discovery failing is reported as discovery (with its URL), never blamed on the keys.
      failure =
        err instanceof AuthorizationServerCallError
          ? err
          : uri === undefined
            ? new AuthorizationServerCallError({
                issuer: settings.issuer,
                step: 'discovery',
                url: settings.issuer,
                failure: classify(err, settings.timeoutMs),
              })
            : new AuthorizationServerCallError({
                issuer: settings.issuer,
                step: 'jwks',
                url: uri,
                failure: classify(err, settings.timeoutMs),
              });
    }
    this.#failedAt = Date.now();
    settings.health.failed(failure, { keptKeys: this.#keys?.length ?? 0 });
    if (this.#keys) return; // keep the last good keys
    throw new AuthorizationServerUnavailableError('the authorization server keys could not be fetched', this.#retryAfterSeconds());
  }

  /** `Retry-After` of a 503: when the next attempt can be made. */
  #retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.#settings.retryIntervalMs / 1000));
  }
}

/** A fixed key set given in the configuration (`jwks`): no fetching, unknown `kid`s are simply not found. */
export class StaticKeySet {
  readonly #keys: VerificationKey[];

  constructor(jwks: unknown) {
    this.#keys = parseKeySet(jwks);
    if (this.#keys.length === 0) throw new TypeError('the configured JWK Set has no usable public signing key');
  }

  candidates(kid: string | undefined, alg: JwsAlgorithm): VerificationKey[] {
    return this.#keys.filter((k) => (kid === undefined || k.kid === kid) && keyFits(k, alg));
  }

  async warm(): Promise<boolean> {
    return true;
  }
}
