/** The errors a store rejects with: a store that refuses or fails says why with a stable code. */
import { KitError, type StoreErrorCode } from '../answers/errors.js';

/**
 * A store refused or failed an operation:
 * - `ERR_STORE_FULL`: a `MemoryStore` holds `maxClaims` live claims and forgets none early;
 * - `ERR_STORE_EVICTING`: a `RedisStore` may evict keys before their TTL, so set-if-absent refuses;
 * - `ERR_STORE_UNREADABLE`: a `FileStore`'s file exists but cannot be read or parsed;
 * - `ERR_STORE_TIMEOUT`: Redis did not answer within the store's timeout;
 * - `ERR_LOCK_TIMEOUT`: a lock was not acquired in time ({@link LockTimeoutError}).
 *
 * Where the kit uses a store it copes (a verdict store is bypassed, a DPoP replay check answers 503 or checks
 * locally); an app calling a store itself gets this rejection.
 */
export class StoreError extends KitError {
  declare readonly code: StoreErrorCode;
  constructor(init: { code: StoreErrorCode; message: string; cause?: unknown }) {
    super(init);
  }
}

/** A lock could not be acquired within its wait (`AtomicStore.withLock`): `ERR_LOCK_TIMEOUT`. */
export class LockTimeoutError extends StoreError {
  /** The lock's name. */
  readonly lockName: string;

  constructor(init: { lockName: string; waitedMs: number }) {
    super({ code: 'ERR_LOCK_TIMEOUT', message: `the lock ${init.lockName} was not acquired within ${init.waitedMs} ms` });
    this.lockName = init.lockName;
  }
}
