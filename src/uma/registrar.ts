/**
 * The registration service: discovers the UMA AS, holds the PAT, keeps the declared resources in sync
 * (at start-up, with retries, exponential backoff and jitter while the AS is down), stores the id
 * mapping, registers per-object resources at run time, and requests permission tickets. This is the façade
 * over its parts: options (resolve-uma-options.ts), the connection to the AS, the registration lock, syncs
 * (sync-runner.ts), the background work (reconcile-scheduler.ts), and what requests wait for
 * (pending-registrations.ts).
 */
import { ProtectionApiError, type ResourceRegistrationClient } from './resource-registration.js';
import type { RegisteredResource, ResourceDescription } from './profiles.js';
import type { DesiredResource, SyncPlan } from './sync.js';
import type { Logger } from '../config/options.js';
import type { UmaRegistrarOptions } from './registrar-options.js';
import { resolveUmaOptions } from './resolve-uma-options.js';
import { StoredMapping } from './registration-mapping.js';
import { RegistrationReport, type RegistrationStatus } from './registration-status.js';
import { ProtectionConnection } from './protection-connection.js';
import { RegistrationLock } from './registration-lock.js';
import { ReconcileGeneration } from './reconcile-generation.js';
import { ReconcileScheduler } from './reconcile-scheduler.js';
import { PendingRegistrations } from './pending-registrations.js';
import { ResourceCatalog } from './resource-catalog.js';
import { RegistrationWriter } from './registration-writer.js';
import { SyncRunner } from './sync-runner.js';

/** Registers an API's resources at an UMA authorization server and keeps them in sync. */
export class UmaRegistrar {
  readonly #issuer: string;
  readonly #logger: Logger | undefined;
  readonly #mapping: StoredMapping;
  readonly #catalog: ResourceCatalog;
  readonly #connection: ProtectionConnection;
  readonly #lock: RegistrationLock;
  readonly #generation: ReconcileGeneration;
  readonly #report: RegistrationReport;
  readonly #runner: SyncRunner;
  readonly #writer: RegistrationWriter;
  readonly #scheduler: ReconcileScheduler;
  readonly #pending: PendingRegistrations;
  #mappingRefresh: Promise<unknown> | undefined;
  #syncing: Promise<RegistrationStatus> | undefined;

  /** Throws a `ConfigurationError` for an unknown option name or a wrong value. */
  constructor(options: UmaRegistrarOptions) {
    const resolved = resolveUmaOptions(options);
    const { issuer, clientId, namespace, store, logger } = resolved;
    this.#issuer = issuer;
    this.#logger = logger;
    this.#mapping = new StoredMapping({ store, issuer, clientId, namespace, logger });
    this.#catalog = new ResourceCatalog(this.#mapping);
    this.#report = new RegistrationReport(logger);
    this.#connection = new ProtectionConnection(resolved, () => this.#scheduler.stateLost());
    this.#lock = new RegistrationLock({ store, issuer, clientId, namespace, mapping: this.#mapping, timeoutMs: resolved.timeoutMs });
    this.#generation = new ReconcileGeneration({ store, issuer, clientId, namespace });
    this.#pending = new PendingRegistrations(resolved.registrationWaitMs);
    this.#writer = new RegistrationWriter({ connection: this.#connection, mapping: this.#mapping, catalog: this.#catalog, namespace });
    this.#runner = new SyncRunner({
      options: resolved,
      connection: this.#connection,
      mapping: this.#mapping,
      catalog: this.#catalog,
      lock: this.#lock,
      generation: this.#generation,
      report: this.#report,
    });
    this.#scheduler = new ReconcileScheduler(resolved, {
      sync: () => this.sync(),
      reconcile: () => this.reconcile(),
      reconcileUnlessSeen: () => this.#runner.run({ prune: false, survey: false, unlessAfter: this.#generation.seen }),
      syncInFlight: () => this.#syncing !== undefined,
      lastAttemptEndedAt: () => this.#runner.lastAttemptEndedAt,
      retryAt: (at) => this.#report.retryAt(at),
    });
  }

  /** Declare resources (replacing earlier declarations with the same key). */
  declare(resources: Iterable<DesiredResource>): void {
    this.#catalog.declare(resources);
  }

  /** The AS's `_id` of a declared resource, once registered (as this process last read the mapping). */
  resourceId(key: string): string | undefined {
    return this.#mapping.current?.[key]?.id;
  }

  /**
   * The AS's `_id` of a resource, reading the shared mapping again (at most once a second) when this process
   * does not know it: another replica may have registered it at run time.
   */
  async lookupResourceId(key: string): Promise<string | undefined> {
    let known = this.resourceId(key);
    if (known) return known;
    // Declared, and a sync under way (the start-up one): wait for it (bounded), rather than answer 503 meanwhile.
    if (this.#catalog.declared.has(key) && this.#syncing) {
      await this.#pending.bounded(this.#syncing).catch(() => undefined);
      known = this.resourceId(key);
      if (known) return known;
    }
    if (Date.now() - this.#mapping.readAt < 1000) return known;
    this.#mappingRefresh ??= this.#mapping
      .merge()
      .catch(() => undefined)
      .finally(() => {
        this.#mappingRefresh = undefined;
      });
    await this.#mappingRefresh;
    return this.resourceId(key);
  }

  /** The AS's issuer (the `as_uri` of UMA challenges). */
  get issuer(): string {
    return this.#issuer;
  }

  /** Where registration stands. */
  status(): RegistrationStatus {
    return this.#report.snapshot();
  }

  /** What a sync would do now, without doing it (a dry run). */
  plan(): Promise<SyncPlan> {
    return this.#runner.plan();
  }

  /**
   * Sync once: create, update, adopt, take back and delete as planned; orphans are reported in the status, and
   * deleted only with `prune`. Rejects when the AS cannot be reached.
   */
  sync(options: { prune?: boolean } = {}): Promise<RegistrationStatus> {
    if (options.prune) return this.#runner.run({ prune: true, survey: true });
    this.#syncing ??= this.#runner.run({ prune: false, survey: true }).finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  /**
   * Reconcile now: create again what the AS lost (declared sets and run-time objects), update what changed,
   * delete what is no longer declared (orphans are not looked for: that is `sync`'s). Skipped when a reconcile or
   * sync began since this call, here or at another replica sharing the store, so replicas that meet the same
   * loss reconcile once.
   */
  async reconcile(): Promise<RegistrationStatus> {
    return this.#runner.run({ prune: false, survey: false, unlessAfter: await this.#generation.read() });
  }

  /**
   * Sync in the background until it succeeds: retries with exponential backoff (1 s doubling to 60 s) and
   * full jitter, so replicas that start together do not retry in step. The app starts regardless.
   */
  start(): void {
    this.#scheduler.start();
  }

  /**
   * A request met a declared resource that is not registered: while the background sync is waiting out its
   * back-off after a failure, sync now instead, at most once per `retryIntervalMs` after the last attempt ended
   * (one sync in flight). Requests drive recovery: the API serves again within about that interval of the AS's
   * return, however long the AS was down and however long the back-off has grown.
   */
  retrySoon(): void {
    this.#scheduler.retrySoon();
  }

  /** Stop background retries and reconciles. */
  stop(): void {
    this.#scheduler.stop();
  }

  /**
   * Register a resource created at run time (an album, a document), now. Returns its `_id`. It lives until
   * {@link UmaRegistrar.deregister}, across restarts and replicas: a sync never deletes it.
   */
  register(resource: DesiredResource): Promise<string> {
    this.#catalog.registered(resource);
    return this.#lock.exclusive(() => this.#writer.register(resource));
  }

  /** Replace the description of a run-time resource (a complete update, FedAuthz §3.2.3). */
  async update(resource: DesiredResource): Promise<string> {
    return this.register(resource);
  }

  /** Remove a run-time resource at the AS (404 counts as done). */
  deregister(key: string): Promise<void> {
    this.#catalog.forget(key);
    return this.#lock.exclusive(() => this.#writer.deregister(key));
  }

  /**
   * A permission ticket for a resource and scopes (FedAuthz §4). A 400 `invalid_resource_id` means the AS
   * lost the resource: it is registered again, once for all the requests that meet the loss meanwhile, and the
   * ticket requested once more (CONFORMANCE 64).
   */
  async requestTicket(key: string, scopes: string[]): Promise<string> {
    // A re-registration of this key under way: wait for it (bounded), rather than ask with the id it replaces.
    const pending = this.#pending.underway(key);
    if (pending) await this.#pending.bounded(pending).catch(() => undefined);
    // FedAuthz §4.1: the PAT selects the owner, so an owner's resource is asked about with the owner's PAT.
    const client = await this.#connection.clientFor(this.#mapping.current?.[key]?.owner ?? this.#catalog.describe(key)?.owner);
    const id = this.resourceId(key);
    if (!id) throw new ProtectionApiError({ operation: 'permission', status: 0, message: `resource ${key} is not registered yet` });
    try {
      return await client.requestTicket([{ resourceId: id, scopes }]);
    } catch (err) {
      if (err instanceof ProtectionApiError && err.error === 'invalid_resource_id') {
        this.#scheduler.stateLost(); // the AS lost this set: perhaps others too
        const newId = await this.#pending.bounded(this.#reregister(key, id));
        if (newId === undefined) throw err;
        return client.requestTicket([{ resourceId: newId, scopes }]);
      }
      if (err instanceof ProtectionApiError && err.error === 'invalid_scope') {
        this.#logger?.error('the AS does not know a scope the route requires: declare it on the resource', { resource: key, scopes });
      }
      throw err;
    }
  }

  /**
   * Register again a resource the AS lost (its `lostId`): one registration per key and lost id in this process,
   * which every request that meets the loss joins; under the lock across replicas, where a replica that comes
   * second finds the new id in the shared mapping. The lost id stays in the mapping until the new one replaces
   * it, so no request meanwhile finds the resource unregistered.
   */
  #reregister(key: string, lostId: string): Promise<string | undefined> {
    return this.#pending.reregister(key, lostId, () =>
      this.#lock.exclusive(async () => {
        const entry = (await this.#mapping.load())[key];
        // Gone from the (fresh) mapping: another replica deregistered it; it must not come back from here.
        if (!entry) {
          this.#catalog.forget(key);
          return undefined;
        }
        if (entry.id !== lostId) return entry.id; // registered again already (another replica)
        const resource = this.#catalog.describe(key);
        return resource ? this.#writer.register(resource, lostId) : undefined;
      }),
    );
  }

  /** The protection API client (for advanced use and tests). */
  client(): Promise<ResourceRegistrationClient> {
    return this.#connection.client();
  }
}

export type { UmaRegistrarOptions } from './registrar-options.js';
export type { RegistrationStatus } from './registration-status.js';
export type { DesiredResource, RegisteredResource, ResourceDescription };
