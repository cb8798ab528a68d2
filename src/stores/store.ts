/**
 * The store interface: where verdicts can be shared beyond one process (Redis for many replicas, or any
 * key-value store with TTLs). Values are strings; keys are the kit's own (hashes, never tokens). A store
 * that fails is bypassed: the kit asks the AS instead (slower, still correct).
 */
import { LockTimeoutError } from './store-error.js';

export interface CacheStore {
  /** The value under `key`, or undefined. */
  get(key: string): Promise<string | undefined>;
  /** Store `value` under `key` for `ttlMs` milliseconds (a `ttlMs` of 0 or less stores nothing). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Remove `key`. */
  delete(key: string): Promise<void>;
}

/** Options of {@link AtomicStore.withLock}. */
export interface LockOptions {
  /**
   * How long to wait for the lock before giving up with a {@link LockTimeoutError}, in ms. Default twice
   * the lease, so a lock whose holder died (its lease expires) is always taken over in time.
   */
  waitMs?: number;
}

/**
 * A {@link CacheStore} that can also decide races: what replicas need to share a DPoP replay set, fetch
 * one PAT for all, and register each resource once. {@link MemoryStore} (in one process) and
 * {@link RedisStore} (across processes) implement it; {@link isAtomicStore} tells a plain store apart.
 */
export interface AtomicStore extends CacheStore {
  /**
   * Store `value` under `key` for `ttlMs` ms only if `key` holds nothing (an expired value counts as
   * nothing). Resolves true for the one caller that stored it, false for every other. The value stays its
   * whole TTL (a DPoP `jti` forgotten early is a replay accepted): a store that would have to drop it
   * earlier (full, or evicting under memory pressure) rejects instead.
   */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /**
   * Run `fn` holding the lock `name`, then release it. The lock has a lease: if the holder dies (or `fn`
   * outlives `leaseMs`), the lock frees itself after `leaseMs`, so choose a lease longer than the work.
   * Only the holder releases it (a lock taken over after its lease expired is not released by the late
   * first holder). Waits, retrying, for up to `options.waitMs`, then rejects with {@link LockTimeoutError};
   * a store failure while acquiring rejects with that failure. `fn`'s rejection is passed through.
   */
  withLock<T>(name: string, leaseMs: number, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
}

/** Whether `store` implements {@link AtomicStore} (set-if-absent and a lock with a lease). */
export function isAtomicStore(store: CacheStore | undefined): store is AtomicStore {
  return (
    store !== undefined &&
    typeof (store as Partial<AtomicStore>).setIfAbsent === 'function' &&
    typeof (store as Partial<AtomicStore>).withLock === 'function'
  );
}

/**
 * Acquire with `tryAcquire` (retrying with capped, jittered backoff until `waitMs` has passed), run `fn`,
 * then `release`. A failing release is ignored: the lease frees the lock anyway. Internal to the stores.
 * @internal
 */
export async function runWithLease<T>(
  name: string,
  waitMs: number,
  tryAcquire: () => Promise<boolean>,
  release: () => Promise<void>,
  fn: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  let pauseMs = 5;
  while (!(await tryAcquire())) {
    const left = deadline - Date.now();
    if (left <= 0) throw new LockTimeoutError({ lockName: name, waitedMs: waitMs });
    await new Promise((r) => setTimeout(r, Math.min(left, pauseMs / 2 + Math.random() * pauseMs)));
    pauseMs = Math.min(pauseMs * 2, 200);
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
