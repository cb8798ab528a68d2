/**
 * The options of {@link UmaRegistrar} as given, and as resolve-uma-options.ts resolves them (every default
 * applied, from `DEFAULTS` in options.ts).
 */
import type { Logger } from '../config/options.js';
import type { CacheStore } from '../stores/store.js';
import type { UmaProfileName } from './profiles.js';
import type { DeletePolicy } from './sync.js';

/** Options of {@link UmaRegistrar}. */
export interface UmaRegistrarOptions {
  /** The UMA AS's issuer identifier. */
  issuer: string;
  /** Which protection API the AS speaks. Default `uma2`. */
  profile?: UmaProfileName;
  /** The resource server's client credentials at the AS (for the PAT, client-credentials grant). */
  clientId: string;
  clientSecret: string;
  /** Endpoints, when not discovered from the UMA configuration document. */
  endpoints?: { token?: string; resourceRegistration?: string; permission?: string };
  /** Where the key → `_id` mapping lives. Default in memory (use a FileStore or a shared store to keep it). */
  store?: CacheStore;
  /**
   * Keeps APIs that share a client id (and a store) apart: the mapping, its lock and the ownership of sets at
   * the AS are per namespace, and an API never adopts, updates or deletes a set of another namespace.
   * `umaProtection` defaults it to the resource server's resource identifier; a bare registrar to `''`.
   */
  namespace?: string;
  /** Delete resources the app no longer declares: `managed` (default: only those the kit created) or `none`. */
  deleteUndeclared?: DeletePolicy;
  /** Deadline of each call, ms. Default 5000. */
  timeoutMs?: number;
  /**
   * While registration is failing, the least time between two syncs that requests trigger (see
   * {@link UmaRegistrar.retrySoon}), ms. Default 1000 (`umaProtection`: the resource server's `http.retryIntervalMs`).
   */
  retryIntervalMs?: number;
  /**
   * How often, while started (`start()`, `registerRoutes`), the registrar reconciles the AS with the declarations
   * and the run-time objects, so sets the AS lost come back without a request to their routes, ms; jittered
   * (+0–20 %), shared by the replicas of a store (one reconcile per interval for all of them). `false` turns the
   * periodic reconcile off (signs that the AS lost state still trigger one). Default 10 minutes.
   */
  reconcileIntervalMs?: number | false;
  /**
   * How long a request waits for the registration of its resource under way (the start-up sync, or the
   * re-registration of a set the AS lost) before it is answered without a ticket, ms. Default 10000.
   */
  registrationWaitMs?: number;
  /** Largest accepted AS response, bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Where warnings go; `false` silences. */
  logger?: Logger | false;
}

/**
 * {@link UmaRegistrarOptions} with every default applied: the same names, nested the same way. A value that
 * turns something off is `false` (the periodic reconcile) or `undefined` (the logger, an endpoint to discover).
 */
export interface ResolvedUmaOptions {
  readonly issuer: string;
  readonly profile: UmaProfileName;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Each endpoint given; the others are discovered. */
  readonly endpoints: {
    readonly token: string | undefined;
    readonly resourceRegistration: string | undefined;
    readonly permission: string | undefined;
  };
  readonly store: CacheStore;
  readonly namespace: string;
  readonly deleteUndeclared: DeletePolicy;
  readonly timeoutMs: number;
  readonly retryIntervalMs: number;
  /** `false` when the periodic reconcile is off (also for an interval that is not a positive number). */
  readonly reconcileIntervalMs: number | false;
  readonly registrationWaitMs: number;
  readonly maxBytes: number;
  /** `undefined`: silent. */
  readonly logger: Logger | undefined;
}
