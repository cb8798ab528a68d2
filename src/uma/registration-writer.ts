/**
 * One resource's registration at the AS and in the mapping (a run-time object, or a set the AS lost): create
 * or update, and delete. Runs inside the registration lock (registration-lock.ts).
 */
import type { ProtectionConnection } from './protection-connection.js';
import type { StoredMapping } from './registration-mapping.js';
import type { ResourceCatalog } from './resource-catalog.js';
import { fingerprint, marked, originOf, type DesiredResource, type MappingEntry } from './sync.js';

/** What a writer works with. */
export interface RegistrationWriterParts {
  connection: ProtectionConnection;
  mapping: StoredMapping;
  catalog: ResourceCatalog;
  /** This API's namespace: the mark of the sets it registers. */
  namespace: string;
}

/** Registers and deregisters one resource at a time. */
export class RegistrationWriter {
  readonly #connection: ProtectionConnection;
  readonly #mapping: StoredMapping;
  readonly #catalog: ResourceCatalog;
  readonly #namespace: string;

  constructor(parts: RegistrationWriterParts) {
    this.#connection = parts.connection;
    this.#mapping = parts.mapping;
    this.#catalog = parts.catalog;
    this.#namespace = parts.namespace;
  }

  /** Register (update, or create) now, inside the lock; returns the `_id`. `lostId`: the AS no longer has it. */
  async register(resource: DesiredResource, lostId?: string): Promise<string> {
    const client = await this.#connection.clientFor(resource.owner);
    const mapping = await this.#mapping.load();
    const existing = mapping[resource.key];
    const origin = existing ? originOf(resource.key, existing) : this.#catalog.declared.has(resource.key) ? 'declared' : 'registered';
    const wire = marked(resource, this.#namespace, origin);
    const entry = (id: string): MappingEntry => {
      const { key: _key, ...description } = resource;
      return {
        id,
        fingerprint: fingerprint(client.profile.toWire(wire)),
        managed: true,
        origin,
        ...(this.#connection.ownPat(resource) ? {} : { owner: resource.owner! }),
        // A run-time object's description is kept, so a set the AS lost can be created again after a restart.
        ...(origin === 'registered' ? { resource: description } : {}),
      };
    };
    if (existing && existing.id !== lostId && (await client.update(existing.id, wire))) {
      await this.#mapping.save({ ...mapping, [resource.key]: entry(existing.id) });
      return existing.id;
    }
    const created = await client.create(wire);
    await this.#mapping.save({ ...(await this.#mapping.load()), [resource.key]: entry(created.id) });
    return created.id;
  }

  /** Remove a resource at the AS and from the mapping, inside the lock (404 counts as done). */
  async deregister(key: string): Promise<void> {
    const mapping = await this.#mapping.load();
    const entry = mapping[key];
    if (!entry) return;
    const client = await this.#connection.clientFor(entry.owner);
    await client.delete(entry.id);
    const next = { ...(await this.#mapping.load()) };
    delete next[key];
    await this.#mapping.save(next);
  }
}
