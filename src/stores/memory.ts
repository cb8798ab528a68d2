/**
 * An in-process {@link AtomicStore}: cached values in a bounded LRU, and set-if-absent claims (a DPoP replay
 * set, a single-flight claim) apart from it, kept for their whole TTL and never evicted by traffic.
 */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ExpiringSet } from './expiring-set.js';
import { StoreError } from './store-error.js';
import { runWithLease, type AtomicStore, type LockOptions } from './store.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most cached values written with `set` (the least recently used are dropped beyond it). Default 10,000. */
  maxEntries?: number;
  /**
   * Most live claims written with `setIfAbsent`. A claim is never dropped before its TTL: when this many
   * are live, `setIfAbsent` rejects (a DPoP replay check then answers 503). As a `dpop.replayStore`, size it
   * like `dpop.maxReplayEntries`. Default: `maxEntries`.
   */
  maxClaims?: number;
}

/** TTLs this long (or not finite) are kept this long, as "no expiry". */
const LONGEST_CLAIM_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * A bounded in-memory store (for one process, or for tests of the store path). Its set-if-absent and
 * locks are exact within the process and know nothing of other processes: use {@link RedisStore} for that.
 */
export class MemoryStore implements AtomicStore {
  readonly #cache: LRUCache<string, string>;
  /** Live claims: key → value and the group that expires it. A key is a claim or a cached value, never both. */
  readonly #claims = new Map<string, { value: string; group: ExpiringSet }>();
  /** Claims grouped by TTL: within one group insertion order is expiry order, so expiry costs no scan. */
  readonly #groups = new Map<number, ExpiringSet>();
  readonly #maxClaims: number;
  /** Held locks: name → holder's token and lease end (kept apart from the LRU so none is evicted). */
  readonly #locks = new Map<string, { token: string; untilMs: number }>();

  constructor(options: MemoryStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    this.#cache = new LRUCache<string, string>({ max: maxEntries, ttlAutopurge: false, ttl: 1 });
    this.#maxClaims = options.maxClaims ?? maxEntries;
    if (!(this.#maxClaims >= 1)) throw new RangeError('MemoryStore maxClaims must be at least 1');
  }

  async get(key: string): Promise<string | undefined> {
    const claim = this.#claims.get(key);
    if (claim && claim.group.has(key, Date.now())) return claim.value;
    return this.#cache.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#release(key);
    if (ttlMs > 0) this.#cache.set(key, value, { ttl: ttlMs });
    else this.#cache.delete(key);
  }

  async delete(key: string): Promise<void> {
    this.#release(key);
    this.#cache.delete(key);
  }

  /** Rejects, storing nothing, when `maxClaims` claims are live: a claim is never forgotten to make room. */
  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (!(ttlMs > 0)) return false;
    const now = Date.now();
    for (const [ttl, group] of this.#groups) {
      group.prune(now);
      if (group.size === 0) this.#groups.delete(ttl);
    }
    const held = this.#claims.get(key);
    if ((held && held.group.has(key, now)) || this.#cache.has(key)) return false;
    if (!held && this.#claims.size >= this.#maxClaims) {
      throw new StoreError({
        code: 'ERR_STORE_FULL',
        message:
          `the MemoryStore holds ${this.#maxClaims} live claims (maxClaims) and forgets none early: ` + 'try again when the oldest expire',
      });
    }
    const life = Math.min(ttlMs, LONGEST_CLAIM_MS);
    let group = this.#groups.get(life);
    if (!group) {
      const created = new ExpiringSet({
        ttlMs: life,
        maxEntries: Infinity,
        onExpire: (expired) => {
          if (this.#claims.get(expired)?.group === created) this.#claims.delete(expired);
        },
      });
      this.#groups.set(life, created);
      group = created;
    }
    held?.group.delete(key);
    group.add(key, now);
    this.#claims.set(key, { value, group });
    return true;
  }

  /** Drop the claim under `key`, if any. */
  #release(key: string): void {
    const claim = this.#claims.get(key);
    if (!claim) return;
    claim.group.delete(key);
    this.#claims.delete(key);
  }

  async withLock<T>(name: string, leaseMs: number, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    if (!(leaseMs > 0)) throw new RangeError('the lock lease must be a positive number of ms');
    const token = randomBytes(16).toString('hex');
    const tryAcquire = async () => {
      const held = this.#locks.get(name);
      if (held && Date.now() < held.untilMs) return false;
      this.#locks.set(name, { token, untilMs: Date.now() + leaseMs });
      return true;
    };
    const release = async () => {
      if (this.#locks.get(name)?.token === token) this.#locks.delete(name);
    };
    return runWithLease(name, options.waitMs ?? 2 * leaseMs, tryAcquire, release, fn);
  }
}
