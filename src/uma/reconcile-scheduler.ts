/**
 * The registrar's background work: the start-up sync, retried with exponential backoff and full jitter until it
 * succeeds (and sooner when requests meet an unregistered resource), the periodic reconcile, and the reconcile
 * that a sign of lost state at the AS triggers.
 */
import type { RegistrationStatus } from './registration-status.js';

/** What the scheduler runs, and what it needs to know of the runs. */
export interface ScheduledWork {
  /** A sync (one in flight at a time); its status says whether it failed. */
  sync(): Promise<RegistrationStatus>;
  /** A reconcile, skipped when another began since this call (here or at another replica). */
  reconcile(): Promise<unknown>;
  /** The periodic reconcile, skipped when another began since this process last looked. */
  reconcileUnlessSeen(): Promise<unknown>;
  /** Whether a sync is in flight. */
  syncInFlight(): boolean;
  /** When the last sync or reconcile ended (ms since the epoch; -Infinity before any). */
  lastAttemptEndedAt(): number;
  /** The next retry runs at `at`. */
  retryAt(at: Date): void;
}

/** Timings of the background work (resolved options). */
export interface ReconcileTimings {
  /** While registration is failing, the least time between two syncs that requests trigger, ms. */
  retryIntervalMs: number;
  /** The periodic reconcile's interval, ms (jittered); `false`: off. */
  reconcileIntervalMs: number | false;
}

/** Starts and stops one registrar's background work. */
export class ReconcileScheduler {
  readonly #timings: ReconcileTimings;
  readonly #work: ScheduledWork;
  /** The retry chain of the latest start() (see {@link ReconcileScheduler.start}). */
  #chain: symbol | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;
  /** Between start() and stop(): background work (retries, reconciles) is on. */
  #started = false;
  /** The periodic reconcile's next tick. */
  #reconcileTimer: NodeJS.Timeout | undefined;
  /** A reconcile triggered by a sign that the AS lost state, under way. */
  #signalled: Promise<unknown> | undefined;
  /** The retry the background chain is waiting to run (see {@link ReconcileScheduler.retrySoon}). */
  #retry: (() => void) | undefined;

  constructor(timings: ReconcileTimings, work: ScheduledWork) {
    this.#timings = timings;
    this.#work = work;
  }

  /**
   * Sync in the background until it succeeds: retries with exponential backoff (1 s doubling to 60 s) and
   * full jitter, so replicas that start together do not retry in step. The app starts regardless.
   */
  start(): void {
    if (this.#chain !== undefined && !this.#stopped) return; // one retry chain, however often start() is called
    this.#stopped = false;
    this.#started = true;
    // A chain left over from before a stop() (its sync still under way) ends instead of retrying.
    const chain = (this.#chain = Symbol('retry chain'));
    const run = () => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#retry = undefined;
      this.#work.sync().then(
        (status) => {
          if (status.state === 'failing') schedule();
          else {
            this.#failures = 0;
            if (this.#chain === chain) this.#chain = undefined; // done: a later start() syncs again
          }
        },
        () => schedule(),
      );
    };
    const schedule = () => {
      if (this.#stopped || this.#chain !== chain) return;
      this.#failures++;
      const cap = Math.min(60_000, 1000 * 2 ** (this.#failures - 1));
      const delay = Math.round(Math.random() * cap);
      this.#work.retryAt(new Date(Date.now() + delay));
      this.#timer = setTimeout(run, delay);
      this.#timer.unref?.();
      this.#retry = run;
    };
    run();
    if (!this.#reconcileTimer) this.#scheduleReconcile();
  }

  /**
   * A request met a declared resource that is not registered: while the background sync is waiting out its
   * back-off after a failure, sync now instead, at most once per `retryIntervalMs` after the last attempt ended
   * (one sync in flight).
   */
  retrySoon(): void {
    const retry = this.#retry;
    if (!retry || this.#work.syncInFlight() || this.#stopped) return;
    if (Date.now() - this.#work.lastAttemptEndedAt() < this.#timings.retryIntervalMs) return;
    retry();
  }

  /** Stop background retries and reconciles. */
  stop(): void {
    this.#stopped = true;
    this.#started = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#retry = undefined;
    if (this.#reconcileTimer) clearTimeout(this.#reconcileTimer);
    this.#reconcileTimer = undefined;
  }

  /**
   * A sign that the AS lost state (`invalid_resource_id`, a PAT refused that it accepted before): while started,
   * reconcile at once, so the sets of quiet routes come back too (one reconcile for the replicas that see it).
   */
  stateLost(): void {
    if (!this.#started) return;
    this.#signalled ??= this.#work
      .reconcile()
      .catch(() => undefined)
      .finally(() => {
        this.#signalled = undefined;
      });
  }

  /**
   * The periodic reconcile: every interval (+0–20 % jitter, so replicas drift apart), skipped when another
   * replica reconciled since this one last looked, so replicas sharing a store reconcile once per interval.
   */
  #scheduleReconcile(): void {
    const intervalMs = this.#timings.reconcileIntervalMs;
    if (intervalMs === false || this.#stopped) return;
    this.#reconcileTimer = setTimeout(
      () => {
        this.#reconcileTimer = undefined;
        // While the start-up sync is still retrying, its retries are the reconcile.
        const tick = this.#chain !== undefined ? Promise.resolve() : this.#work.reconcileUnlessSeen();
        tick
          .catch(() => undefined)
          .finally(() => {
            if (!this.#stopped && !this.#reconcileTimer) this.#scheduleReconcile();
          });
      },
      Math.round(intervalMs * (1 + Math.random() * 0.2)),
    );
    this.#reconcileTimer.unref?.();
  }
}
