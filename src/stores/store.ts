/**
 * The store interface: where verdicts can be shared beyond one process (a Redis store for many replicas
 * arrives later; any key-value store with TTLs fits). Values are strings; keys are the kit's own
 * (hashes, never tokens). A store that fails is bypassed: the kit asks the AS instead (slower, still correct).
 */
export interface CacheStore {
  /** The value under `key`, or undefined. */
  get(key: string): Promise<string | undefined>;
  /** Store `value` under `key` for `ttlMs` milliseconds. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Remove `key`. */
  delete(key: string): Promise<void>;
}
