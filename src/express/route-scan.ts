/**
 * Walking an Express app's routes (Express 4 and 5) to find what each route declared with
 * `requireScopes` (or the UMA declarations), so the app's protected resources can be described from
 * the routes themselves, and so a request's derived scope comes from the template the app declared,
 * never from the text the client sent.
 */
import type { RouteScopes } from '../scopes/requirement.js';
import { layerSteps, mountTemplates, type MountLayer, type MountTemplate, type Step } from './mount-templates.js';

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
  /** Express's own dispatch steps from the app's root to this place (mounts, then the route); undefined: unknown. */
  chain: Step[] | undefined;
}

export interface LayerLike extends MountLayer {
  name?: string;
  handle?: unknown;
  route?: { path?: unknown; methods?: Record<string, boolean>; stack?: LayerLike[] };
  method?: string;
}

/** A mount path so far: its template, display and dispatch steps. */
export interface Prefix {
  template: string | undefined;
  display: string;
  chain: Step[] | undefined;
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
export function declarationSites<T>(
  app: object,
  symbol: symbol,
  { mounted = false }: { mounted?: boolean } = {},
): Array<DeclarationSite<T>> {
  const out: Array<DeclarationSite<T>> = [];
  const prefixes = mounted ? mountsOf(app) : [ROOT];
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

export const ROOT: Prefix = { template: '', display: '', chain: [] };

export function rootStack(app: object): LayerLike[] {
  const appOrRouter = app as {
    router?: { stack?: LayerLike[] };
    _router?: { stack?: LayerLike[] };
    lazyrouter?: () => void;
    stack?: LayerLike[];
  };
  if (Array.isArray(appOrRouter.stack)) return appOrRouter.stack; // a Router itself
  // Express 4 throws on `app.router`; its router lives at `_router` once created.
  if (typeof appOrRouter.lazyrouter === 'function') return appOrRouter._router?.stack ?? [];
  return appOrRouter.router?.stack ?? [];
}

/** The stack inside a layer's handle: a Router's, or an app's mounted with `router.use(app)`. */
export function innerStack(handle: unknown): LayerLike[] | undefined {
  if (typeof handle !== 'function') return undefined;
  const h = handle as { stack?: unknown; handle?: unknown; set?: unknown };
  if (Array.isArray(h.stack)) return h.stack as LayerLike[];
  if (typeof h.handle === 'function' && typeof h.set === 'function') return rootStack(handle);
  return undefined;
}

interface Guard {
  /** The kit's mount template; undefined: unknown, counted as covering (a kit of a parent app, a route handler). */
  template: string | undefined;
  kit: unknown;
}

function walk<T>(
  stack: LayerLike[],
  prefix: Prefix,
  guards: Guard[],
  out: Array<DeclarationSite<T>>,
  symbol: symbol,
  seen: Set<unknown>,
  depth: number,
): void {
  // A router mounted inside itself, or absurd nesting: stop rather than loop.
  if (depth > 32 || seen.has(stack)) return;
  seen.add(stack);
  const local = [...guards];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? (layer.route.path as unknown[]).flat(Infinity) : [layer.route.path];
      const steps = layerSteps(layer, paths.length);
      let onRoute: Guard[] = local;
      for (const handler of layer.route.stack ?? []) {
        // The kit middleware as a route handler (app.get('/x', oauthResourceServer(rs), requireScopes(...))): it
        // ran with the route's mount as req.baseUrl.
        const kit = (handler.handle as Record<symbol, unknown> | undefined)?.[KIT_MIDDLEWARE];
        if (kit !== undefined) onRoute = [...onRoute, { template: undefined, kit }];
        const declared = (handler.handle as Record<symbol, T> | undefined)?.[symbol];
        if (!declared) continue;
        // A handler sits on one method of the route (route.get(h)); its own layer knows which. One without
        // a method (route.all(h)) runs for every method, whatever else the route serves.
        const methods = handler.method ? [handler.method.toUpperCase()] : [];
        paths.forEach((p, i) => {
          const own: MountTemplate =
            typeof p === 'string'
              ? { template: p, display: p, step: steps[i] }
              : { template: undefined, display: String(p), step: steps[i] };
          out.push(site(extend(prefix, own), methods, declared, layer.route, onRoute));
        });
      }
      continue;
    }
    const mounts = mountTemplates(layer);
    const handle = layer.handle as Record<symbol, unknown> | undefined;
    if (handle?.[KIT_MIDDLEWARE] !== undefined) {
      for (const m of mounts) local.push({ template: extend(prefix, m).template, kit: handle[KIT_MIDDLEWARE] });
      continue;
    }
    const declared = handle?.[symbol] as T | undefined;
    if (declared) {
      // A declaration used as middleware: what it covers is its mount; the rest of the path is the client's.
      for (const m of mounts) out.push(site(extend(prefix, m), [], declared, undefined, local));
      continue;
    }
    const inner = innerStack(layer.handle);
    if (inner) for (const m of mounts) walk(inner, extend(prefix, m), local, out, symbol, seen, depth + 1);
  }
  seen.delete(stack);
}

function site<T>(at: Prefix, methods: string[], declared: T, route: object | undefined, guards: Guard[]): DeclarationSite<T> {
  let guard: Guard | undefined;
  for (const g of guards) if (covers(g.template, at.template)) guard = g;
  return {
    template: at.template,
    display: at.display || '/',
    methods,
    declared,
    route,
    guarded: guard !== undefined,
    kit: guard?.kit,
    chain: at.chain,
  };
}

/**
 * Whether middleware mounted at `mount` runs for every path of `template`: each of its segments equals the
 * template's (case aside) or is a plain parameter or wildcard (which match any segment). An unknown side (a
 * regular expression) counts as covering; the request-time answer is still a 500 where nothing ran.
 */
export function covers(mount: string | undefined, template: string | undefined): boolean {
  if (mount === undefined || template === undefined || mount === '' || mount === '/') return true;
  const m = mount.split('/');
  const t = template.split('/');
  if (t.length < m.length) return false;
  return m.every((seg, i) => seg.toLowerCase() === t[i]!.toLowerCase() || /^(?::[A-Za-z0-9_$]+|\*[A-Za-z0-9_$]*)$/.test(seg));
}

export function extend(a: Prefix, b: MountTemplate): Prefix {
  return {
    template: a.template === undefined || b.template === undefined ? undefined : join(a.template, b.template),
    // Displays keep regular expressions as written (no slash folding inside them).
    display:
      b.display === '' || b.display === '/'
        ? a.display
        : `${a.display.replace(/\/$/, '')}${b.display.startsWith('/') ? '' : '/'}${b.display}`,
    chain: a.chain && b.step ? [...a.chain, b.step] : undefined,
  };
}

function join(prefix: string, path: string): string {
  // Express 5 templates may open with an optional group ('{/:tenant}/orders'): no slash is added before it.
  const p = (path.startsWith('{') || path === '' ? `${prefix}${path}` : `${prefix}/${path}`).replace(/\/{2,}/g, '/');
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

/**
 * Whether a request's full path (`req.baseUrl + req.path`) goes through `chain` the way Express dispatches it:
 * each mount's own matcher takes its part off the front (it must end at a `/`, or a `.` in Express 4), and the
 * last step (the route, or the mount of a declaration used as middleware) must match what is left.
 */
export function fits(chain: Step[], path: string): boolean {
  let rest: string | undefined = path || '/';
  for (let i = 0; i < chain.length; i++) {
    if (i === chain.length - 1) return chain[i]!.match(rest) !== undefined;
    rest = takeStep(chain[i]!, rest);
    if (rest === undefined) return false;
  }
  return chain.length === 0;
}

/**
 * Whether a middleware's mount chain, applied the way Express dispatches, takes off exactly `baseUrl` (what Express
 * reports as removed before that middleware ran): each step its own matcher's part, nothing left over.
 */
export function takesExactly(chain: Step[], baseUrl: string): boolean {
  let rest: string | undefined = baseUrl || '/';
  for (const step of chain) {
    rest = takeStep(step, rest);
    if (rest === undefined) return false;
  }
  return rest === '/';
}

/** What is left of `rest` after a mount step takes its part off the front (ending at a `/`, or a `.` in Express 4). */
function takeStep(step: Step, rest: string): string | undefined {
  const removed = step.match(rest);
  if (removed === undefined) return undefined;
  if (!removed.length) return rest;
  if (!rest.startsWith(removed)) return undefined;
  const c = rest[removed.length];
  if (c && c !== '/' && !(step.dot && c === '.')) return undefined;
  const left = rest.slice(removed.length);
  return left[0] === '/' ? left : `/${left}`;
}

/**
 * Where a (sub-)app is mounted: the mount prefixes of it and its parents; the root for the root app. A mount's
 * steps are those of the parent's `mounted_app` layer for that path (Express keeps only the last mount path of an
 * app mounted twice: its other mounts have no prefix, so nothing fits there).
 */
export function mountsOf(app: object, depth = 0): Prefix[] {
  const subApp = app as { parent?: object; mountpath?: unknown };
  if (!subApp.parent || depth > 16) return [ROOT];
  // Compared without a trailing slash: Express 4 compiles `app.use('/admin/', sub)` as `/admin` (read back so), while
  // the sub-app records `/admin/`.
  const bare = (m: unknown): unknown => (typeof m === 'string' ? (m === '/' ? '' : m.length > 1 ? m.replace(/\/+$/, '') : m) : m);
  const wanted = (Array.isArray(subApp.mountpath) ? (subApp.mountpath as unknown[]) : [subApp.mountpath]).map(bare);
  const own: MountTemplate[] = [];
  for (const layer of rootStack(subApp.parent)) {
    if (layer.name !== 'mounted_app') continue;
    for (const m of mountTemplates(layer)) {
      const same =
        m.template !== undefined ? wanted.includes(bare(m.template)) : layer.rawPath instanceof RegExp && wanted.includes(layer.rawPath);
      if (same && !own.some((o) => o.template === m.template && o.display === m.display)) own.push(m);
    }
  }
  if (!own.length) {
    for (const m of wanted) own.push(typeof m === 'string' ? { template: m, display: m } : { template: undefined, display: String(m) });
  }
  return mountsOf(subApp.parent, depth + 1).flatMap((p) => own.map((m) => extend(p, m)));
}
