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
export function originOf(key: string, entry: MappingEntry): MappingOrigin {
  return entry.origin ?? (key.startsWith('route:') ? 'declared' : 'registered');
}

/** Our key → the AS's resource. */
export type RegistrationMapping = Record<string, MappingEntry>;

/** What a sync would do. */
export interface SyncPlan {
  create: DesiredResource[];
  update: Array<{ resource: DesiredResource; id: string }>;
  /**
   * Found at the AS after the mapping was lost (marked with this API's namespace and key, else unmarked by name
   * or URI); `changed`: updated to the declared description, otherwise taken as it is (no `PUT`).
   */
  adopt: Array<{ resource: DesiredResource; id: string; changed: boolean }>;
  delete: Array<{ key: string; id: string }>;
  unchanged: Array<{ key: string; id: string }>;
  /** Run-time objects the AS no longer holds (the mapping kept their description): created again. */
  recreate: DesiredResource[];
  /** Run-time objects of this namespace found at the AS and missing from the (lost) mapping: taken back as they are. */
  restore: Array<{ key: string; id: string; resource: ResourceDescription }>;
  /**
   * Sets at the AS marked as declared by this namespace that nothing declares now (a route removed while the
   * mapping was lost, a duplicate): reported, never touched, unless a sync is asked to prune them.
   */
  orphans: Array<{ key: string; id: string; name?: string }>;
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
  /** Whether an entry's set is listed by the resource server's own PAT (per-owner PATs' sets are not). */
  ownPat(entry: MappingEntry): boolean;
  /**
   * Read every set the mapping does not account for, to report orphans and take back run-time objects (a full
   * sync); without it (a reconcile) they are read only when a declared set has to be found again.
   */
  survey: boolean;
}

/** A description as sent: with this API's mark (namespace, key, origin). */
export function marked(resource: DesiredResource, namespace: string, origin: MappingOrigin): DesiredResource & MarkedDescription {
  return { ...resource, mark: { namespace, key: resource.key, origin } };
}

/**
 * Whether the AS holds `registered` as `desired` would put it: compared through the profile's wire format (what
 * a `PUT` would send), scopes as a set, and what the AS fills in by itself (an empty `uris`, `ownerManagedAccess`
 * false, Keycloak's default owner) not counted as a change.
 */
export function sameDescription(client: ResourceRegistrationClient, desired: MarkedDescription, registered: RegisteredResource): boolean {
  const norm = (d: MarkedDescription): MarkedDescription => {
    const out: MarkedDescription = { ...d, scopes: [...new Set(d.scopes)].sort() };
    if (!out.uris?.length) delete out.uris;
    if (!out.ownerManagedAccess) delete out.ownerManagedAccess;
    if (desired.owner === undefined) delete out.owner;
    return out;
  };
  const { id: _id, userAccessPolicyUri: _policy, ...held } = registered;
  return fingerprint(client.profile.toWire(norm(desired))) === fingerprint(client.profile.toWire(norm(held)));
}

/**
 * What the AS holds for the resource server's PAT, listed once per plan (Keycloak's `deep=true` list carries
 * the descriptions; the UMA profiles list ids, and each description asked for is read once).
 */
class Holdings {
  readonly ids: ReadonlySet<string>;
  readonly #client: ResourceRegistrationClient;
  readonly #described: Map<string, RegisteredResource | undefined>;

  private constructor(client: ResourceRegistrationClient, ids: string[], described: Map<string, RegisteredResource | undefined>) {
    this.#client = client;
    this.ids = new Set(ids);
    this.#described = described;
  }

  static async list(client: ResourceRegistrationClient): Promise<Holdings> {
    if (client.profile.name === 'keycloak') {
      const all = await client.listDescriptions();
      return new Holdings(
        client,
        all.map((r) => r.id),
        new Map(all.map((r) => [r.id, r])),
      );
    }
    return new Holdings(client, await client.list(), new Map());
  }

  /** The descriptions of these ids (those the AS no longer has left out). */
  async describe(ids: Iterable<string>): Promise<RegisteredResource[]> {
    const out: RegisteredResource[] = [];
    for (const id of ids) {
      if (!this.#described.has(id)) this.#described.set(id, await this.#client.read(id));
      const r = this.#described.get(id);
      if (r) out.push(r);
    }
    return out;
  }
}

/**
 * The URIs a set of `resource` may have been registered with: its own, and for a route its Express template
 * (before URIs were Keycloak patterns).
 */
function urisOf(resource: DesiredResource): string[] {
  return [...(resource.uris ?? []), ...(resource.key.startsWith('route:') ? [resource.key.slice('route:'.length)] : [])];
}

/** Work out what to do, reading what the AS holds (listed once). */
export async function planSync(
  client: ResourceRegistrationClient,
  desired: readonly DesiredResource[],
  mapping: RegistrationMapping,
  ctx: SyncContext,
): Promise<SyncPlan> {
  const held = await Holdings.list(client);
  const plan: SyncPlan = { create: [], update: [], adopt: [], delete: [], unchanged: [], recreate: [], restore: [], orphans: [] };
  // Every set the mapping accounts for (declared or run-time, any owner) is ours already, never adopted again.
  const claimed = new Set(Object.values(mapping).flatMap((m) => (held.ids.has(m.id) ? [m.id] : [])));
  const unclaimed = async () => (await held.describe([...held.ids].filter((id) => !claimed.has(id)))).filter((r) => !claimed.has(r.id));
  const lost: DesiredResource[] = [];
  for (const d of desired) {
    const m = mapping[d.key];
    if (m && held.ids.has(m.id)) {
      if (m.fingerprint === fingerprint(client.profile.toWire(marked(d, ctx.namespace, 'declared'))))
        plan.unchanged.push({ key: d.key, id: m.id });
      else plan.update.push({ resource: d, id: m.id });
    } else lost.push(d);
  }
  if (lost.length) {
    // No usable mapping: a set of this namespace under this key, else an unmarked one of the same name, then of
    // a shared URI. A set another API marked as its own is never taken over.
    const candidates = (await unclaimed()).filter((r) => !r.mark || r.mark.namespace === ctx.namespace);
    for (const d of lost) {
      const free = candidates.filter((r) => !claimed.has(r.id));
      const found =
        free.find((r) => r.mark?.key === d.key) ??
        free.find((r) => !r.mark && d.name !== undefined && r.name === d.name) ??
        free.find((r) => !r.mark && r.uris?.some((u) => urisOf(d).includes(u)));
      if (found) {
        claimed.add(found.id);
        plan.adopt.push({ resource: d, id: found.id, changed: !sameDescription(client, marked(d, ctx.namespace, 'declared'), found) });
      } else plan.create.push(d);
    }
  }
  for (const [key, m] of Object.entries(mapping)) {
    if (!ctx.ownPat(m) || held.ids.has(m.id) || originOf(key, m) !== 'registered' || !m.resource) continue;
    plan.recreate.push({ ...m.resource, key });
  }
  if (ctx.survey || lost.length) {
    const declared = new Set(desired.map((d) => d.key));
    for (const r of await unclaimed()) {
      if (r.mark?.namespace !== ctx.namespace) continue;
      if (r.mark.origin === 'registered') {
        // A run-time object the (lost) mapping no longer names: taken back as the AS holds it.
        const known = mapping[r.mark.key];
        if (!declared.has(r.mark.key) && (!known || !held.ids.has(known.id)) && !plan.restore.some((x) => x.key === r.mark!.key)) {
          const { id: _id, userAccessPolicyUri: _policy, mark: _mark, ...resource } = r;
          plan.restore.push({ key: r.mark.key, id: r.id, resource });
          plan.recreate = plan.recreate.filter((x) => x.key !== r.mark!.key);
        }
      } else plan.orphans.push({ key: r.mark.key, id: r.id, ...(r.name !== undefined ? { name: r.name } : {}) });
    }
  }
  if (ctx.deletePolicy === 'managed') {
    // Only what was declared and no longer is: run-time objects live until deregister().
    const wanted = new Set(desired.map((d) => d.key));
    for (const [key, m] of Object.entries(mapping)) {
      if (ctx.ownPat(m) && !wanted.has(key) && m.managed && originOf(key, m) === 'declared' && held.ids.has(m.id))
        plan.delete.push({ key, id: m.id });
    }
  }
  return plan;
}

/** The outcome of applying a plan: the new mapping, and what failed (the rest was done). */
export interface SyncOutcome {
  mapping: RegistrationMapping;
  failures: Array<{ key: string; error: Error }>;
}

/** How far {@link applySync} goes beyond the plan's own steps. */
export interface ApplyOptions {
  /** Delete the plan's orphans too (sets of this API the mapping does not account for). Default false. */
  readonly prune?: boolean;
}

/** Carry out a plan. Each step is independent: one failure does not stop the others. */
export async function applySync(
  client: ResourceRegistrationClient,
  plan: SyncPlan,
  mapping: RegistrationMapping,
  ctx: SyncContext,
  { prune = false }: ApplyOptions = {},
): Promise<SyncOutcome> {
  const next: RegistrationMapping = { ...mapping };
  const failures: SyncOutcome['failures'] = [];
  const attempt = async (key: string, step: () => Promise<void>) => {
    try {
      await step();
    } catch (err) {
      failures.push({ key, error: err instanceof Error ? err : new Error(String(err)) });
    }
  };
  const entry = (d: DesiredResource, id: string, origin: MappingOrigin): MappingEntry => {
    const { key: _key, ...resource } = d;
    return {
      id,
      fingerprint: fingerprint(client.profile.toWire(marked(d, ctx.namespace, origin))),
      managed: true,
      origin,
      ...(origin === 'registered' ? { resource } : {}),
    };
  };
  const create = async (d: DesiredResource, origin: MappingOrigin) => {
    const r = await client.create(marked(d, ctx.namespace, origin));
    next[d.key] = entry(d, r.id, origin);
  };
  // Entries written before origins were recorded learn theirs.
  for (const { key } of plan.unchanged) if (next[key]) next[key] = { ...next[key], origin: 'declared' };
  for (const { key, id, resource } of plan.restore) next[key] = entry({ ...resource, key }, id, 'registered');
  for (const d of plan.create) await attempt(d.key, () => create(d, 'declared'));
  for (const d of plan.recreate) await attempt(d.key, () => create(d, 'registered'));
  for (const { resource: d, id } of plan.adopt.filter((a) => !a.changed)) next[d.key] = entry(d, id, 'declared');
  for (const { resource: d, id } of [...plan.update, ...plan.adopt.filter((a) => a.changed)]) {
    await attempt(d.key, async () => {
      // A resource deleted at the AS between plan and apply is created anew.
      if (await client.update(id, marked(d, ctx.namespace, 'declared'))) next[d.key] = entry(d, id, 'declared');
      else await create(d, 'declared');
    });
  }
  for (const { key, id } of plan.delete) {
    await attempt(key, async () => {
      await client.delete(id);
      delete next[key];
    });
  }
  if (prune) for (const { key, id } of plan.orphans) await attempt(key, () => client.delete(id));
  return { mapping: next, failures };
}
