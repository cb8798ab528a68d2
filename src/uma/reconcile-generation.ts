/**
 * The reconcile generation: a counter in the store that every sync and reconcile increments as it begins, so
 * that replicas sharing the store can tell whether another one reconciled since they last looked (and skip).
 */
import type { CacheStore } from '../stores/store.js';
import { namespaceSuffix } from './registration-mapping.js';

/** How long the reconcile generation is kept (for ever, in practice). */
const FOREVER_MS = 100 * 365 * 24 * 3600 * 1000;

/** Whose generation it is: one registrar (its AS, client id and namespace) in one store. */
export interface ReconcileGenerationSettings {
  store: CacheStore;
  issuer: string;
  clientId: string;
  namespace: string;
}

/** One registrar's reconcile generation, and the one this process last saw. */
export class ReconcileGeneration {
  readonly #store: CacheStore;
  /** Where the replicas of a store count reconciles (a sync counts). */
  readonly #key: string;
  #seen: number | undefined;

  constructor(settings: ReconcileGenerationSettings) {
    this.#store = settings.store;
    this.#key = `ors:uma-reconciled:${settings.issuer}:${settings.clientId}${namespaceSuffix(settings.namespace)}`;
  }

  /** The generation this process last saw (undefined before its first sync or reconcile). */
  get seen(): number | undefined {
    return this.#seen;
  }

  /** The generation in the store (0 when none, or when the store fails: then the reconcile runs). */
  async read(): Promise<number> {
    const raw = await this.#store.get(this.#key).catch(() => undefined);
    const n = raw === undefined ? 0 : Number(raw);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  /** A reconcile skipped: `current` (just read) is the one seen now. */
  saw(current: number): void {
    this.#seen = current;
  }

  /** A sync or reconcile begins after `current` (just read): count it (a store that fails is not fatal). */
  async begin(current: number): Promise<void> {
    this.#seen = current + 1;
    await this.#store.set(this.#key, String(current + 1), FOREVER_MS).catch(() => undefined);
  }
}
