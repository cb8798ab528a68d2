/**
 * The registration mapping (our key → the AS's `_id`, see sync.ts) as it lives in a store, with this
 * process's copy of it: read on first need, read afresh under the registration lock, merged (never
 * replaced) outside it, written through. The store is not trusted to hold what was written.
 */
import type { Logger } from '../options.js';
import type { CacheStore } from '../stores/store.js';
import type { MappingEntry, RegistrationMapping } from './sync.js';

const MAPPING_KEY = 'ors:uma-mapping';
const FOREVER = 100 * 365 * 24 * 3600 * 1000;

/** One registrar's mapping in its store. */
export class StoredMapping {
  readonly #store: CacheStore;
  readonly #key: string;
  readonly #logger: Logger | undefined;
  #mapping: RegistrationMapping | undefined;
  #readAt = 0;

  constructor(store: CacheStore, issuer: string, clientId: string, logger: Logger | undefined) {
    this.#store = store;
    this.#key = `${MAPPING_KEY}:${issuer}:${clientId}`;
    this.#logger = logger;
  }

  /** The copy in memory (undefined before the first read). */
  get current(): RegistrationMapping | undefined {
    return this.#mapping;
  }

  /** When the store was last read (ms since the epoch; 0 before). */
  get readAt(): number {
    return this.#readAt;
  }

  /** The copy in memory, read from the store on first need. */
  async load(): Promise<RegistrationMapping> {
    return this.#mapping ?? this.reload();
  }

  /**
   * Read the mapping from the store (another replica may have changed it). The copy in memory stays in use
   * until the new one is read: ids never go blank while a change is under way.
   */
  async reload(): Promise<RegistrationMapping> {
    const raw = await this.#store.get(this.#key);
    let parsed: RegistrationMapping = {};
    if (raw) {
      const v = parseMapping(raw);
      if (v) parsed = v;
      else this.#logger?.warn('the stored registration mapping is corrupt; resources will be found by name');
    }
    this.#mapping = parsed;
    this.#readAt = Date.now();
    return parsed;
  }

  /**
   * Add to the copy in memory what the store knows and this process does not (outside the lock: it never
   * replaces or removes an entry, so a change made here meanwhile is not lost).
   */
  async merge(): Promise<void> {
    const raw = await this.#store.get(this.#key);
    this.#readAt = Date.now();
    const stored = raw ? parseMapping(raw) : undefined;
    if (!stored) return;
    const current = this.#mapping ?? {};
    const added = Object.entries(stored).filter(([k]) => !(k in current));
    if (added.length) this.#mapping = { ...current, ...Object.fromEntries(added) };
  }

  /** Make `mapping` the copy in memory, and write it through. */
  async save(mapping: RegistrationMapping): Promise<void> {
    this.#mapping = mapping;
    await this.#store.set(this.#key, JSON.stringify(mapping), FOREVER);
  }
}

/** Whether a stored value is a usable mapping entry. */
function isMappingEntry(v: unknown): v is MappingEntry {
  const e = v as Partial<MappingEntry> | null;
  return Boolean(e && typeof e === 'object' && typeof e.id === 'string' && e.id && typeof e.fingerprint === 'string');
}

/** A stored mapping, its unusable entries left out; undefined when it is not a JSON object at all. */
function parseMapping(raw: string): RegistrationMapping | undefined {
  try {
    const v = JSON.parse(raw) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter((e): e is [string, MappingEntry] => isMappingEntry(e[1])));
  } catch {
    return undefined;
  }
}
