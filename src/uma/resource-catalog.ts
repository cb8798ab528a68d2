/**
 * What the registrar knows of resources: those declared (routes, claim groups), the objects this process
 * registered at run time, and, through the mapping, run-time objects another process registered.
 */
import type { StoredMapping } from './registration-mapping.js';
import type { DesiredResource } from './sync.js';

/** The resources of one registrar, by key. */
export class ResourceCatalog {
  /** Declared resources: a sync keeps them registered. */
  readonly declared = new Map<string, DesiredResource>();
  /** Objects registered at run time by this process (the mapping keeps them across restarts too). */
  readonly runtime = new Map<string, DesiredResource>();
  readonly #mapping: StoredMapping;

  constructor(mapping: StoredMapping) {
    this.#mapping = mapping;
  }

  /** Declare resources (replacing earlier declarations with the same key). */
  declare(resources: Iterable<DesiredResource>): void {
    for (const r of resources) this.declared.set(r.key, r);
  }

  /** A resource registered at run time (a declared one stays declared). */
  registered(resource: DesiredResource): void {
    if (!this.declared.has(resource.key)) this.runtime.set(resource.key, resource);
  }

  /** A resource deregistered, here or by another replica: neither declared nor registered any more. */
  forget(key: string): void {
    this.declared.delete(key);
    this.runtime.delete(key);
  }

  /** What a key stands for: declared, registered here, or a run-time object another process registered. */
  describe(key: string): DesiredResource | undefined {
    const known = this.declared.get(key) ?? this.runtime.get(key);
    if (known) return known;
    const stored = this.#mapping.current?.[key]?.resource;
    return stored ? { ...stored, key } : undefined;
  }
}
