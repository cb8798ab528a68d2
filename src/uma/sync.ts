/**
 * Keeping the AS in step with what the app declares: a plan (what would be created, updated, adopted and
 * deleted) and its application. Idempotent: a restart finds each resource through the stored mapping from
 * our key to the AS's `_id`, or, when the mapping is lost, by its name or URIs, so restarts never leave
 * duplicates. What the AS holds is read from the AS, never assumed.
 */
import type { MarkedDescription, RegisteredResource, RegistrationMark, ResourceDescription } from './profiles.js';
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
export type MappingOrigin = RegistrationMark['origin'];

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

/** What a plan and its application need to know besides the declarations and the mapping. */
export interface SyncContext {
  /** This API's namespace: the mark of the sets it creates; only sets of its own are adopted. */
  namespace: string;
  deletePolicy: DeletePolicy;
}

/** A description as sent: with this API's mark (namespace, key, origin). */
export function marked(d: DesiredResource, namespace: string, origin: MappingOrigin): DesiredResource & MarkedDescription {
  return { ...d, mark: { namespace, key: d.key, origin } };
}

/** Whether a set at the AS is up for adoption by this namespace: marked with it, or not marked at all. */
function mayAdopt(r: RegisteredResource, namespace: string): boolean {
  return !r.mark || r.mark.namespace === namespace;
}

/** Work out what to do, reading what the AS holds. */
export async function planSync(client: ResourceRegistrationClient, desired: readonly DesiredResource[], mapping: RegistrationMapping, ctx: SyncContext): Promise<SyncPlan> {
  const held = new Set(await client.list());
  const plan: SyncPlan = { create: [], update: [], adopt: [], delete: [], unchanged: [] };
  let candidates: RegisteredResource[] | undefined;
  // Every set the mapping accounts for (declared or run-time) is ours already, never adopted for another key.
  const claimed = new Set(Object.values(mapping).flatMap((m) => (held.has(m.id) ? [m.id] : [])));
  for (const d of desired) {
    const m = mapping[d.key];
    const fp = fingerprint(client.profile.toWire(marked(d, ctx.namespace, 'declared')));
    if (m && held.has(m.id)) {
      if (m.fingerprint === fp) plan.unchanged.push({ key: d.key, id: m.id });
      else plan.update.push({ resource: d, id: m.id });
      continue;
    }
    // No usable mapping: a set of this namespace under this key, else an unmarked one of the same name, then
    // of a shared URI. A set another API marked as its own is never taken over.
    candidates ??= (await client.listDescriptions()).filter((r) => mayAdopt(r, ctx.namespace));
    const free = candidates.filter((r) => !claimed.has(r.id));
    const found =
      free.find((r) => r.mark?.key === d.key) ??
      free.find((r) => !r.mark && d.name !== undefined && r.name === d.name) ??
      free.find((r) => !r.mark && d.uris?.length && r.uris?.some((u) => d.uris!.includes(u)));
    if (found) {
      claimed.add(found.id);
      plan.adopt.push({ resource: d, id: found.id });
    } else plan.create.push(d);
  }
  if (ctx.deletePolicy === 'managed') {
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
export async function applySync(client: ResourceRegistrationClient, plan: SyncPlan, mapping: RegistrationMapping, ctx: SyncContext): Promise<SyncOutcome> {
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
    const wire = marked(d, ctx.namespace, 'declared');
    const r = await client.create(wire);
    next[d.key] = { id: r.id, fingerprint: fingerprint(client.profile.toWire(wire)), managed: true, origin: 'declared' };
  };
  // Entries written before origins were recorded learn theirs.
  for (const { key } of plan.unchanged) if (next[key]) next[key] = { ...next[key], origin: 'declared' };
  for (const d of plan.create) await attempt(d.key, () => create(d));
  for (const { resource: d, id } of [...plan.update, ...plan.adopt]) {
    await attempt(d.key, async () => {
      // A resource deleted at the AS between plan and apply is created anew.
      const wire = marked(d, ctx.namespace, 'declared');
      if (await client.update(id, wire)) next[d.key] = { id, fingerprint: fingerprint(client.profile.toWire(wire)), managed: true, origin: 'declared' };
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
