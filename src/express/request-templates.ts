/**
 * Which declared templates a request came through, decided at request time from the app's route table (see
 * route-scan.ts for the walk) by Express's own layer matchers: the template text only names the resource, never
 * the request's path. Also where the kit middleware itself was mounted, for `publicBaseUrl` identities.
 */
import type { Step } from './mount-templates.js';
import { mountTemplates } from './mount-templates.js';
import {
  declarationSites,
  extend,
  fits,
  innerStack,
  KIT_MIDDLEWARE,
  mountsOf,
  rootStack,
  takesExactly,
  type LayerLike,
  type Prefix,
} from './route-scan.js';

/** A declared place as the request-time table holds it. */
interface TemplateRow {
  template: string | undefined;
  display: string;
  methods: string[];
  route: object | undefined;
  chain: Step[] | undefined;
}
/** Per app and declaration symbol: each declaration's rows, and when the table was scanned. */
const tables = new WeakMap<object, Map<symbol, { rows: Map<unknown, TemplateRow[]>; at: number }>>();

/** When a table scanned before is scanned again: never (`cached`), at most once a second, or `now`. */
type Rescan = 'cached' | 'throttled' | 'now';

/**
 * The rows of the declarations under `symbol` for requests handled by `app`, from its route table, scanned on
 * first need and again as `rescan` says. A sub-app's rows get its own mount paths (`app.mountpath`, up the
 * `parent` chain).
 */
function tableOf(app: object, symbol: symbol, rescan: Rescan): Map<unknown, TemplateRow[]> {
  let bySymbol = tables.get(app);
  if (!bySymbol) tables.set(app, (bySymbol = new Map()));
  let table = bySymbol.get(symbol);
  if (!table || rescan === 'now' || (rescan === 'throttled' && Date.now() - table.at >= 1000)) {
    const rows = new Map<unknown, TemplateRow[]>();
    for (const s of declarationSites<unknown>(app, symbol, { mounted: true })) {
      const list = rows.get(s.declared) ?? [];
      list.push({ template: s.template, display: s.display, methods: s.methods, route: s.route, chain: s.chain });
      rows.set(s.declared, list);
    }
    bySymbol.set(symbol, (table = { rows, at: Date.now() }));
  }
  return table.rows;
}

/** What the route table says about a request's declaration. */
export interface RequestTemplates {
  /** The declared templates (mount paths included) the request may have come through. */
  templates: string[];
  /** The declaration as written, for a message when no template fits (never request text). */
  display: string | undefined;
}

/**
 * The declared templates (mount paths included, never the request's own text) of the places carrying
 * `declared` that a request went through: the rows of the running route (by identity; for a declaration used as
 * middleware, the rows without a route, whatever stale `req.route` an earlier route left), for the request's
 * method, whose chain of Express's own matchers takes the request's full path. The tables of `req.app` and of
 * `alsoApp` (the app where the kit's middleware ran, which sees apps mounted on routers) are both read. Empty
 * `templates` when none fits: the request came through a mount that is not a string template, or one the table
 * cannot see (a router called from a function); the caller must then refuse to derive anything from the request.
 */
export function requestTemplates(
  req: { app?: object; method: string; baseUrl: string; path: string; route?: unknown },
  declared: unknown,
  symbol: symbol,
  alsoApp?: object,
): RequestTemplates {
  const route = req.route && typeof req.route === 'object' ? req.route : undefined;
  const request: RowQuery = { declared, route, method: req.method.toUpperCase(), path: `${req.baseUrl}${req.path}` };
  // Per request: a couple of rows, a few matcher calls each, small arrays (this runs on every derived-scope request).
  const found: RequestTemplates = { templates: [], display: undefined };
  const collect = (rescan: Rescan) => {
    if (req.app) collectFrom(tableOf(req.app, symbol, rescan), request, found);
    if (alsoApp && alsoApp !== req.app) collectFrom(tableOf(alsoApp, symbol, rescan), request, found);
  };
  collect('cached');
  if (!found.templates.length) {
    // Routes and mounts added after the scan: scan again, at once the first time a place misses, then at most
    // once a second (a client that keeps missing cannot make every request rescan).
    const key = route ?? declared;
    const first = typeof key === 'object' && key !== null && !rescannedFor.has(key);
    if (first) rescannedFor.add(key);
    found.display = undefined;
    collect(first ? 'now' : 'throttled');
  }
  return found;
}

/** What a request's rows are found by: its declaration, running route, upper-case method and full path. */
interface RowQuery {
  declared: unknown;
  route: object | undefined;
  method: string;
  path: string;
}

function collectFrom(table: Map<unknown, TemplateRow[]>, { declared, route, method, path }: RowQuery, out: RequestTemplates): void {
  const rows = table.get(declared);
  if (!rows) return;
  for (const r of rows) {
    if (r.route !== route && r.route !== undefined) continue;
    if (r.methods.length && !r.methods.includes(method) && !(method === 'HEAD' && r.methods.includes('GET'))) continue;
    if (r.route === route) out.display ??= r.display;
    if (r.template === undefined || !r.chain || !fits(r.chain, path)) continue;
    if (!out.templates.includes(r.template)) out.templates.push(r.template);
  }
}

const rescannedFor = new WeakSet<object>();

/** Per app: the declared mount templates of each kit middleware (by its resource server), with their steps. */
const kitMounts = new WeakMap<object, { byServer: Map<unknown, Prefix[]>; at: number }>();

/**
 * The declared mount template (`''` at the root) of the kit middleware of `server` that ran for a request whose
 * `req.baseUrl` there was `baseUrl`: found in `app`'s route table, never the request's text. Undefined when the
 * table cannot tell (a regular-expression mount, mounts that fit and differ, a kit the table cannot see).
 */
export function kitMountTemplate(app: object | undefined, server: unknown, baseUrl: string): string | undefined {
  if (!app) return undefined;
  const found = placeKit(kitMountsOf(app).get(server), baseUrl);
  if (found !== NOWHERE) return found;
  // No mount takes off this baseUrl: perhaps one added after the table was read (as requireScopes() does: read again,
  // at most once a second per app); still nowhere, no identity.
  const again = placeKit(kitMountsOf(app, 'throttled').get(server), baseUrl);
  return again === NOWHERE ? undefined : again;
}

const NOWHERE = Symbol('no mount fits');

/** The one template among `prefixes` whose chain takes off exactly `baseUrl`; undefined when several differ. */
function placeKit(prefixes: Prefix[] | undefined, baseUrl: string): string | undefined | typeof NOWHERE {
  // Per request (publicBaseUrl mode): a loop without allocation; distinct fitting templates must be exactly one.
  let found: string | undefined | typeof NOWHERE = NOWHERE;
  for (const prefix of prefixes ?? []) {
    // The mounts must take off ALL of `baseUrl`: a kit at the root of a sub-app the walk cannot place (one mounted
    // with `router.use`) would otherwise fit `/admin` with the root's template and bind tokens to the origin.
    if (!prefix.chain || !takesExactly(prefix.chain, baseUrl)) continue;
    if (found !== NOWHERE && found !== prefix.template) return undefined;
    found = prefix.template;
  }
  return found === '/' ? '' : found;
}

/**
 * Every declared mount of the kit middleware of `server` in `app`'s route table (scanned once, on first need):
 * its template (`''` at the root; undefined for a regular-expression mount) and its display, without repeats.
 */
export function kitMountTemplates(app: object, server: unknown): Array<{ template: string | undefined; display: string }> {
  const out: Array<{ template: string | undefined; display: string }> = [];
  for (const p of kitMountsOf(app).get(server) ?? []) {
    const template = p.template === '/' ? '' : p.template;
    if (!out.some((o) => o.template === template && o.display === p.display)) out.push({ template, display: p.display || '/' });
  }
  return out;
}

function kitMountsOf(app: object, rescan: Rescan = 'cached'): Map<unknown, Prefix[]> {
  const known = kitMounts.get(app);
  // When to read the table again: as tableOf decides for declarations.
  if (known && !(rescan === 'now' || (rescan === 'throttled' && Date.now() - known.at >= 1000))) return known.byServer;
  const byServer = new Map<unknown, Prefix[]>();
  // A sub-app's kit sits under the sub-app's own mount paths (`app.mountpath`, up the `parent` chain).
  for (const prefix of mountsOf(app)) collectKits(rootStack(app), prefix, byServer, new Set(), 0);
  kitMounts.set(app, { byServer, at: Date.now() });
  return byServer;
}

function collectKits(stack: LayerLike[], prefix: Prefix, out: Map<unknown, Prefix[]>, seen: Set<unknown>, depth: number): void {
  if (depth > 32 || seen.has(stack)) return;
  seen.add(stack);
  for (const layer of stack) {
    if (layer.route) continue;
    const kit = (layer.handle as Record<symbol, unknown> | undefined)?.[KIT_MIDDLEWARE];
    const inner = kit === undefined ? innerStack(layer.handle) : undefined;
    if (kit === undefined && !inner) continue;
    for (const m of mountTemplates(layer)) {
      const at = extend(prefix, m);
      if (kit !== undefined) out.set(kit, [...(out.get(kit) ?? []), at]);
      else collectKits(inner!, at, out, seen, depth + 1);
    }
  }
  seen.delete(stack);
}
