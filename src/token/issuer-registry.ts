/**
 * The issuers this resource server trusts, and each one's state: settings, token profile, keys (with discovery),
 * introspection client, and how long the trust lasts.
 *
 * Configured issuers are trusted for good. Trust given by `resolveIssuer` is remembered for
 * `resolveIssuerTtlSeconds`, then asked again, once however many requests need it; `forgetIssuer` withdraws it at
 * once, so that cached verdicts made under it (see verdict.ts `trust`) stop being believed too.
 */
import { LRUCache } from 'lru-cache';
import { AuthorizationServerUnavailableError, ConfigurationError, InvalidTokenError } from '../answers/errors.js';
import type { ResolvedIssuer, ResolvedOptions, TrustedIssuer } from '../config/options.js';
import { resolveIssuerEntry, sameIssuerSettings } from '../config/resolve-options.js';
import { discoverAuthorizationServer, oauthMetadataUrl } from '../authz-server/discovery.js';
import { AuthorizationServerCallError, type AsHealth } from '../http/as-failure.js';
import { importSecret, type VerificationKey } from './jws.js';
import { RemoteKeySet, StaticKeySet } from './jwks.js';
import { compileProfile, type TokenPolicy } from './profiles.js';
import { Introspector } from './introspection.js';

/** An issuer's state: its settings, keys (and discovery), introspector, and how long it is trusted. */
export interface IssuerRuntime {
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
export const WITHDRAWN = -Infinity;

/** A call of `resolveIssuer` in progress, shared by the requests for its issuer; `withdrawn` if forgotten meanwhile. */
interface Resolution {
  readonly asked: { withdrawn: boolean };
  readonly answer: Promise<IssuerRuntime>;
}

const MAX_DYNAMIC_ISSUERS = 100;
/** Issuers with an unusable resolver entry that are named in the log, one line each. */
const MAX_INVALID_LOGGED = 100;

/** The refusal of a token whose issuer is not (or no longer) trusted. */
export function notTrusted(): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token issuer is not trusted');
}

/** Configured issuers and those `resolveIssuer` vouched for. */
export class IssuerRegistry {
  readonly #options: ResolvedOptions;
  readonly #health: AsHealth;
  readonly #configured = new Map<string, IssuerRuntime>();
  readonly #dynamic: LRUCache<string, IssuerRuntime> | undefined;
  /** Calls of `resolveIssuer` in flight, by issuer (bounded in time by the resolver deadline). */
  readonly #resolving = new Map<string, Resolution>();
  /** Whether the last call of `resolveIssuer` failed: an outage is logged when it begins and ends, not per request. */
  #resolverFailing = false;
  /**
   * Issuers for which the resolver returned an unusable entry, logged: one line per issuer until the resolver answers
   * usably for it again, not one per token. Bounded: past {@link MAX_INVALID_LOGGED} issuers, one line says further
   * ones go unlogged (this set only quiets the log; it decides nothing).
   */
  readonly #invalidLogged = new Set<string>();
  /** The issuer that introspects tokens that are not JWTs of a JWT-trusted issuer (the first configured with introspection). */
  readonly opaque: IssuerRuntime | undefined;

  constructor(options: ResolvedOptions, health: AsHealth) {
    this.#options = options;
    this.#health = health;
    for (const config of options.issuers) this.#configured.set(config.issuer, this.#runtime(config, Infinity, -Infinity));
    this.opaque = [...this.#configured.values()].find((r) => r.introspector && r.config.validation !== 'jwt');
    if (options.resolveIssuer) {
      this.#dynamic = new LRUCache<string, IssuerRuntime>({
        max: MAX_DYNAMIC_ISSUERS,
        // An issuer pushed out by others is asked about again, with its cached verdicts: so that forgetIssuer(),
        // which no longer finds it here, cannot leave verdicts behind that are still believed.
        dispose: (runtime, _iss, reason) => {
          if (reason === 'evict') runtime.trustedUntilMs = Math.min(runtime.trustedUntilMs, 0);
        },
      });
    }
  }

  /** Whether unknown issuers may be asked about (`resolveIssuer` is configured). */
  get resolves(): boolean {
    return this.#dynamic !== undefined;
  }

  /** The state of `iss` if it is trusted now (configured, or vouched for and not lapsed), touching its recency. */
  trusted(iss: string): IssuerRuntime | undefined {
    const known = this.#configured.get(iss) ?? this.#dynamic?.get(iss);
    return known && Date.now() < known.trustedUntilMs ? known : undefined;
  }

  /** The state of a trusted issuer without touching its recency (for explanations of refusals). */
  peek(iss: string): IssuerRuntime | undefined {
    return this.#configured.get(iss) ?? this.#dynamic?.peek(iss);
  }

  /**
   * Fetch every configured issuer's keys now. Never throws. An issuer given a `secret` and no `jwksUri` is left to its
   * first asymmetric token: it may well sign with the secret only, and a start-up that discovers metadata it does not
   * have would log an AS failure that is none.
   */
  async warmUp(): Promise<void> {
    await Promise.all(
      [...this.#configured.values()].map((runtime) => (runtime.secret && !runtime.config.jwksUri ? undefined : runtime.keys?.warm())),
    );
  }

  /**
   * Withdraw the trust `resolveIssuer` gave `iss`, at once (see TokenVerifier.forgetIssuer). True when there
   * was something to forget; a configured issuer is never forgotten (false).
   */
  forget(iss: string): boolean {
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
  resolve(iss: string): Promise<IssuerRuntime> {
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
    const options = this.#options;
    let entry;
    try {
      // Bounded: the shared call must not hold every request of this issuer forever.
      entry = await withDeadline(options.resolveIssuer!(iss), options.http.timeoutMs);
    } catch (err) {
      // Fail closed: an earlier answer is never prolonged because the resolver cannot answer now.
      if (!this.#resolverFailing) {
        options.logger.error('resolveIssuer threw or did not answer in time: tokens it must vouch for are answered 503', {
          reason: err instanceof Error ? err.message : String(err),
        });
      }
      this.#resolverFailing = true;
      throw new AuthorizationServerUnavailableError('the issuer could not be resolved');
    }
    if (this.#resolverFailing) options.logger.warn('resolveIssuer answers again');
    this.#resolverFailing = false;
    if (asked.withdrawn) throw notTrusted(); // forgotten while the resolver was answering
    const runtime = entry === undefined ? undefined : this.#vouched(iss, entry);
    if (!runtime) {
      if (this.#withdraw(iss)) options.logger.warn('resolveIssuer no longer trusts an issuer: its tokens are refused', { issuer: iss });
      throw notTrusted();
    }
    runtime.trustedUntilMs = Date.now() + options.resolveIssuerTtlMs;
    this.#dynamic!.set(iss, runtime);
    return runtime;
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
      this.#invalidLogged.delete(iss);
      if (known && sameIssuerSettings(known.config, config)) return known;
      const now = Date.now();
      const fresh = this.#runtime(config, now, now);
      // New settings: the old state's cached verdicts are checked again under them (requests under way finish).
      if (known) known.trustedUntilMs = Math.min(known.trustedUntilMs, 0);
      return fresh;
    } catch (err) {
      this.#logInvalid(iss, err);
      return undefined;
    }
  }

  /** Log an unusable resolver entry once per issuer (a misconfiguration, met again by every new token of it). */
  #logInvalid(iss: string, err: unknown): void {
    const logged = this.#invalidLogged;
    if (logged.has(iss) || logged.size > MAX_INVALID_LOGGED) return;
    if (logged.size === MAX_INVALID_LOGGED) {
      logged.add(iss);
      this.#options.logger.error(`resolveIssuer returned invalid issuers for ${MAX_INVALID_LOGGED} issuers: further ones are not logged`);
      return;
    }
    logged.add(iss);
    this.#options.logger.error('resolveIssuer returned an invalid issuer: its tokens are refused', {
      // The token's `iss`, which the resolver answered for: clipped, as text a client chose.
      issuer: iss.slice(0, 200),
      reason: err instanceof Error ? err.message : String(err),
    });
  }

  #runtime(config: ResolvedIssuer, trustedUntilMs: number, trustedSinceMs: number): IssuerRuntime {
    const options = this.#options;
    const http = {
      timeoutMs: options.http.timeoutMs,
      maxBytes: options.http.maxResponseBytes,
      retryIntervalMs: options.http.retryIntervalMs,
    };
    // Keys are needed only where tokens are verified locally.
    const hasAsymmetric = config.validation !== 'introspection' && [...config.algorithms].some((alg) => !alg.startsWith('HS'));
    let keys: RemoteKeySet | StaticKeySet | undefined;
    if (hasAsymmetric) {
      keys = config.jwks
        ? staticKeys(config)
        : new RemoteKeySet(jwksUriOf(config, http), {
            issuer: config.issuer,
            cooldownMs: options.jwks.cooldownMs,
            maxAgeMs: options.jwks.maxAgeMs,
            ...http,
            health: this.#health,
          });
    }
    return {
      config,
      policy: compileProfile(config.profile, options),
      introspector: config.introspection
        ? new Introspector(config.issuer, config.introspection, {
            ...http,
            clockToleranceSeconds: options.clockToleranceSeconds,
            health: this.#health,
          })
        : undefined,
      keys,
      secret: config.secret !== undefined ? importSecret(config.secret) : undefined,
      trustedUntilMs,
      trustedSinceMs,
    };
  }
}

/** The issuer's JWKS URI: configured, or from its metadata (discovered on first use, again after a failure). */
function jwksUriOf(
  config: ResolvedIssuer,
  http: { timeoutMs: number; maxBytes: number; retryIntervalMs: number },
): () => string | Promise<string> {
  let discovered: Promise<string> | undefined;
  return () => {
    if (config.jwksUri) return config.jwksUri;
    discovered ??= discoverAuthorizationServer(config.issuer, http).then(
      ({ metadata }) => {
        if (typeof metadata.jwks_uri !== 'string') {
          throw new AuthorizationServerCallError({
            issuer: config.issuer,
            step: 'discovery',
            url: oauthMetadataUrl(config.issuer),
            failure: { kind: 'invalid_answer', detail: 'the metadata has no jwks_uri' },
          });
        }
        return metadata.jwks_uri;
      },
      (err: unknown) => {
        discovered = undefined; // retry discovery on a later request
        throw err;
      },
    );
    return discovered;
  };
}

function staticKeys(config: ResolvedIssuer): StaticKeySet {
  try {
    return new StaticKeySet(config.jwks);
  } catch (err) {
    throw new ConfigurationError(`oauth-resource-server: the jwks of ${config.issuer} is unusable: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** `value`, or a rejection when it is a promise that does not settle within `ms`. */
function withDeadline<T>(value: T | PromiseLike<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref(); // a late answer is of no use to anyone: it must not keep the process alive
    Promise.resolve(value)
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}
