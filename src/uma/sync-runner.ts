/**
 * One sync or reconcile of a registrar, under the registration lock: plan against the AS (sync.ts), apply, save
 * the mapping, and report where registration stands. Each begins by counting itself in the store's reconcile
 * generation, so a reconcile can tell that another one (here or at another replica) came first, and skip.
 */
import type { ProtectionConnection } from './protection-connection.js';
import type { ResolvedUmaOptions } from './registrar-options.js';
import type { ReconcileGeneration } from './reconcile-generation.js';
import type { RegistrationLock } from './registration-lock.js';
import type { StoredMapping } from './registration-mapping.js';
import type { RegistrationReport, RegistrationStatus } from './registration-status.js';
import type { ResourceCatalog } from './resource-catalog.js';
import { applySync, planSync, type DesiredResource, type SyncContext, type SyncPlan } from './sync.js';

/** What one run does. */
export interface SyncRun {
  /** Delete the orphans too. */
  prune: boolean;
  /** Look for orphans and run-time objects the mapping lost (a sync); without it, a reconcile. */
  survey: boolean;
  /** Skip the run unless the generation is still this one (a reconcile). */
  unlessAfter?: number | undefined;
}

/** What a runner works with (one registrar's parts). */
export interface SyncRunnerParts {
  options: ResolvedUmaOptions;
  connection: ProtectionConnection;
  mapping: StoredMapping;
  catalog: ResourceCatalog;
  lock: RegistrationLock;
  generation: ReconcileGeneration;
  report: RegistrationReport;
}

/** Runs syncs and reconciles. */
export class SyncRunner {
  readonly #options: ResolvedUmaOptions;
  readonly #connection: ProtectionConnection;
  readonly #mapping: StoredMapping;
  readonly #catalog: ResourceCatalog;
  readonly #lock: RegistrationLock;
  readonly #generation: ReconcileGeneration;
  readonly #report: RegistrationReport;
  #lastAttemptEndedAt = -Infinity;

  constructor(parts: SyncRunnerParts) {
    this.#options = parts.options;
    this.#connection = parts.connection;
    this.#mapping = parts.mapping;
    this.#catalog = parts.catalog;
    this.#lock = parts.lock;
    this.#generation = parts.generation;
    this.#report = parts.report;
  }

  /** When the last run ended (ms since the epoch; -Infinity before any). */
  get lastAttemptEndedAt(): number {
    return this.#lastAttemptEndedAt;
  }

  /** What a sync would do now, without doing it (a dry run). */
  async plan(): Promise<SyncPlan> {
    const { client } = await this.#connection.connect();
    return planSync(client, this.#ownPatDeclared(), await this.#mapping.reload(), this.#context(true));
  }

  /**
   * One sync or reconcile, under the registration lock. Each begins by counting itself in the store's reconcile
   * generation; `unlessAfter` (a reconcile) skips it when the generation is no longer that one: another
   * reconcile or sync began since, here or at another replica.
   */
  async run(run: SyncRun): Promise<RegistrationStatus> {
    try {
      return await this.#attempt(run);
    } finally {
      this.#lastAttemptEndedAt = Date.now();
    }
  }

  async #attempt(run: SyncRun): Promise<RegistrationStatus> {
    const before = this.#report.current;
    try {
      const { client } = await this.#connection.connect();
      const attempt = async () => {
        const generation = await this.#generation.read();
        if (run.unlessAfter !== undefined && generation !== run.unlessAfter) {
          this.#generation.saw(generation);
          return undefined;
        }
        this.#report.syncing();
        await this.#generation.begin(generation);
        // Read the mapping afresh: a replica that held the lock before us may have just registered everything.
        const all = await this.#mapping.reload();
        // Per-owner resources are not listed by the resource server's PAT: the plan leaves them alone.
        const ctx = this.#context(run.survey);
        const plan = await planSync(client, this.#ownPatDeclared(), all, ctx);
        const result = await applySync(client, plan, all, ctx, { prune: run.prune });
        await this.#mapping.save(result.mapping);
        // A reconcile that finds sets gone (and a sync after a lost mapping) says what came back, once.
        const created = [...plan.create, ...plan.recreate].map((d) => d.key);
        if (!run.survey && created.length) {
          this.#options.logger?.warn('the AS had lost resource sets: registered them again', { keys: created.join(', ').slice(0, 500) });
        }
        return { ...result, orphans: run.prune ? [] : run.survey ? plan.orphans : (before.orphans ?? []) };
      };
      // Replicas that start together take turns, so each resource is registered exactly once (with a shared store).
      const outcome = await this.#lock.exclusive(attempt, this.#lock.syncLeaseMs(this.#catalog.declared.size));
      if (!outcome) return this.#report.snapshot(); // another reconcile came first
      this.#report.settled(outcome, [...this.#catalog.declared.keys()]);
    } catch (err) {
      this.#connection.forget(); // rediscover next time
      const pending = [...this.#catalog.declared.keys()].filter((k) => !this.#mapping.current?.[k]);
      this.#report.failed({ error: err, registered: before.registered, pending, issuer: this.#options.issuer });
      throw err;
    }
    return this.#report.snapshot();
  }

  /** The declared resources a sync registers with the resource server's own PAT. */
  #ownPatDeclared(): DesiredResource[] {
    return [...this.#catalog.declared.values()].filter((d) => this.#connection.ownPat(d));
  }

  #context(survey: boolean): SyncContext {
    const { namespace, deleteUndeclared } = this.#options;
    return { namespace, deletePolicy: deleteUndeclared, ownPat: (m) => this.#connection.ownPat(m), survey };
  }
}
