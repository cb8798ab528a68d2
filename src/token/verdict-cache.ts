/**
 * The verified-token cache: verdicts and remembered refusals under a SHA-256 of the token (never the token
 * itself), bounded in entries and estimated bytes, each entry living no longer than its token.
 *
 * JWT verdicts are admitted on their second sight (see admission.ts); introspection verdicts at once, since every
 * miss there is a call to the authorization server. A hit is synchronous and allocates nothing but its key.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { InvalidTokenError } from '../answers/errors.js';
import { SecondSight } from './admission.js';
import { Refusal, type Verdict } from './verdict.js';

/** What the cache holds under a token's key. */
export type CacheEntry = Verdict | Refusal;

/**
 * Heap bytes of a cache entry besides its claims (key, LRU slot, verdict, context; the scope set, audience array
 * and repeating strings are shared): bench/heap.mjs measures about 500 bytes in all for an RS256 token whose
 * payload is about 250 base64url characters, of which the claims count twice their JSON length here.
 */
const ENTRY_OVERHEAD = 250;

/** The cache settings, as resolved. */
export interface VerdictCacheSettings {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxTtlSeconds: number;
}

/** Verdicts and refusals by token hash. */
export class VerdictCache {
  readonly #entries: LRUCache<string, CacheEntry>;
  readonly #admission: SecondSight;
  readonly #maxTtlMs: number;

  constructor(settings: VerdictCacheSettings) {
    // Each set() gives the entry's size: an estimate of its heap cost, which the decoded claims dominate.
    this.#entries = new LRUCache<string, CacheEntry>({
      max: settings.maxEntries,
      maxSize: settings.maxBytes,
      ttl: settings.maxTtlSeconds * 1000,
    });
    this.#admission = new SecondSight(settings.maxEntries);
    this.#maxTtlMs = settings.maxTtlSeconds * 1000;
  }

  /** The cache key of `token`. */
  static keyOf(token: string): string {
    return hash('sha256', token, 'base64url'); // one-shot: ~40 % cheaper than createHash here
  }

  get(key: string): CacheEntry | undefined {
    return this.#entries.get(key);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Whether a verified JWT under `key` is to be cached: true from its second sight on. */
  admits(key: string): boolean {
    return this.#admission.seen(key);
  }

  /** Cache a verified JWT until its expiry, within the configured maximum life. */
  keepJwt(key: string, verdict: Verdict, payloadLength: number): void {
    const ttl = Math.min(verdict.expiresAtMs - Date.now(), this.#maxTtlMs);
    if (ttl > 0) this.#entries.set(key, verdict, { ttl, size: ENTRY_OVERHEAD + payloadLength * 2 });
  }

  /** Cache an introspected verdict for `ttlMs` (its fresh life plus any stale window); `answerLength` in chars. */
  keepIntrospected(key: string, verdict: Verdict, ttlMs: number, answerLength: number): void {
    this.#entries.set(key, verdict, { ttl: ttlMs, size: ENTRY_OVERHEAD + answerLength * 2 });
  }

  /** Remember a refusal for `ttlMs`, so that a flood of one bad token does not flood the AS. */
  refuse(key: string, error: InvalidTokenError, ttlMs: number): void {
    if (ttlMs > 0) this.#entries.set(key, new Refusal(error, Date.now() + ttlMs), { ttl: ttlMs, size: ENTRY_OVERHEAD });
  }

  clear(): void {
    this.#entries.clear();
  }
}
