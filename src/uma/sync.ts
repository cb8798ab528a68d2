/**
 * Keeping the AS in step with what the app declares: a plan (what would be created, updated, adopted and
 * deleted) and its application. Idempotent: a restart finds each resource through the stored mapping from
 * our key to the AS's `_id`, or, when the mapping is lost, by its name or URIs, so restarts never leave
 * duplicates. What the AS holds is read from the AS, never assumed.
 */
import type { ResourceDescription } from './profiles.js';
import type { ResourceRegistrationClient } from './resource-registration.js';

/** A resource the app declares, under a key stable across restarts (e.g. the route's path template). */
export interface DesiredResource extends ResourceDescription {
  key: string;
}

/** What the kit remembers of one registered resource. */
export interface MappingEntry {
  /** The AS's `_id`. */
  id: string;
  /** A fingerprint of the description last sent, to know when an update is due. */
  fingerprint: string;
  /** Whether the kit created (or adopted) it, and so may delete it. */
  managed: boolean;
  /** The resource owner whose PAT registered it (per-owner PATs), when not the resource server itself. */
  owner?: string;
  /**
   * How the kit came to hold it: `declared` (by `declare()` or the routes: synced, and deleted by a sync once
   * no longer declared) or `registered` (by `register()` at run time: kept, across restarts and replicas, until
   * `deregister()`). Entries written before this field existed: {@link originOf}.
   */
  origin?: MappingOrigin;
  /** A run-time object's description, so a set the AS lost can be created again after a restart. */
  resource?: ResourceDescription;
}

/** Where a mapping entry came from (see {@link MappingEntry.origin}). */
export type MappingOrigin = 'declared' | 'registered';

/**
 * The origin of an entry. Entries from before `origin` was recorded: route keys were declared; anything else
 * may be a run-time object, and is never deleted by a sync (deleting an owner's set loses their policies).
 */
export function originOf(key: string, m: MappingEntry): MappingOrigin {
  return m.origin ?? (key.startsWith('route:') ? 'declared' : 'registered');
}

/** Our key → the AS's resource. */
export type RegistrationMapping = Record<string, MappingEntry>;

/** What a sync would do. */
export interface SyncPlan {
  create: DesiredResource[];
  update: Array<{ resource: DesiredResource; id: string }>;
  /** Found at the AS by name or URI after the mapping was lost; updated to the declared description. */
  adopt: Array<{ resource: DesiredResource; id: string }>;
  delete: Array<{ key: string; id: string }>;
  unchanged: Array<{ key: string; id: string }>;
}

/** Which resources a sync may delete when the app no longer declares them. */
export type DeletePolicy = 'managed' | 'none';

/** A stable fingerprint of a wire description (key order does not matter). */
export function fingerprint(wire: Record<string, unknown>): string {
  return JSON.stringify(wire, Object.keys(wire).sort());
}

/** Work out what to do, reading what the AS holds. */
export async function planSync(client: ResourceRegistrationClient, desired: readonly DesiredResource[], mapping: RegistrationMapping, deletePolicy: DeletePolicy): Promise<SyncPlan> {
  const held = new Set(await client.list());
  const plan: SyncPlan = { create: [], update: [], adopt: [], delete: [], unchanged: [] };
  let described: Awaited<ReturnType<ResourceRegistrationClient['listDescriptions']>> | undefined;
  const claimed = new Set<string>();
  for (const d of desired) {
    const m = mapping[d.key];
    if (m && held.has(m.id)) claimed.add(m.id);
  }
  for (const d of desired) {
    const m = mapping[d.key];
    const fp = fingerprint(client.profile.toWire(d));
    if (m && held.has(m.id)) {
      if (m.fingerprint === fp) plan.unchanged.push({ key: d.key, id: m.id });
      else plan.update.push({ resource: d, id: m.id });
      continue;
    }
    // No usable mapping: look for the resource by name, then by URI, among those not already ours.
    described ??= await client.listDescriptions();
    const found = described.find((r) => !claimed.has(r.id) && d.name !== undefined && r.name === d.name) ?? described.find((r) => !claimed.has(r.id) && d.uris?.length && r.uris?.some((u) => d.uris!.includes(u)));
    if (found) {
      claimed.add(found.id);
      plan.adopt.push({ resource: d, id: found.id });
    } else plan.create.push(d);
  }
  if (deletePolicy === 'managed') {
    // Only what was declared and no longer is: run-time objects live until deregister().
    const wanted = new Set(desired.map((d) => d.key));
    for (const [key, m] of Object.entries(mapping)) {
      if (!wanted.has(key) && m.managed && originOf(key, m) === 'declared' && held.has(m.id)) plan.delete.push({ key, id: m.id });
    }
  }
  return plan;
}

/** The outcome of applying a plan: the new mapping, and what failed (the rest was done). */
export interface SyncOutcome {
  mapping: RegistrationMapping;
  failures: Array<{ key: string; error: Error }>;
}

/** Carry out a plan. Each step is independent: one failure does not stop the others. */
export async function applySync(client: ResourceRegistrationClient, plan: SyncPlan, mapping: RegistrationMapping): Promise<SyncOutcome> {
  const next: RegistrationMapping = { ...mapping };
  const failures: SyncOutcome['failures'] = [];
  const attempt = async (key: string, step: () => Promise<void>) => {
    try {
      await step();
    } catch (err) {
      failures.push({ key, error: err instanceof Error ? err : new Error(String(err)) });
    }
  };
  const create = async (d: DesiredResource) => {
    const r = await client.create(d);
    next[d.key] = { id: r.id, fingerprint: fingerprint(client.profile.toWire(d)), managed: true, origin: 'declared' };
  };
  // Entries written before origins were recorded learn theirs.
  for (const { key } of plan.unchanged) if (next[key]) next[key] = { ...next[key], origin: 'declared' };
  for (const d of plan.create) await attempt(d.key, () => create(d));
  for (const { resource: d, id } of [...plan.update, ...plan.adopt]) {
    await attempt(d.key, async () => {
      // A resource deleted at the AS between plan and apply is created anew.
      if (await client.update(id, d)) next[d.key] = { id, fingerprint: fingerprint(client.profile.toWire(d)), managed: true, origin: 'declared' };
      else await create(d);
    });
  }
  for (const { key, id } of plan.delete) {
    await attempt(key, async () => {
      await client.delete(id);
      delete next[key];
    });
  }
  return { mapping: next, failures };
}
