/**
 * The registration service: discovers the UMA AS, holds the PAT, keeps the declared resources in sync
 * (at start-up, with retries, exponential backoff and jitter while the AS is down), stores the id
 * mapping, registers per-object resources at run time, and requests permission tickets.
 */
import { discoverUma, type UmaServerMetadata } from '../authz-server/uma-configuration.js';
import { AsHealth, AuthorizationServerCallError, wasReported } from '../http/as-failure.js';
import { ProtectionToken, type ProtectionTokenSettings } from '../authz-server/protection-token.js';
import { DEFAULTS, type Logger } from '../options.js';
import { isAtomicStore, type CacheStore } from '../stores/store.js';
import { MemoryStore } from '../stores/memory.js';
import type { RegisteredResource, ResourceDescription, UmaProfileName } from './profiles.js';
import { ProtectionApiError, ResourceRegistrationClient, type RegistrationClientSettings } from './resource-registration.js';
import { applySync, fingerprint, marked, originOf, planSync, type DeletePolicy, type DesiredResource, type MappingEntry, type SyncContext, type SyncPlan } from './sync.js';
import { namespaceSuffix, StoredMapping } from './registration-mapping.js';

/** How long the reconcile generation is kept (for ever, in practice). */
const FOREVER_MS = 100 * 365 * 24 * 3600 * 1000;

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

interface Connection {
  client: ResourceRegistrationClient;
  metadata: UmaServerMetadata;
  settings: ProtectionTokenSettings;
  clientSettings: Omit<RegistrationClientSettings, 'pat'>;
}

/** Registers an API's resources at an UMA authorization server and keeps them in sync. */
export class UmaRegistrar {
  readonly #o: Required<Pick<UmaRegistrarOptions, 'issuer' | 'clientId' | 'clientSecret'>> & UmaRegistrarOptions;
  readonly #store: CacheStore;
  readonly #declared = new Map<string, DesiredResource>();
  /** Objects registered at run time by this process (the mapping keeps them across restarts too). */
  readonly #runtime = new Map<string, DesiredResource>();
  /** Re-registrations under way, per key: the id the AS lost, and the registration that replaces it. */
  readonly #reregistering = new Map<string, { lostId: string; done: Promise<string | undefined> }>();
  #client: Promise<Connection> | undefined;
  readonly #ownerClients = new Map<string, ResourceRegistrationClient>();
  readonly #mapping: StoredMapping;
  #mappingRefresh: Promise<unknown> | undefined;
  #chain: symbol | undefined;
  #status: RegistrationStatus = { state: 'idle', registered: [], pending: [] };
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #syncing: Promise<RegistrationStatus> | undefined;
  /** The tail of the queue of mapping changes in this process (see {@link UmaRegistrar.#exclusive}). */
  #queue: Promise<unknown> = Promise.resolve();
  #stopped = false;
  /** Between start() and stop(): background work (retries, reconciles) is on. */
  #started = false;
  /** The periodic reconcile's next tick. */
  #reconcileTimer: NodeJS.Timeout | undefined;
  /** The reconcile generation this process last saw (see {@link UmaRegistrar.#syncOnce}). */
  #seenGeneration: number | undefined;
  /** A reconcile triggered by a sign that the AS lost state, under way. */
  #signalled: Promise<unknown> | undefined;
  /** The orphans last reported (their ids), so the same ones are not reported at every sync. */
  #orphanIds = '';
  readonly #logger: Logger | undefined;
  /** Failures of calls to the AS (discovery, PAT, protection API), logged once per state change. */
  readonly #health: AsHealth;
  /** The retry the background chain is waiting to run (see {@link UmaRegistrar.retrySoon}). */
  #retry: (() => void) | undefined;
  #lastAttemptEndedAt = -Infinity;
  /** The last warning logged by a sync (not repeated while syncs keep failing the same way). */
  #lastWarning: string | undefined;

  constructor(options: UmaRegistrarOptions) {
    this.#o = options;
    this.#logger = options.logger || undefined;
    this.#health = new AsHealth(this.#logger);
    this.#store = options.store ?? new MemoryStore();
    this.#mapping = new StoredMapping(this.#store, options.issuer, options.clientId, this.#namespace(), this.#logger);
  }

  /** Declare resources (replacing earlier declarations with the same key). */
  declare(resources: Iterable<DesiredResource>): void {
    for (const r of resources) this.#declared.set(r.key, r);
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
    if (this.#declared.has(key) && this.#syncing) {
      await this.#bounded(this.#syncing).catch(() => undefined);
      known = this.resourceId(key);
      if (known) return known;
    }
    if (Date.now() - this.#mapping.readAt < 1000) return known;
    this.#mappingRefresh ??= this.#mapping.merge()
      .catch(() => undefined)
      .finally(() => {
        this.#mappingRefresh = undefined;
      });
    await this.#mappingRefresh;
    return this.resourceId(key);
  }

  /** The AS's issuer (the `as_uri` of UMA challenges). */
  get issuer(): string {
    return this.#o.issuer;
  }

  /** Where registration stands. */
  status(): RegistrationStatus {
    const s = this.#status;
    return { ...s, registered: [...s.registered], pending: [...s.pending], ...(s.orphans ? { orphans: s.orphans.map((o) => ({ ...o })) } : {}) };
  }

  /** What a sync would do now, without doing it (a dry run). */
  async plan(): Promise<SyncPlan> {
    const { client } = await this.#connect();
    return planSync(client, [...this.#declared.values()].filter((d) => this.#ownPat(d)), await this.#mapping.reload(), this.#context(true));
  }

  /**
   * Sync once: create, update, adopt, take back and delete as planned; orphans are reported in the status, and
   * deleted only with `prune`. Rejects when the AS cannot be reached.
   */
  sync(options: { prune?: boolean } = {}): Promise<RegistrationStatus> {
    if (options.prune) return this.#syncOnce({ prune: true, survey: true });
    this.#syncing ??= this.#syncOnce({ prune: false, survey: true }).finally(() => {
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
    return this.#syncOnce({ prune: false, survey: false, unlessAfter: await this.#readGeneration() });
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
      this.sync().then(
        (s) => {
          if (s.state === 'failing') schedule();
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
      this.#status.nextAttemptAt = new Date(Date.now() + delay);
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
   * (one sync in flight). Requests drive recovery: the API serves again within about that interval of the AS's
   * return, however long the AS was down and however long the back-off has grown.
   */
  retrySoon(): void {
    const retry = this.#retry;
    if (!retry || this.#syncing || this.#stopped || Date.now() - this.#lastAttemptEndedAt < (this.#o.retryIntervalMs ?? DEFAULTS.httpRetryIntervalMs)) return;
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
   * The periodic reconcile: every interval (+0–20 % jitter, so replicas drift apart), skipped when another
   * replica reconciled since this one last looked, so replicas sharing a store reconcile once per interval.
   */
  #scheduleReconcile(): void {
    const intervalMs = this.#o.reconcileIntervalMs ?? DEFAULTS.umaReconcileIntervalMs;
    if (intervalMs === false || !(intervalMs > 0) || this.#stopped) return;
    this.#reconcileTimer = setTimeout(() => {
      this.#reconcileTimer = undefined;
      // While the start-up sync is still retrying, its retries are the reconcile.
      const tick = this.#chain !== undefined ? Promise.resolve() : this.#syncOnce({ prune: false, survey: false, unlessAfter: this.#seenGeneration });
      tick.catch(() => undefined).finally(() => {
        if (!this.#stopped && !this.#reconcileTimer) this.#scheduleReconcile();
      });
    }, Math.round(intervalMs * (1 + Math.random() * 0.2)));
    this.#reconcileTimer.unref?.();
  }

  /**
   * A sign that the AS lost state (`invalid_resource_id`, a PAT refused that it accepted before): while started,
   * reconcile at once, so the sets of quiet routes come back too (one reconcile for the replicas that see it).
   */
  #stateLost(): void {
    if (!this.#started) return;
    this.#signalled ??= this.reconcile()
      .catch(() => undefined)
      .finally(() => {
        this.#signalled = undefined;
      });
  }

  /** Where the replicas of a store count reconciles (a sync counts). */
  #generationKey(): string {
    return `ors:uma-reconciled:${this.#o.issuer}:${this.#o.clientId}${namespaceSuffix(this.#namespace())}`;
  }

  /** The reconcile generation in the store (0 when none, or when the store fails: then the reconcile runs). */
  async #readGeneration(): Promise<number> {
    const raw = await this.#store.get(this.#generationKey()).catch(() => undefined);
    const n = raw === undefined ? 0 : Number(raw);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  /**
   * Register a resource created at run time (an album, a document), now. Returns its `_id`. It lives until
   * {@link UmaRegistrar.deregister}, across restarts and replicas: a sync never deletes it.
   */
  register(resource: DesiredResource): Promise<string> {
    if (!this.#declared.has(resource.key)) this.#runtime.set(resource.key, resource);
    return this.#exclusive(() => this.#registerNow(resource));
  }

  /**
   * Run a change of the mapping alone: one at a time in this process, and under the registration lock across
   * replicas when the store is atomic, reading the mapping afresh. Otherwise two registrations of one object
   * would both create it, and a sync saving the mapping it read before would drop a registration made meanwhile.
   */
  #exclusive<T>(fn: () => Promise<T>, leaseMs = this.#shortLeaseMs()): Promise<T> {
    const store = this.#store;
    const run = () => {
      if (!isAtomicStore(store)) return fn();
      return store.withLock(this.#lockName(), leaseMs, async () => {
        await this.#mapping.reload(); // another replica may have changed it
        return fn();
      });
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #lockName(): string {
    return `uma-registration:${this.#o.issuer}:${this.#o.clientId}${namespaceSuffix(this.#namespace())}`;
  }

  #namespace(): string {
    return this.#o.namespace ?? '';
  }

  #context(survey: boolean): SyncContext {
    return { namespace: this.#namespace(), deletePolicy: this.#o.deleteUndeclared ?? 'managed', ownPat: (m) => this.#ownPat(m), survey };
  }

  /** Register (update, or create) now, inside {@link UmaRegistrar.#exclusive}. `lostId`: the AS no longer has it. */
  async #registerNow(resource: DesiredResource, lostId?: string): Promise<string> {
    const client = await this.#clientFor(resource.owner);
    const mapping = await this.#mapping.load();
    const existing = mapping[resource.key];
    const origin = existing ? originOf(resource.key, existing) : this.#declared.has(resource.key) ? 'declared' : 'registered';
    const wire = marked(resource, this.#namespace(), origin);
    const entry = (id: string): MappingEntry => {
      const { key: _key, ...description } = resource;
      return {
        id,
        fingerprint: fingerprint(client.profile.toWire(wire)),
        managed: true,
        origin,
        ...(this.#ownPat(resource) ? {} : { owner: resource.owner! }),
        // A run-time object's description is kept, so a set the AS lost can be created again after a restart.
        ...(origin === 'registered' ? { resource: description } : {}),
      };
    };
    if (existing && existing.id !== lostId && (await client.update(existing.id, wire))) {
      await this.#mapping.save({ ...mapping, [resource.key]: entry(existing.id) });
      return existing.id;
    }
    const r = await client.create(wire);
    await this.#mapping.save({ ...(await this.#mapping.load()), [resource.key]: entry(r.id) });
    return r.id;
  }

  /** What a key stands for: declared, registered here, or a run-time object another process registered. */
  #describe(key: string): DesiredResource | undefined {
    const known = this.#declared.get(key) ?? this.#runtime.get(key);
    if (known) return known;
    const stored = this.#mapping.current?.[key]?.resource;
    return stored ? { ...stored, key } : undefined;
  }

  /** Replace the description of a run-time resource (a complete update, FedAuthz §3.2.3). */
  async update(resource: DesiredResource): Promise<string> {
    return this.register(resource);
  }

  /** Remove a run-time resource at the AS (404 counts as done). */
  deregister(key: string): Promise<void> {
    this.#declared.delete(key);
    this.#runtime.delete(key);
    return this.#exclusive(() => this.#deregisterNow(key));
  }

  async #deregisterNow(key: string): Promise<void> {
    const mapping = await this.#mapping.load();
    const m = mapping[key];
    if (!m) return;
    const client = await this.#clientFor(m.owner);
    await client.delete(m.id);
    const next = { ...(await this.#mapping.load()) };
    delete next[key];
    await this.#mapping.save(next);
  }

  /**
   * A permission ticket for a resource and scopes (FedAuthz §4). A 400 `invalid_resource_id` means the AS
   * lost the resource: it is registered again, once for all the requests that meet the loss meanwhile, and the
   * ticket requested once more (CONFORMANCE 64).
   */
  async requestTicket(key: string, scopes: string[]): Promise<string> {
    // A re-registration of this key under way: wait for it (bounded), rather than ask with the id it replaces.
    const pending = this.#reregistering.get(key);
    if (pending) await this.#bounded(pending.done).catch(() => undefined);
    // FedAuthz §4.1: the PAT selects the owner, so an owner's resource is asked about with the owner's PAT.
    const client = await this.#clientFor(this.#mapping.current?.[key]?.owner ?? this.#describe(key)?.owner);
    const id = this.resourceId(key);
    if (!id) throw new ProtectionApiError({ operation: 'permission', status: 0, message: `resource ${key} is not registered yet` });
    try {
      return await client.requestTicket([{ resourceId: id, scopes }]);
    } catch (err) {
      if (err instanceof ProtectionApiError && err.error === 'invalid_resource_id') {
        this.#stateLost(); // the AS lost this set: perhaps others too
        const newId = await this.#bounded(this.#reregister(key, id));
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
    const current = this.#reregistering.get(key);
    if (current?.lostId === lostId) return current.done;
    const done = this.#exclusive(async () => {
      const m = (await this.#mapping.load())[key];
      // Gone from the (fresh) mapping: another replica deregistered it; it must not come back from here.
      if (!m) {
        this.#declared.delete(key);
        this.#runtime.delete(key);
        return undefined;
      }
      if (m.id !== lostId) return m.id; // registered again already (another replica)
      const d = this.#describe(key);
      return d ? this.#registerNow(d, lostId) : undefined;
    });
    const settle = () => {
      if (this.#reregistering.get(key)?.done === done) this.#reregistering.delete(key);
    };
    done.then(settle, settle);
    this.#reregistering.set(key, { lostId, done });
    return done;
  }

  /** `p`, or a rejection once a request has waited {@link UmaRegistrarOptions.registrationWaitMs} for it. */
  #bounded<T>(p: Promise<T>): Promise<T> {
    const waitMs = this.#o.registrationWaitMs ?? DEFAULTS.umaRegistrationWaitMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProtectionApiError({ operation: 'permission', status: 0, message: `the registration under way did not finish within ${waitMs} ms` })), waitMs);
      timer.unref?.();
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  /** The protection API client (for advanced use and tests). */
  async client(): Promise<ResourceRegistrationClient> {
    return (await this.#connect()).client;
  }

  /**
   * One sync or reconcile, under the registration lock. Each begins by counting itself in the store's reconcile
   * generation; `unlessAfter` (a reconcile) skips it when the generation is no longer that one: another
   * reconcile or sync began since, here or at another replica.
   */
  async #syncOnce(run: { prune: boolean; survey: boolean; unlessAfter?: number | undefined }): Promise<RegistrationStatus> {
    try {
      return await this.#syncAttempt(run);
    } finally {
      this.#lastAttemptEndedAt = Date.now();
    }
  }

  async #syncAttempt(run: { prune: boolean; survey: boolean; unlessAfter?: number | undefined }): Promise<RegistrationStatus> {
    const before = this.#status;
    try {
      const { client } = await this.#connect();
      const attempt = async () => {
        const generation = await this.#readGeneration();
        if (run.unlessAfter !== undefined && generation !== run.unlessAfter) {
          this.#seenGeneration = generation;
          return undefined;
        }
        this.#status = { ...this.#status, state: 'syncing' };
        this.#seenGeneration = generation + 1;
        await this.#store.set(this.#generationKey(), String(generation + 1), FOREVER_MS).catch(() => undefined);
        // Read the mapping afresh: a replica that held the lock before us may have just registered everything.
        const all = await this.#mapping.reload();
        // Per-owner resources are not listed by the resource server's PAT: the plan leaves them alone.
        const ctx = this.#context(run.survey);
        const plan = await planSync(client, [...this.#declared.values()].filter((d) => this.#ownPat(d)), all, ctx);
        const result = await applySync(client, plan, all, ctx, run.prune);
        await this.#mapping.save(result.mapping);
        // A reconcile that finds sets gone (and a sync after a lost mapping) says what came back, once.
        const created = [...plan.create, ...plan.recreate].map((d) => d.key);
        if (!run.survey && created.length) this.#logger?.warn('the AS had lost resource sets: registered them again', { keys: created.join(', ').slice(0, 500) });
        return { ...result, orphans: run.prune ? [] : run.survey ? plan.orphans : (before.orphans ?? []) };
      };
      // Replicas that start together take turns, so each resource is registered exactly once (with a shared store).
      const outcome = await this.#exclusive(attempt, this.#lockLeaseMs());
      if (!outcome) return this.status(); // another reconcile came first
      const failed = new Set(outcome.failures.map((f) => f.key));
      const keys = [...this.#declared.keys()];
      this.#status = {
        state: outcome.failures.length ? 'failing' : 'registered',
        registered: keys.filter((k) => outcome.mapping[k] && !failed.has(k)),
        pending: keys.filter((k) => !outcome.mapping[k] || failed.has(k)),
        ...(outcome.failures.length ? { lastError: outcome.failures.map((f) => `${f.key}: ${f.error.message}`).join('; ').slice(0, 500) } : {}),
        ...(outcome.orphans.length ? { orphans: outcome.orphans } : {}),
      };
      // Failed AS calls were logged where they failed; the rest (the AS refusing a description) once until it changes.
      const unreported = outcome.failures.filter((f) => !wasReported(f.error));
      if (unreported.length) this.#warnOnChange('some resources could not be registered', { failures: unreported.map((f) => `${f.key}: ${f.error.message}`).join('; ').slice(0, 500) });
      else this.#lastWarning = undefined;
      this.#reportOrphans(outcome.orphans);
    } catch (err) {
      this.#client = undefined; // rediscover next time
      const message = err instanceof Error ? err.message : String(err);
      this.#status = { state: 'failing', registered: before.registered, pending: [...this.#declared.keys()].filter((k) => !this.#mapping.current?.[k]), lastError: message.slice(0, 500) };
      // A failed call to the AS was logged where it failed (once per outage); anything else (the store) is logged here.
      if (!wasReported(err)) this.#warnOnChange('resource registration failed; will retry', { issuer: this.#o.issuer, reason: this.#status.lastError });
      throw err;
    }
    return this.status();
  }

  /** Warn when the orphans found change (not at every sync that finds the same ones). */
  #reportOrphans(orphans: SyncPlan['orphans']): void {
    const ids = orphans.map((o) => o.id).sort().join(' ');
    if (ids === this.#orphanIds) return;
    this.#orphanIds = ids;
    if (orphans.length) {
      this.#logger?.warn('resource sets of this API at the AS are declared by no route; `sync({ prune: true })` (CLI: sync --prune) deletes them', { orphans: orphans.map((o) => `${o.key} (${o.id})`).join(', ').slice(0, 500) });
    }
  }

  /**
   * The protection API client for a resource owner. UMA 2.0 (FedAuthz §1.3) has one PAT per owner: a resource
   * with an `owner` is registered (and its tickets requested) with that owner's PAT, from the refresh token
   * stored by `storeOwnerAuthorization`. Keycloak takes `owner` in the body instead, with the server's PAT.
   */
  async #clientFor(owner: string | undefined): Promise<ResourceRegistrationClient> {
    const c = await this.#connect();
    if (!owner || c.clientSettings.profile === 'keycloak') return c.client;
    let client = this.#ownerClients.get(owner);
    if (!client) {
      client = new ResourceRegistrationClient({ ...c.clientSettings, pat: new ProtectionToken(c.settings, owner) });
      this.#ownerClients.set(owner, client);
    }
    return client;
  }

  /** Resources synced with the resource server's own PAT (per-owner ones are registered one by one). */
  #ownPat(d: { owner?: string | undefined }): boolean {
    return !d.owner || (this.#o.profile ?? 'uma2') === 'keycloak';
  }

  #connect(): Promise<Connection> {
    this.#client ??= (async () => {
      const o = this.#o;
      const timeoutMs = o.timeoutMs ?? 5000;
      const maxBytes = o.maxBytes ?? 1024 * 1024;
      const profile = o.profile ?? 'uma2';
      const e = o.endpoints;
      const metadata: UmaServerMetadata =
        e?.token && e.resourceRegistration && e.permission
          ? { issuer: o.issuer, token_endpoint: e.token, resource_registration_endpoint: e.resourceRegistration, permission_endpoint: e.permission }
          : { ...(await this.#discover(profile, timeoutMs, maxBytes)), ...(e?.token ? { token_endpoint: e.token } : {}), ...(e?.resourceRegistration ? { resource_registration_endpoint: e.resourceRegistration } : {}), ...(e?.permission ? { permission_endpoint: e.permission } : {}) };
      const health = this.#health;
      const settings: ProtectionTokenSettings = { issuer: o.issuer, tokenEndpoint: metadata.token_endpoint, clientId: o.clientId, clientSecret: o.clientSecret, timeoutMs, maxBytes, store: this.#store, health };
      const clientSettings = { profile, registrationEndpoint: metadata.resource_registration_endpoint, permissionEndpoint: metadata.permission_endpoint, timeoutMs, maxBytes, issuer: o.issuer, health, onStateLoss: () => this.#stateLost() };
      const client = new ResourceRegistrationClient({ ...clientSettings, pat: new ProtectionToken(settings) });
      return { client, metadata, settings, clientSettings };
    })().catch((err: unknown) => {
      this.#client = undefined;
      throw err;
    });
    return this.#client;
  }

  /** Log a warning unless it repeats the last one: retries (some driven by requests) never log per attempt. */
  #warnOnChange(message: string, details: Record<string, unknown>): void {
    const text = `${message} ${JSON.stringify(details)}`;
    if (text === this.#lastWarning) return;
    this.#lastWarning = text;
    this.#logger?.warn(message, details);
  }

  /** The UMA metadata, its failure reported once per outage. */
  async #discover(profile: UmaProfileName, timeoutMs: number, maxBytes: number): Promise<UmaServerMetadata> {
    try {
      const metadata = await discoverUma(this.#o.issuer, profile, { timeoutMs, maxBytes });
      this.#health.ok(this.#o.issuer, 'discovery');
      return metadata;
    } catch (err) {
      if (err instanceof AuthorizationServerCallError) this.#health.failed(err);
      throw err;
    }
  }

  /**
   * Longer than the worst sync: a few calls per declared resource, each bounded by the timeout; capped, so
   * a holder that died (thousands of run-time objects declared) does not block every replica for hours.
   */
  #lockLeaseMs(): number {
    return Math.min(15 * 60_000, Math.max(30_000, (this.#declared.size + 2) * 3 * (this.#o.timeoutMs ?? 5000)));
  }

  /** One object's change (register, deregister, a re-registration): a handful of calls. */
  #shortLeaseMs(): number {
    return Math.max(10_000, 6 * (this.#o.timeoutMs ?? 5000));
  }
}

export type { DesiredResource, RegisteredResource, ResourceDescription };
