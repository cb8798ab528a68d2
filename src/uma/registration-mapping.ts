/**
 * The registration mapping (our key → the AS's `_id`, see sync.ts) as it lives in a store, with this
 * process's copy of it: read on first need, read afresh under the registration lock, merged (never
 * replaced) outside it, written through. The store is not trusted to hold what was written.
 */
import type { Logger } from '../config/options.js';
import type { CacheStore } from '../stores/store.js';
import type { ResourceDescription } from './profiles.js';
import { originOf, type MappingEntry, type RegistrationMapping } from './sync.js';

const MAPPING_KEY = 'ors:uma-mapping';
const FOREVER = 100 * 365 * 24 * 3600 * 1000;

/** Whose mapping it is: one registrar (its AS, client id and namespace) in one store. */
export interface StoredMappingSettings {
  store: CacheStore;
  issuer: string;
  clientId: string;
  namespace: string;
  /** Told when the stored mapping is corrupt. */
  logger: Logger | undefined;
}

/** One registrar's mapping in its store. */
export class StoredMapping {
  readonly #store: CacheStore;
  readonly #key: string;
  /** Where every API sharing a client id kept one mapping before namespaces (read once, for run-time objects). */
  readonly #legacyKey: string;
  readonly #logger: Logger | undefined;
  #mapping: RegistrationMapping | undefined;
  #readAt = 0;

  constructor(settings: StoredMappingSettings) {
    this.#store = settings.store;
    this.#legacyKey = `${MAPPING_KEY}:${settings.issuer}:${settings.clientId}`;
    this.#key = `${this.#legacyKey}${namespaceSuffix(settings.namespace)}`;
    this.#logger = settings.logger;
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
    } else if (this.#key !== this.#legacyKey) {
      parsed = await this.#fromLegacy();
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

  /**
   * The run-time objects of the mapping every API on this client id shared before namespaces, so an upgrade
   * loses none (route sets are found again by name or URI). Copied, never moved: which API registered which
   * object is not recorded there, and an object must not vanish from the API that serves it.
   */
  async #fromLegacy(): Promise<RegistrationMapping> {
    const raw = await this.#store.get(this.#legacyKey);
    const legacy = raw ? parseMapping(raw) : undefined;
    if (!legacy) return {};
    return Object.fromEntries(Object.entries(legacy).filter(([k, m]) => originOf(k, m) === 'registered'));
  }

  /** Make `mapping` the copy in memory, and write it through. */
  async save(mapping: RegistrationMapping): Promise<void> {
    this.#mapping = mapping;
    await this.#store.set(this.#key, JSON.stringify(mapping), FOREVER);
  }
}

/** A stored value as a mapping entry (its unusable optional members dropped), or undefined. */
function mappingEntry(v: unknown): MappingEntry | undefined {
  const e = v as Partial<MappingEntry> | null;
  if (!e || typeof e !== 'object' || typeof e.id !== 'string' || !e.id || typeof e.fingerprint !== 'string') return undefined;
  const out: MappingEntry = { id: e.id, fingerprint: e.fingerprint, managed: e.managed === true };
  if (typeof e.owner === 'string') out.owner = e.owner;
  if (e.origin === 'declared' || e.origin === 'registered') out.origin = e.origin;
  const resource = description(e.resource);
  if (resource) out.resource = resource;
  return out;
}

/** A stored run-time description, when it is one (scopes required, the rest strings or absent). */
function description(v: unknown): ResourceDescription | undefined {
  const d = v as Record<string, unknown> | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.scopes) || !d.scopes.every((s) => typeof s === 'string')) return undefined;
  for (const k of ['name', 'type', 'description', 'iconUri', 'owner'] as const)
    if (d[k] !== undefined && typeof d[k] !== 'string') return undefined;
  if (d.uris !== undefined && !(Array.isArray(d.uris) && d.uris.every((u) => typeof u === 'string'))) return undefined;
  if (d.ownerManagedAccess !== undefined && typeof d.ownerManagedAccess !== 'boolean') return undefined;
  return d as unknown as ResourceDescription;
}

/** A stored mapping, its unusable entries left out; undefined when it is not a JSON object at all. */
function parseMapping(raw: string): RegistrationMapping | undefined {
  try {
    const v = JSON.parse(raw) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    // fromEntries, not assignment: a key "__proto__" stays a key.
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).flatMap(([k, e]) => {
        const entry = mappingEntry(e);
        return entry ? [[k, entry] as const] : [];
      }),
    );
  } catch {
    return undefined;
  }
}

/** What sets a namespace's store keys apart (nothing for the default namespace, whose keys predate namespaces). */
export function namespaceSuffix(namespace: string): string {
  return namespace ? `:ns=${encodeURIComponent(namespace)}` : '';
}
