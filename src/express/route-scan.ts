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
      const methods = Object.keys(layer.route.methods ?? {}).filter((m) => layer.route!.methods![m] && m !== '_all').map((m) => m.toUpperCase());
      for (const handler of layer.route.stack ?? []) {
        const declared = (handler.handle as Record<symbol, T> | undefined)?.[symbol];
        if (!declared) continue;
        for (const p of paths) {
          if (typeof p !== 'string') continue;
          // A handler sits on one method of the route (route.get(h)); its own layer knows which.
          const own = (handler as { method?: string }).method;
          out.push({ path: join(prefix, p), methods: own ? [own.toUpperCase()] : methods, scopes: declared });
        }
      }
      continue;
    }
    const inner = (layer.handle as { stack?: LayerLike[] } | undefined)?.stack;
    if (Array.isArray(inner)) {
      const mount = mountPath(layer);
      if (mount !== undefined) walk(inner, join(prefix, mount), out, symbol);
    }
  }
}

function mountPath(layer: LayerLike): string | undefined {
  if (typeof layer.rawPath === 'string') return layer.rawPath === '/' ? '' : layer.rawPath;
  const re = layer.regexp;
  if (!re) return undefined;
  if (re.fast_slash) return '';
  // Express 4: path-to-regexp 0.1 output, e.g. ^\/api\/v1\/?(?=\/|$) or ^\/p(?:\/([^\/]+?))\/?(?=\/|$)
  let src = re.source.replace(/^\^/, '').replace(/\\\/\?\(\?=\\\/\|\$\)$/, '');
  let k = 0;
  src = src.replace(/\(\?:\\\/\(\[\^\\?\/\]\+\?\)\)/g, () => `/:${String(layer.keys?.[k++]?.name ?? k)}`);
  src = src.replace(/\\(.)/g, '$1');
  return /[()[\]?*+^$|]/.test(src) ? undefined : src;
}

function join(prefix: string, path: string): string {
  const p = `${prefix}/${path}`.replace(/\/{2,}/g, '/');
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

/** A declared route as the table holds it: its full template, its methods and the template as a pattern. */
interface TemplateRow {
  path: string;
  methods: string[];
  pattern: RegExp;
}
/** Per app and declaration symbol: each declaration's routes, and when the table was scanned. */
const tables = new WeakMap<object, Map<symbol, { rows: Map<unknown, TemplateRow[]>; at: number }>>();

/**
 * The full path templates (mount paths included, as declared: `/:tenant/orders`, never the request's own
 * text) of the routes that carry `declared`, for requests handled by `app`; from the app's route table,
 * scanned on first need, and again (at most once a second) when `rescan` asks because a request matched
 * none (routes added later). Sub-apps get their own mount paths (`app.mountpath`, up the `parent` chain).
 */
function routeTemplates(app: object, declared: unknown, symbol: symbol, rescan: boolean): TemplateRow[] {
  let bySymbol = tables.get(app);
  if (!bySymbol) tables.set(app, (bySymbol = new Map()));
  let table = bySymbol.get(symbol);
  if (!table || (rescan && Date.now() - table.at >= 1000)) {
    const rows = new Map<unknown, TemplateRow[]>();
    const mounts = mountsOf(app);
    for (const r of scanRoutes<unknown>(app, symbol)) {
      const list = rows.get(r.scopes) ?? [];
      for (const m of mounts) {
        const path = join(m, r.path);
        list.push({ path, methods: r.methods, pattern: templatePattern(path) });
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

/** A template (`/:tenant/orders/:id`) as a whole-path pattern: parameters match one segment. */
function templatePattern(template: string): RegExp {
  const body = template.split('/').map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
  return new RegExp(`^${body || '/'}$`, 'i');
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
export function matchingTemplates(req: { app?: object; method: string; baseUrl: string; path: string }, declared: unknown, symbol: symbol, routePath?: unknown): string[] {
  if (!req.app) return [];
  const method = req.method.toUpperCase();
  const path = `${req.baseUrl}${req.path}`.replace(/\/+$/, '') || '/';
  const own = typeof routePath === 'string' ? join('', routePath) : undefined;
  const pick = (all: TemplateRow[]) => {
    // HEAD is served by GET routes (Express); a route for all methods lists none.
    let rows = all.filter((r) => r.methods.length === 0 || r.methods.includes(method) || (method === 'HEAD' && r.methods.includes('GET')));
    if (own !== undefined) rows = rows.filter((r) => r.path === own || r.path.endsWith(own === '/' ? '' : own));
    const matched = rows.filter((r) => r.pattern.test(path));
    // A row that is the running route alone while the request came through a mount: the table does not know
    // that mount (a sub-app on a router), so its text stands in for it, as before route tables were read.
    const explained = (r: TemplateRow) => (own !== undefined && r.path === own && req.baseUrl ? join(req.baseUrl, own) : r.path);
    return [...new Set((matched.length ? matched : own !== undefined ? rows : []).map(explained))];
  };
  const found = pick(routeTemplates(req.app, declared, symbol, false));
  return found.length ? found : pick(routeTemplates(req.app, declared, symbol, true));
}
