/**
 * Admission to the verified-token cache on second sight: a JWT is cached only when it comes back. A token seen
 * once and never again (every request a new token) then costs what it costs with the cache off: no insert, no
 * eviction, and none of the long-lived garbage a cached-then-evicted entry leaves for the collector. A token
 * that repeats is cached from its second request on.
 *
 * What was seen is a fixed table of 32-bit fingerprints of the cache keys (which are SHA-256 digests, so any of
 * their bits are as good as any other), in buckets of eight: a key is looked for in its bucket, and a new one
 * replaces one of its bucket's. No allocation per token, a fixed size whatever the traffic. With four
 * slots per cache entry, a cycle of tokens that fits the cache is cached on its second round (a bucket almost
 * never overflows; a token lost so is admitted on its next sight); a cycle many times larger than the cache is forgotten
 * before it comes back, so it is never inserted only to be evicted unused. Only successes are admitted this
 * way: a wrong answer can only be a token verified once more.
 */

import { SEXTET } from './base64url.js';

/** Slots at most (8 MiB of fingerprints). */
const MAX_SLOTS = 1 << 21;
const BUCKET = 8;
/** Slots per cache entry: a cycle that fits the cache fills a quarter of the table, and buckets almost never overflow. */
const SLOTS_PER_ENTRY = 4;

/** Which cache keys were seen recently. */
export class SecondSight {
  readonly #slots: Int32Array;
  readonly #buckets: number;

  /** `entries`: the cache's maximum number of entries (the table gets four slots for each, within bounds). */
  constructor(entries: number) {
    let size = 64;
    while (size < entries * SLOTS_PER_ENTRY && size < MAX_SLOTS) size *= 2;
    this.#slots = new Int32Array(size);
    this.#buckets = size / BUCKET - 1; // a mask: size is a power of two
  }

  /** Whether `key` (a base64url SHA-256) was seen recently; remembers it either way. */
  seen(key: string): boolean {
    // The digest's own bits, six per base64url character: 30 for where to look, 30 more for what to find there
    // (the last two of which also pick the slot a full bucket gives up).
    let where = 0;
    let fingerprint = 1; // never 0: an empty slot matches nothing
    for (let i = 0; i < 5; i++) where = (where << 6) | SEXTET[key.charCodeAt(i) & 0x7f]!;
    for (let i = 5; i < 10; i++) fingerprint = (fingerprint << 6) | SEXTET[key.charCodeAt(i) & 0x7f]!;
    const slots = this.#slots;
    const b = (where & this.#buckets) * BUCKET;
    for (let j = b; j < b + BUCKET; j++) {
      const v = slots[j];
      if (v === fingerprint) return true;
      if (v === 0) {
        slots[j] = fingerprint; // slots fill in order and never empty again: the rest are empty too
        return false;
      }
    }
    // A full bucket forgets a slot the new key picks, not its oldest: under a cycle, pushing out the oldest would
    // push out, one after the other, every key of the bucket just before it comes back.
    slots[b + (fingerprint & (BUCKET - 1))] = fingerprint;
    return false;
  }
}
