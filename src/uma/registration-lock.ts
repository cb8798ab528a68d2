/**
 * The registration lock: changes of the mapping run one at a time in this process, and under a lock in the
 * store across the replicas that share it (when the store is atomic), reading the mapping afresh.
 */
import { isAtomicStore, type CacheStore } from '../stores/store.js';
import { namespaceSuffix, type StoredMapping } from './registration-mapping.js';

/** What the lock is of: one registrar (its AS, client id and namespace) in one store. */
export interface RegistrationLockSettings {
  store: CacheStore;
  issuer: string;
  clientId: string;
  namespace: string;
  /** Read afresh once the lock is held. */
  mapping: StoredMapping;
  /** Deadline of each call to the AS, ms: the leases follow from it. */
  timeoutMs: number;
}

/** Runs the changes of one registrar's mapping alone. */
export class RegistrationLock {
  readonly #store: CacheStore;
  readonly #name: string;
  readonly #mapping: StoredMapping;
  readonly #timeoutMs: number;
  /** The tail of the queue of mapping changes in this process (see {@link RegistrationLock.exclusive}). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(settings: RegistrationLockSettings) {
    this.#store = settings.store;
    this.#name = `uma-registration:${settings.issuer}:${settings.clientId}${namespaceSuffix(settings.namespace)}`;
    this.#mapping = settings.mapping;
    this.#timeoutMs = settings.timeoutMs;
  }

  /**
   * Run a change of the mapping alone: one at a time in this process, and under the registration lock across
   * replicas when the store is atomic, reading the mapping afresh. Otherwise two registrations of one object
   * would both create it, and a sync saving the mapping it read before would drop a registration made meanwhile.
   * `leaseMs`: how long the lock is held at most; default, long enough for one object's change.
   */
  exclusive<T>(fn: () => Promise<T>, leaseMs = this.#changeLeaseMs()): Promise<T> {
    const store = this.#store;
    const run = () => {
      if (!isAtomicStore(store)) return fn();
      return store.withLock(this.#name, leaseMs, async () => {
        await this.#mapping.reload(); // another replica may have changed it
        return fn();
      });
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /**
   * A sync's lease: longer than the worst sync (a few calls per declared resource, each bounded by the timeout);
   * capped, so a holder that died (thousands of run-time objects declared) does not block every replica for hours.
   */
  syncLeaseMs(declared: number): number {
    return Math.min(15 * 60_000, Math.max(30_000, (declared + 2) * 3 * this.#timeoutMs));
  }

  /** One object's change (register, deregister, a re-registration): a handful of calls. */
  #changeLeaseMs(): number {
    return Math.max(10_000, 6 * this.#timeoutMs);
  }
}
