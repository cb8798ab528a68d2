/**
 * Walking an Express app's routes (Express 4 and 5) to find what each route declared with
 * `requireScopes` (or the UMA declarations), so the app's protected resources can be described from
 * the routes themselves, and so a request's derived scope comes from the template the app declared,
 * never from the text the client sent.
 */
import type { RouteScopes } from '../scopes/requirement.js';
import { mountTemplates, type MountTemplate } from './mount-templates.js';

/** The symbol under which a `requireScopes` handler exposes its {@link RouteScopes}. */
export const ROUTE_SCOPES = Symbol.for('oauth-resource-server.route-scopes');

/** @internal The symbol that marks the app-wide middleware (the start-up check looks for it). */
export const KIT_MIDDLEWARE = Symbol.for('oauth-resource-server.middleware');

/** A route that declared scopes (or another declaration `T`). */
export interface ScannedRoute<T = RouteScopes> {
  /** The full path template, mount paths included (`/api/v1/orders/:id`). */
  path: string;
  /** Upper-case methods (`GET`, `POST`). */
  methods: string[];
  /** What the route declared. */
  scopes: T;
  /** @internal The Express Route object itself (`req.route` of the requests it serves). */
  route?: object;
}

/** @internal Every place a declaration sits, readable or not, as the walk found it. */
export interface DeclarationSite<T = unknown> {
  /** The full template, mount paths included; undefined when a mount or the route path is not a string template. */
  template: string | undefined;
  /** The template as declared, regular expressions included, for messages (never request text). */
  display: string;
  /** Upper-case methods; empty: every method (`route.all()`, `app.use()`). */
  methods: string[];
  declared: T;
  /** The Express Route; undefined for a declaration used as middleware (`app.use('/orders', requireScopes())`). */
  route: object | undefined;
  /** Whether an app-wide kit middleware runs before it (mounted on a path that covers it). */
  guarded: boolean;
  /** The resource server of the nearest kit middleware before it, if any. */
  kit: unknown;
}

interface LayerLike {
  name?: string;
  handle?: unknown;
  route?: { path?: unknown; methods?: Record<string, boolean>; stack?: LayerLike[] };
  /** Express 5 (router 2): the mount path as given. */
  rawPath?: unknown;
  /** Express 4: the mount path as a regular expression, with its keys. */
  regexp?: RegExp & { fast_slash?: boolean };
  keys?: Array<{ name: string | number }>;
  method?: string;
}

/**
 * Every route of `app` whose middleware exposes a declaration under `symbol` (default: `requireScopes`
 * declarations), with its full path template. Routes of mounted routers and of apps mounted on routers are
 * included; a route under a mount that is not a string template (a regular expression) is not, as it has
 * no template: see {@link assertRouteScopes}.
 */
export function scanRoutes<T = RouteScopes>(app: object, symbol: symbol = ROUTE_SCOPES): Array<ScannedRoute<T>> {
  const out: Array<ScannedRoute<T>> = [];
  for (const s of declarationSites<T>(app, symbol)) {
    if (s.route && s.template !== undefined) out.push({ path: s.template, methods: s.methods, scopes: s.declared, route: s.route });
  }
  return out;
}

/**
 * @internal Every declaration under `symbol` in `app`, with what the walk could read of its template. With
 * `mounted`, a sub-app's declarations get its mount paths (`app.mountpath`, up the `parent` chain), and the
 * kit middleware of the apps above it counts as running before them.
 */
export function declarationSites<T>(app: object, symbol: symbol, mounted = false): Array<DeclarationSite<T>> {
  const out: Array<DeclarationSite<T>> = [];
  const prefixes = mounted ? mountsOf(app) : [{ template: '', display: '' }];
  const guards: Guard[] = [];
  if (mounted) {
    for (let a = (app as { parent?: object }).parent, depth = 0; a && depth < 16; a = (a as { parent?: object }).parent, depth++) {
      for (const layer of rootStack(a)) {
        const kit = (layer.handle as Record<symbol, unknown> | undefined)?.[KIT_MIDDLEWARE];
        if (kit !== undefined) guards.push({ template: undefined, kit });
      }
    }
  }
  for (const prefix of prefixes) walk(rootStack(app), prefix, guards, out, symbol, new Set(), 0);
  return out;
}

function rootStack(app: object): LayerLike[] {
  const a = app as { router?: { stack?: LayerLike[] }; _router?: { stack?: LayerLike[] }; lazyrouter?: () => void; stack?: LayerLike[] };
  if (Array.isArray(a.stack)) return a.stack; // a Router itself
  // Express 4 throws on `app.router`; its router lives at `_router` once created.
  if (typeof a.lazyrouter === 'function') return a._router?.stack ?? [];
  return a.router?.stack ?? [];
}

/** The stack inside a layer's handle: a Router's, or an app's mounted with `router.use(app)`. */
function innerStack(handle: unknown): LayerLike[] | undefined {
  if (typeof handle !== 'function') return undefined;
  const h = handle as { stack?: unknown; handle?: unknown; set?: unknown };
  if (Array.isArray(h.stack)) return h.stack as LayerLike[];
  if (typeof h.handle === 'function' && typeof h.set === 'function') return rootStack(handle);
  return undefined;
}

interface Guard {
  template: string | undefined;
  kit: unknown;
}

function walk<T>(stack: LayerLike[], prefix: MountTemplate, guards: Guard[], out: Array<DeclarationSite<T>>, symbol: symbol, seen: Set<unknown>, depth: number): void {
  // A router mounted inside itself, or absurd nesting: stop rather than loop.
  if (depth > 32 || seen.has(stack)) return;
  seen.add(stack);
  const local = [...guards];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? (layer.route.path as unknown[]) : [layer.route.path];
      let onRoute: Guard[] = local;
      for (const handler of layer.route.stack ?? []) {
        // The kit middleware as a route handler (app.get('/x', oauthResourceServer(rs), requireScopes(...))).
        const kit = (handler.handle as Record<symbol, unknown> | undefined)?.[KIT_MIDDLEWARE];
        if (kit !== undefined) onRoute = [...onRoute, { template: undefined, kit }];
        const declared = (handler.handle as Record<symbol, T> | undefined)?.[symbol];
        if (!declared) continue;
        // A handler sits on one method of the route (route.get(h)); its own layer knows which. One without
        // a method (route.all(h)) runs for every method, whatever else the route serves.
        const methods = handler.method ? [handler.method.toUpperCase()] : [];
        for (const p of paths) {
          const own: MountTemplate = typeof p === 'string' ? { template: p, display: p } : { template: undefined, display: String(p) };
          out.push(site(join2(prefix, own), methods, declared, layer.route, onRoute));
        }
      }
      continue;
    }
    const mounts = mountTemplates(layer);
    const handle = layer.handle as Record<symbol, unknown> | undefined;
    if (handle?.[KIT_MIDDLEWARE] !== undefined) {
      for (const m of mounts) local.push({ template: join2(prefix, m).template, kit: handle[KIT_MIDDLEWARE] });
      continue;
    }
    const declared = handle?.[symbol] as T | undefined;
    if (declared) {
      // A declaration used as middleware: what it covers is its mount; the rest of the path is the client's.
      for (const m of mounts) out.push(site(join2(prefix, m), [], declared, undefined, local));
      continue;
    }
    const inner = innerStack(layer.handle);
    if (inner) for (const m of mounts) walk(inner, join2(prefix, m), local, out, symbol, seen, depth + 1);
  }
  seen.delete(stack);
}

function site<T>(at: MountTemplate, methods: string[], declared: T, route: object | undefined, guards: Guard[]): DeclarationSite<T> {
  let kit: unknown;
  for (const g of guards) if (covers(g.template, at.template)) kit = g.kit;
  return { template: at.template, display: at.display || '/', methods, declared, route, guarded: kit !== undefined, kit };
}

/** Whether middleware mounted at `mount` runs for paths of `template` (an unreadable side counts as covering). */
function covers(mount: string | undefined, template: string | undefined): boolean {
  if (mount === undefined || template === undefined || mount === '' || mount === '/') return true;
  const m = mount.split('/');
  const t = template.split('/');
  if (t.length < m.length) return false;
  return m.every((seg, i) => seg === t[i] || seg.startsWith(':') || t[i]!.startsWith(':') || /[*{(?]/.test(seg + t[i]!));
}

function join2(a: MountTemplate, b: MountTemplate): MountTemplate {
  return {
    template: a.template === undefined || b.template === undefined ? undefined : join(a.template, b.template),
    // Displays keep regular expressions as written (no slash folding inside them).
    display: b.display === '' || b.display === '/' ? a.display : `${a.display.replace(/\/$/, '')}${b.display.startsWith('/') ? '' : '/'}${b.display}`,
  };
}

function join(prefix: string, path: string): string {
  const p = `${prefix}/${path}`.replace(/\/{2,}/g, '/');
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

/** A declared place as the request-time table holds it. */
interface TemplateRow {
  template: string | undefined;
  display: string;
  methods: string[];
  /** The template as a pattern for the whole path (a prefix pattern for middleware); undefined: unreadable. */
  pattern: RegExp | undefined;
  route: object | undefined;
}
/** Per app and declaration symbol: each declaration's rows, and when the table was scanned. */
const tables = new WeakMap<object, Map<symbol, { rows: Map<unknown, TemplateRow[]>; at: number }>>();

/**
 * The rows of the declarations under `symbol` for requests handled by `app`, from its route table, scanned on
 * first need and again (at most once a second, or at once with `now`) when `rescan` asks. A sub-app's rows get
 * its own mount paths (`app.mountpath`, up the `parent` chain).
 */
function tableOf(app: object, symbol: symbol, rescan: boolean, now = false): Map<unknown, TemplateRow[]> {
  let bySymbol = tables.get(app);
  if (!bySymbol) tables.set(app, (bySymbol = new Map()));
  let table = bySymbol.get(symbol);
  if (!table || (rescan && (now || Date.now() - table.at >= 1000))) {
    const rows = new Map<unknown, TemplateRow[]>();
    const mounts = mountsOf(app);
    for (const s of declarationSites<unknown>(app, symbol)) {
      const list = rows.get(s.declared) ?? [];
      for (const m of mounts) {
        const at = join2(m, { template: s.template, display: s.display });
        const pattern = at.template === undefined ? undefined : templatePattern(at.template, s.route === undefined);
        list.push({ template: at.template, display: at.display, methods: s.methods, pattern, route: s.route });
      }
      rows.set(s.declared, list);
    }
    bySymbol.set(symbol, (table = { rows, at: Date.now() }));
  }
  return table.rows;
}

/** Where a (sub-)app is mounted: the mount templates of it and its parents; one empty template for the root app. */
function mountsOf(app: object, depth = 0): MountTemplate[] {
  const a = app as { parent?: object; mountpath?: unknown };
  if (!a.parent || depth > 16) return [{ template: '', display: '' }];
  const own: MountTemplate[] = (Array.isArray(a.mountpath) ? (a.mountpath as unknown[]) : [a.mountpath]).map((m) =>
    typeof m === 'string' ? { template: m === '/' ? '' : m, display: m } : { template: undefined, display: String(m) },
  );
  return mountsOf(a.parent, depth + 1).flatMap((p) => own.map((m) => join2(p, m)));
}

/**
 * A template as a pattern for the whole path, in the route syntax of Express 4 and 5: `:p` one segment,
 * `:p(re)` a segment matching `re`, `:p?` and `{/...}` optional, `*` and `*name` the rest. With `prefix`,
 * deeper paths match too (middleware). Undefined for what it cannot read, which then counts as matching: the
 * template is still the app's own text.
 */
function templatePattern(template: string, prefix: boolean): RegExp | undefined {
  let out = '';
  for (let i = 0; i < template.length; ) {
    const rest = template.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\/:[A-Za-z0-9_$]+\?/.exec(rest))) out += '(?:/[^/]+)?';
    else if ((m = /^:[A-Za-z0-9_$]+\(((?:[^()\\]|\\.)*)\)/.exec(rest))) out += `(?:${m[1]!})`;
    else if ((m = /^:[A-Za-z0-9_$]+/.exec(rest))) out += '[^/]+';
    else if ((m = /^\*[A-Za-z0-9_$]*/.exec(rest))) out += '.*';
    else if ((m = /^[{}]/.exec(rest))) out += m[0] === '{' ? '(?:' : ')?';
    else if ((m = /^[()]/.exec(rest))) return undefined;
    else {
      m = /^./.exec(rest)!;
      out += m[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    i += m[0].length;
  }
  try {
    return new RegExp(`^${out || '/'}${prefix ? '(?:/.*)?' : ''}$`, 'i');
  } catch {
    return undefined;
  }
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
 * `declared` that a request may have been dispatched through: the rows of the running route (by identity; for a
 * declaration used as middleware, the rows without a route), for the request's method, whose template the
 * request's full path matches. The tables of `req.app` and of `alsoApp` (the app where the kit's middleware
 * ran, which sees apps mounted on routers) are both read. Empty `templates` when none fits: the request came
 * through a mount that is not a string template, or one the table cannot see (a router called from a function);
 * the caller must then refuse to derive anything from the request.
 */
export function requestTemplates(
  req: { app?: object; method: string; baseUrl: string; path: string; route?: unknown },
  declared: unknown,
  symbol: symbol,
  alsoApp?: object,
): RequestTemplates {
  const route = req.route && typeof req.route === 'object' ? req.route : undefined;
  const path = `${req.baseUrl}${req.path}`.replace(/\/+$/, '') || '/';
  const method = req.method.toUpperCase();
  // Per request: a couple of rows, a pattern test each, one small array (this runs on every derived-scope request).
  const found: RequestTemplates = { templates: [], display: undefined };
  const collect = (rescan: boolean, now: boolean) => {
    if (req.app) collectFrom(tableOf(req.app, symbol, rescan, now), declared, route, method, path, found);
    if (alsoApp && alsoApp !== req.app) collectFrom(tableOf(alsoApp, symbol, rescan, now), declared, route, method, path, found);
  };
  collect(false, false);
  if (!found.templates.length) {
    // Routes and mounts added after the scan: scan again, at once the first time a place misses, then at most
    // once a second (a client that keeps missing cannot make every request rescan).
    const key = route ?? declared;
    const first = typeof key === 'object' && key !== null && !rescannedFor.has(key);
    if (first) rescannedFor.add(key);
    found.display = undefined;
    collect(true, first);
  }
  return found;
}

function collectFrom(table: Map<unknown, TemplateRow[]>, declared: unknown, route: object | undefined, method: string, path: string, out: RequestTemplates): void {
  const rows = table.get(declared);
  if (!rows) return;
  for (const r of rows) {
    if (r.route !== route) continue;
    if (r.methods.length && !r.methods.includes(method) && !(method === 'HEAD' && r.methods.includes('GET'))) continue;
    out.display ??= r.display;
    if (r.template === undefined || (r.pattern !== undefined && !r.pattern.test(path))) continue;
    if (!out.templates.includes(r.template)) out.templates.push(r.template);
  }
}

const rescannedFor = new WeakSet<object>();
