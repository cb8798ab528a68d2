/**
 * Where registration stands (for health checks), and the warnings a sync logs about it: once per change,
 * never per attempt, since retries (some driven by requests) repeat the same failure.
 */
import { wasReported } from '../http/as-failure.js';
import type { Logger } from '../config/options.js';
import type { SyncOutcome, SyncPlan } from './sync.js';

/** Where registration stands (for health checks). */
export interface RegistrationStatus {
  state: 'idle' | 'syncing' | 'registered' | 'failing';
  /** Keys registered at the AS. */
  registered: string[];
  /** Keys declared but not (yet) registered. */
  pending: string[];
  /** The last failure, without secrets. */
  lastError?: string;
  /**
   * Sets at the AS marked as declared by this API that nothing declares now (found by the last sync): reported,
   * never touched, until `sync({ prune: true })` (or `oauth-resource-server sync --prune`) deletes them.
   */
  orphans?: Array<{ key: string; id: string; name?: string }>;
  /** When the next attempt runs (after a failure). */
  nextAttemptAt?: Date;
}

/** A sync's outcome with the orphans it reports. */
export type ReportedOutcome = SyncOutcome & { orphans: SyncPlan['orphans'] };

/** A sync that failed as a whole (the AS or the store could not be reached). */
export interface FailedSync {
  error: unknown;
  /** What was registered before it. */
  registered: string[];
  /** Declared keys the mapping does not hold. */
  pending: string[];
  /** The AS, for the log line. */
  issuer: string;
}

/** The status of one registrar, and its log lines about it. */
export class RegistrationReport {
  #status: RegistrationStatus = { state: 'idle', registered: [], pending: [] };
  /** The orphans last reported (their ids), so the same ones are not reported at every sync. */
  #orphanIds = '';
  /** The last warning logged by a sync (not repeated while syncs keep failing the same way). */
  #lastWarning: string | undefined;
  readonly #logger: Logger | undefined;

  constructor(logger: Logger | undefined) {
    this.#logger = logger;
  }

  /** The status itself (not a copy: for reading inside the registrar). */
  get current(): RegistrationStatus {
    return this.#status;
  }

  /** A copy of the status, for callers. */
  snapshot(): RegistrationStatus {
    const status = this.#status;
    const orphans = status.orphans ? { orphans: status.orphans.map((o) => ({ ...o })) } : {};
    return { ...status, registered: [...status.registered], pending: [...status.pending], ...orphans };
  }

  /** A sync holds the lock and begins. */
  syncing(): void {
    this.#status = { ...this.#status, state: 'syncing' };
  }

  /** The background sync retries at `at`. */
  retryAt(at: Date): void {
    this.#status.nextAttemptAt = at;
  }

  /** A sync ran: what the declared keys now are, what failed (logged once until it changes), the orphans. */
  settled(outcome: ReportedOutcome, declared: readonly string[]): void {
    const failed = new Set(outcome.failures.map((f) => f.key));
    const failures = (list: SyncOutcome['failures']) =>
      list
        .map((f) => `${f.key}: ${f.error.message}`)
        .join('; ')
        .slice(0, 500);
    this.#status = {
      state: outcome.failures.length ? 'failing' : 'registered',
      registered: declared.filter((k) => outcome.mapping[k] && !failed.has(k)),
      pending: declared.filter((k) => !outcome.mapping[k] || failed.has(k)),
      ...(outcome.failures.length ? { lastError: failures(outcome.failures) } : {}),
      ...(outcome.orphans.length ? { orphans: outcome.orphans } : {}),
    };
    // Failed AS calls were logged where they failed; the rest (the AS refusing a description) once until it changes.
    const unreported = outcome.failures.filter((f) => !wasReported(f.error));
    if (unreported.length) this.#warnOnChange('some resources could not be registered', { failures: failures(unreported) });
    else this.#lastWarning = undefined;
    this.#reportOrphans(outcome.orphans);
  }

  /** A sync failed as a whole. */
  failed(sync: FailedSync): void {
    const message = sync.error instanceof Error ? sync.error.message : String(sync.error);
    this.#status = { state: 'failing', registered: sync.registered, pending: sync.pending, lastError: message.slice(0, 500) };
    // A failed call to the AS was logged where it failed (once per outage); anything else (the store) is logged here.
    if (!wasReported(sync.error)) {
      this.#warnOnChange('resource registration failed; will retry', { issuer: sync.issuer, reason: this.#status.lastError });
    }
  }

  /** Warn when the orphans found change (not at every sync that finds the same ones). */
  #reportOrphans(orphans: SyncPlan['orphans']): void {
    const ids = orphans
      .map((o) => o.id)
      .sort()
      .join(' ');
    if (ids === this.#orphanIds) return;
    this.#orphanIds = ids;
    if (orphans.length) {
      const found = orphans
        .map((o) => `${o.key} (${o.id})`)
        .join(', ')
        .slice(0, 500);
      this.#logger?.warn(
        'resource sets of this API at the AS are declared by no route; `sync({ prune: true })` (CLI: sync --prune) deletes them',
        { orphans: found },
      );
    }
  }

  /** Log a warning unless it repeats the last one: retries (some driven by requests) never log per attempt. */
  #warnOnChange(message: string, details: Record<string, unknown>): void {
    const text = `${message} ${JSON.stringify(details)}`;
    if (text === this.#lastWarning) return;
    this.#lastWarning = text;
    this.#logger?.warn(message, details);
  }
}
