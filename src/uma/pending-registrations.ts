/**
 * What a request waits for at request time: a registration under way (the start-up sync, or the
 * re-registration of a set the AS lost), for a bounded time, and one re-registration per lost set, which
 * every request that meets the loss joins.
 */
import { ProtectionApiError } from './resource-registration.js';

/** A re-registration under way: the id the AS lost, and the registration that replaces it. */
interface Reregistration {
  lostId: string;
  done: Promise<string | undefined>;
}

/** The re-registrations under way in this process, and the bound on a request's wait. */
export class PendingRegistrations {
  readonly #waitMs: number;
  /** Re-registrations under way, per key. */
  readonly #underway = new Map<string, Reregistration>();

  /** `waitMs`: how long a request waits for a registration under way. */
  constructor(waitMs: number) {
    this.#waitMs = waitMs;
  }

  /** `p`, or a rejection once a request has waited `waitMs` for it. */
  bounded<T>(p: Promise<T>): Promise<T> {
    const waitMs = this.#waitMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new ProtectionApiError({
            operation: 'permission',
            status: 0,
            message: `the registration under way did not finish within ${waitMs} ms`,
          }),
        );
      }, waitMs);
      timer.unref?.();
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  /** The re-registration of `key` under way, if any (its new id, once done). */
  underway(key: string): Promise<string | undefined> | undefined {
    return this.#underway.get(key)?.done;
  }

  /**
   * The re-registration of `key` that replaces `lostId`: the one under way, joined, or else `start()`ed
   * (one per key and lost id in this process).
   */
  reregister(key: string, lostId: string, start: () => Promise<string | undefined>): Promise<string | undefined> {
    const current = this.#underway.get(key);
    if (current?.lostId === lostId) return current.done;
    const done = start();
    const settle = () => {
      if (this.#underway.get(key)?.done === done) this.#underway.delete(key);
    };
    done.then(settle, settle);
    this.#underway.set(key, { lostId, done });
    return done;
  }
}
