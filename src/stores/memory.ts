/** An in-process {@link AtomicStore} on lru-cache: bounded, with per-entry TTLs. */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { runWithLease, type AtomicStore, type LockOptions } from './store.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most entries (the least recently used are dropped beyond it; locks are not counted). Default 10,000. */
  maxEntries?: number;
}

/**
 * A bounded in-memory store (for one process, or for tests of the store path). Its set-if-absent and
 * locks are exact within the process and know nothing of other processes: use {@link RedisStore} for that.
 */
export class MemoryStore implements AtomicStore {
  readonly #cache: LRUCache<string, string>;
  /** Held locks: name → holder's token and lease end (kept apart from the LRU so none is evicted). */
  readonly #locks = new Map<string, { token: string; untilMs: number }>();

  constructor(options: MemoryStoreOptions = {}) {
    this.#cache = new LRUCache<string, string>({ max: options.maxEntries ?? 10_000, ttlAutopurge: false, ttl: 1 });
  }

  async get(key: string): Promise<string | undefined> {
    return this.#cache.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs > 0) this.#cache.set(key, value, { ttl: ttlMs });
    else this.#cache.delete(key);
  }

  async delete(key: string): Promise<void> {
    this.#cache.delete(key);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (ttlMs <= 0 || this.#cache.has(key)) return false;
    this.#cache.set(key, value, { ttl: ttlMs });
    return true;
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
