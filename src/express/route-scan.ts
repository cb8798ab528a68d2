/**
 * Walking an Express app's routes (Express 4 and 5) to find what each route declared with
 * `requireScopes` (or the UMA declarations), so the app's protected resources can be described from
 * the routes themselves: at start-up, for registration and metadata, never on the request path.
 */
import type { RouteScopes } from '../scopes/requirement.js';

/** The symbol under which a `requireScopes` handler exposes its {@link RouteScopes}. */
export const ROUTE_SCOPES = Symbol.for('oauth-resource-server.route-scopes');

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

interface LayerLike {
  name?: string;
  handle?: unknown;
  route?: { path?: unknown; methods?: Record<string, boolean>; stack?: LayerLike[] };
  /** Express 5 (router 2): the mount path as given. */
  rawPath?: unknown;
  /** Express 4: the mount path as a regular expression, with its keys. */
  regexp?: RegExp & { fast_slash?: boolean };
  keys?: Array<{ name: string | number }>;
}

/**
 * Every route of `app` whose middleware exposes a declaration under `symbol` (default: `requireScopes`
 * declarations). Routes of mounted routers are included with their full path.
 */
export function scanRoutes<T = RouteScopes>(app: object, symbol: symbol = ROUTE_SCOPES): Array<ScannedRoute<T>> {
  const out: Array<ScannedRoute<T>> = [];
  walk(rootStack(app), '', out, symbol);
  return out;
}

function rootStack(app: object): LayerLike[] {
  const a = app as { router?: { stack?: LayerLike[] }; _router?: { stack?: LayerLike[] }; lazyrouter?: () => void; stack?: LayerLike[] };
  if (Array.isArray(a.stack)) return a.stack; // a Router itself
  // Express 4 throws on `app.router`; its router lives at `_router` once created.
  if (typeof a.lazyrouter === 'function') {
    return a._router?.stack ?? [];
  }
  return a.router?.stack ?? [];
}

function walk<T>(stack: LayerLike[], prefix: string, out: Array<ScannedRoute<T>>, symbol: symbol): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const handler of layer.route.stack ?? []) {
        const declared = (handler.handle as Record<symbol, T> | undefined)?.[symbol];
        if (!declared) continue;
        for (const p of paths) {
          if (typeof p !== 'string') continue;
          // A handler sits on one method of the route (route.get(h)); its own layer knows which. One without
          // a method (route.all(h)) runs for every method, whatever else the route serves.
          const own = (handler as { method?: string }).method;
          out.push({ path: join(prefix, p), methods: own ? [own.toUpperCase()] : [], scopes: declared, route: layer.route });
        }
      }
      continue;
    }
    const inner = (layer.handle as { stack?: LayerLike[] } | undefined)?.stack;
    if (Array.isArray(inner)) for (const mount of mountPaths(layer)) walk(inner, join(prefix, mount), out, symbol);
  }
}

/**
 * The mount path templates of a router layer: one, several (an Express 5 array mount), or, where the mount
 * cannot be read but has parameters (an Express 4 regular-expression or optional parameter), one unnamed
 * parameter standing for it, so no resource name is ever taken from it. None for an unreadable static mount.
 */
function mountPaths(layer: LayerLike): string[] {
  if (typeof layer.rawPath === 'string') return [layer.rawPath === '/' ? '' : layer.rawPath];
  if (Array.isArray(layer.rawPath)) return layer.rawPath.filter((p): p is string => typeof p === 'string').map((p) => (p === '/' ? '' : p));
  const re = layer.regexp;
  if (!re) return [];
  if (re.fast_slash) return [''];
  // Express 4: path-to-regexp 0.1 output, e.g. ^\/api\/v1\/?(?=\/|$) or ^\/p(?:\/([^\/]+?))\/?(?=\/|$)
  let src = re.source.replace(/^\^/, '').replace(/\\\/\?\(\?=\\\/\|\$\)$/, '');
  let k = 0;
  src = src.replace(/\(\?:\\\/\(\[\^\\?\/\]\+\?\)\)/g, () => `/:${String(layer.keys?.[k++]?.name ?? k)}`);
  src = src.replace(/\\(.)/g, '$1');
  if (!/[()[\]?*+^$|]/.test(src)) return [src];
  return layer.keys?.length ? ['/:mount'] : [];
}

function join(prefix: string, path: string): string {
  const p = `${prefix}/${path}`.replace(/\/{2,}/g, '/');
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

/** A declared route as the table holds it: its full template, its methods and the template as a pattern. */
interface TemplateRow {
  path: string;
  methods: string[];
  /** The template as a whole-path pattern; undefined when this matcher cannot read it (then it may match). */
  pattern: RegExp | undefined;
  route: object | undefined;
}
/** Per app and declaration symbol: each declaration's routes, and when the table was scanned. */
const tables = new WeakMap<object, Map<symbol, { rows: Map<unknown, TemplateRow[]>; at: number }>>();

/**
 * The full path templates (mount paths included, as declared: `/:tenant/orders`, never the request's own
 * text) of the routes that carry `declared`, for requests handled by `app`; from the app's route table,
 * scanned on first need, and again (at most once a second) when `rescan` asks because a request matched
 * none (routes added later). Sub-apps get their own mount paths (`app.mountpath`, up the `parent` chain).
 */
function routeTemplates(app: object, declared: unknown, symbol: symbol, rescan: boolean, now = false): TemplateRow[] {
  let bySymbol = tables.get(app);
  if (!bySymbol) tables.set(app, (bySymbol = new Map()));
  let table = bySymbol.get(symbol);
  if (!table || (rescan && (now || Date.now() - table.at >= 1000))) {
    const rows = new Map<unknown, TemplateRow[]>();
    const mounts = mountsOf(app);
    for (const r of scanRoutes<unknown>(app, symbol)) {
      const list = rows.get(r.scopes) ?? [];
      for (const m of mounts) {
        const path = join(m, r.path);
        list.push({ path, methods: r.methods, pattern: templatePattern(path), route: r.route });
      }
      rows.set(r.scopes, list);
    }
    bySymbol.set(symbol, (table = { rows, at: Date.now() }));
  }
  return table.rows.get(declared) ?? [];
}

/** Where a (sub-)app is mounted: the mount path templates of it and its parents; `['']` for the root app. */
function mountsOf(app: object, depth = 0): string[] {
  const a = app as { parent?: object; mountpath?: unknown };
  if (!a.parent || depth > 16) return [''];
  const own = (Array.isArray(a.mountpath) ? a.mountpath : [a.mountpath]).filter((m): m is string => typeof m === 'string');
  return mountsOf(a.parent, depth + 1).flatMap((p) => own.map((m) => join(p, m === '/' ? '' : m)));
}

/**
 * A template as a whole-path pattern, for the route syntax of Express 4 and 5: `:p` one segment, `:p?` and
 * `{/...}` optional, `*` and `*name` the rest. Undefined for what it cannot read (`:p(regex)`), which then
 * counts as matching.
 */
function templatePattern(template: string): RegExp | undefined {
  if (/\(/.test(template)) return undefined;
  let out = '';
  for (let i = 0; i < template.length; ) {
    const rest = template.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\/:[A-Za-z0-9_$]+\?/.exec(rest))) out += '(?:/[^/]+)?';
    else if ((m = /^:[A-Za-z0-9_$]+/.exec(rest))) out += '[^/]+';
    else if ((m = /^\*[A-Za-z0-9_$]*/.exec(rest))) out += '.*';
    else if ((m = /^[{}]/.exec(rest))) out += m[0] === '{' ? '(?:' : ')?';
    else {
      m = /^./.exec(rest)!;
      out += m[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    i += m[0].length;
  }
  try {
    return new RegExp(`^${out || '/'}$`, 'i');
  } catch {
    return undefined;
  }
}

/**
 * The declared templates (mount paths included) of the routes carrying `declared` that a request may have
 * been dispatched to, as the route table tells: those ending in the running route's own template
 * (`routePath`, Express's `req.route.path`), and of those the ones the request's full path matches, when
 * any does (a template this matcher cannot read, e.g. an optional part, matches nothing: then all of them).
 * Empty when the table cannot tell (a mount the scan cannot read: a regular expression, an array); the
 * caller then falls back to the request's own path, as for a route-less use. A mount the table does not
 * see at all (a sub-app on a router) is taken from the request's base URL.
 */
export function matchingTemplates(req: { app?: object; method: string; baseUrl: string; path: string; route?: unknown }, declared: unknown, symbol: symbol): string[] {
  if (!req.app) return [];
  const method = req.method.toUpperCase();
  const path = `${req.baseUrl}${req.path}`.replace(/\/+$/, '') || '/';
  const route = req.route && typeof req.route === 'object' ? req.route : undefined;
  const rowsOf = (all: TemplateRow[]) =>
    // The rows of the route that is running (by identity: array paths and late mounts included), for this method.
    all.filter((r) => (route === undefined || r.route === route) && (r.methods.length === 0 || r.methods.includes(method) || (method === 'HEAD' && r.methods.includes('GET'))));
  let rows = rowsOf(routeTemplates(req.app, declared, symbol, false));
  if (!rows.length && route && !rescannedFor.has(route)) {
    // A route the table has not seen (added after the scan): scan again, once for it.
    rescannedFor.add(route);
    rows = rowsOf(routeTemplates(req.app, declared, symbol, true, true));
  }
  // Of its mounts, those this request came through; none: a mount the table cannot see (fall back).
  return [...new Set(rows.filter((r) => r.pattern === undefined || r.pattern.test(path)).map((r) => r.path))];
}

const rescannedFor = new WeakSet<object>();

/**
 * What stands for the template where the route table cannot tell: the base URL and the running route's own
 * path (its template, when it has one string path), else the request's remaining path.
 */
export function pathWithoutTable(req: { baseUrl: string; path: string; route?: unknown }): string {
  const own = (req.route as { path?: unknown } | undefined)?.path;
  return `${req.baseUrl}${typeof own === 'string' ? own : req.path}`;
}
