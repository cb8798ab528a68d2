/**
 * A bounded set of keys that each stay exactly one fixed time (`ttlMs`) after they were added: security
 * state (a DPoP replay set, RFC 9449 §11.1; a store's set-if-absent claims), so nothing leaves it early.
 * Traffic never evicts an entry: when the set is full of live entries it refuses new ones, and the caller
 * fails closed. Every entry has the same life, so insertion order is expiry order: expired entries are
 * removed from the oldest end, each once, and no call scans the set.
 */
export type AddResult = 'added' | 'present' | 'full';

/** Settings of an {@link ExpiringSet}. */
export interface ExpiringSetOptions {
  /** How long each key stays, in ms. */
  ttlMs: number;
  /** Most live keys held at once; beyond it `add` answers `full`. */
  maxEntries: number;
  /** Told of each key as it leaves (not of keys removed with {@link ExpiringSet.delete}). */
  onExpire?: (key: string) => void;
}

/** Keys with one shared time to live, a bound, and no eviction. */
export class ExpiringSet {
  readonly ttlMs: number;
  readonly maxEntries: number;
  /**
   * Key → when it leaves, in ms after {@link ExpiringSet.#origin}: a small integer, stored inline, where a
   * time since 1970 would cost a heap number per entry (~16 bytes of ~100). A Map iterates in insertion
   * order, which is expiry order.
   */
  readonly #entries = new Map<string, number>();
  readonly #origin = Date.now();
  /** When the oldest entry leaves, relative like the entries (Infinity when empty): no pruning before then. */
  #nextExpiry = Infinity;
  readonly #onExpire: ((key: string) => void) | undefined;

  constructor({ ttlMs, maxEntries, onExpire }: ExpiringSetOptions) {
    if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError('the time to live must be a positive, finite number of ms');
    if (!(maxEntries >= 1)) throw new RangeError('the bound must be at least one entry');
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
    this.#onExpire = onExpire;
  }

  /** How many keys are held (expired ones included until the next call that prunes). */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether `key` is held and has not expired at `now`. */
  has(key: string, now: number): boolean {
    const until = this.#entries.get(key);
    return until !== undefined && until > now - this.#origin;
  }

  /**
   * Add `key` unless it is already held: `present` when it is (and has not expired), `full` when the set
   * holds `maxEntries` live keys (nothing is added and nothing forgotten), else `added`.
   */
  add(key: string, now: number): AddResult {
    this.prune(now);
    const held = this.#entries.get(key);
    if (held !== undefined) {
      if (held > now - this.#origin) return 'present';
      this.#entries.delete(key); // expired behind a live entry (the clock stepped back): added anew below
    }
    if (this.#entries.size >= this.maxEntries) return 'full';
    const until = now - this.#origin + this.ttlMs;
    this.#entries.set(key, until);
    if (this.#nextExpiry === Infinity) this.#nextExpiry = until;
    return 'added';
  }

  /** Remove `key` now (a released claim). */
  delete(key: string): boolean {
    if (!this.#entries.delete(key)) return false;
    if (this.#entries.size === 0) this.#nextExpiry = Infinity;
    return true;
  }

  /** Milliseconds until the oldest entry leaves (0 when empty or already due): when a full set has room. */
  msUntilRoom(now: number): number {
    return this.#nextExpiry === Infinity ? 0 : Math.max(0, this.#nextExpiry - (now - this.#origin));
  }

  /**
   * Remove the entries expired at `now`, oldest first, stopping at the first live one. A clock that steps
   * back only keeps entries longer; one that steps forward expires them as it expires the proofs they guard.
   */
  prune(now: number): void {
    const elapsed = now - this.#origin;
    if (elapsed < this.#nextExpiry) return;
    this.#nextExpiry = Infinity;
    for (const [key, until] of this.#entries) {
      if (until > elapsed) {
        this.#nextExpiry = until;
        return;
      }
      this.#entries.delete(key);
      this.#onExpire?.(key);
    }
  }
}
