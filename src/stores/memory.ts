/** An in-process {@link CacheStore} on lru-cache: bounded, with per-entry TTLs. */
import { LRUCache } from 'lru-cache';
import type { CacheStore } from './store.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most entries. Default 10,000. */
  maxEntries?: number;
}

/** A bounded in-memory store (for one process, or for tests of the store path). */
export class MemoryStore implements CacheStore {
  readonly #cache: LRUCache<string, string>;

  constructor(options: MemoryStoreOptions = {}) {
    this.#cache = new LRUCache<string, string>({ max: options.maxEntries ?? 10_000, ttlAutopurge: false, ttl: 1 });
  }

  async get(key: string): Promise<string | undefined> {
    return this.#cache.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs > 0) this.#cache.set(key, value, { ttl: ttlMs });
  }

  async delete(key: string): Promise<void> {
    this.#cache.delete(key);
  }
}
