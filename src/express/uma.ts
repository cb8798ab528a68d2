/**
 * UMA-protected routes (UMA 2.0 Grant §3): a route whose access is decided by the resource owner's
 * policies at the AS. A request without an RPT that holds the route's permission gets a fresh permission
 * ticket in `WWW-Authenticate: UMA realm, as_uri, ticket` (401, §3.2.1, §3.5); when no ticket can be had,
 * a 403 with `Warning: 199 - "UMA Authorization Server Unreachable"` (§3.2.2).
 */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { AuthorizationServerUnavailableError, ConfigurationError, InvalidRequestError, ResourceServerError } from '../answers/errors.js';
import { ResourceServer, type Authenticated } from '../resource-server.js';
import { requirement, type ScopeRequirement } from '../scopes/requirement.js';
import { formatChallenge } from '../answers/www-authenticate.js';
import { refusal } from '../uma/permissions.js';
import { UmaRegistrar, type UmaRegistrarOptions } from '../uma/registrar.js';
import { resolveUmaOptions } from '../uma/resolve-uma-options.js';
import { resourcesFromRoutes, type RouteResourceOptions } from '../uma/route-resources.js';
import { ANY, table, UMA_REGISTRAR_SLOTS, unknownOptionName } from '../config/option-names.js';
import { declarationSites } from './route-scan.js';
import { requestTemplates } from './request-templates.js';
import { stateOf } from './request-context.js';
import { respondWithError } from './respond.js';
import type { ResourceServerMiddleware } from './middleware.js';

/** The symbol under which an UMA route handler exposes its scopes (for the route scan). */
export const ROUTE_UMA = Symbol.for('oauth-resource-server.route-uma');

/** Options of {@link umaProtection}. */
export interface UmaProtectionOptions extends UmaRegistrarOptions, RouteResourceOptions {
  /** The resource server that validates RPTs (normally by introspection at the UMA AS). */
  resourceServer: ResourceServer | ResourceServerMiddleware;
  /** `realm` of UMA challenges. */
  realm?: string;
}

/** The names of {@link UmaProtectionOptions}: the registrar's, the route resources', and its own. */
const UMA_PROTECTION_NAMES = table<UmaProtectionOptions>({
  ...UMA_REGISTRAR_SLOTS,
  namePrefix: ANY,
  type: ANY,
  mountPath: ANY,
  resourceServer: ANY,
  realm: ANY,
});

/** Options of one UMA-protected route. */
export interface UmaRouteOptions {
  /**
   * The key of the resource a request is about, for resources registered per object at run time
   * (`(req) => \`album:${req.params.id}\``). Default: the route's own resource (`route:<path template>`).
   */
  resourceKey?: (req: Request) => string;
}

/** UMA protection for an app: route middleware, registration from routes, and the registrar. */
export interface UmaProtection {
  /**
   * Route middleware: the RPT must hold these scopes on the request's resource. The last argument may be
   * {@link UmaRouteOptions}. Routes without `resourceKey` are registered from the routes themselves.
   */
  require(...args: Array<string | UmaRouteOptions>): RequestHandler;
  /** Describe the app's UMA routes as resources and keep them registered (in the background, with retries). */
  registerRoutes(app: object): UmaRegistrar;
  /** Describe the app's UMA routes as resources without syncing (for `plan`, or a sync you run yourself). */
  declareRoutes(app: object): UmaRegistrar;
  /** The registrar (status, plan, sync, per-object register/deregister, tickets). */
  readonly registrar: UmaRegistrar;
}

/** Create UMA protection. Throws a `ConfigurationError` for an unknown option name or a wrong value. */
export function umaProtection(options: UmaProtectionOptions): UmaProtection {
  const misnamed = unknownOptionName(options, UMA_PROTECTION_NAMES, 'umaProtection');
  if (misnamed) throw new ConfigurationError(`oauth-resource-server: ${misnamed}`);
  const { resourceServer, realm, namePrefix, type, mountPath, ...registrarOptions } = options;
  const server = resourceServer instanceof ResourceServer ? resourceServer : resourceServer.resourceServer;
  if (!(server instanceof ResourceServer))
    throw new ConfigurationError('umaProtection needs resourceServer: a ResourceServer or oauthResourceServer(...) middleware');
  const routeResourceOptions: RouteResourceOptions = { namePrefix, type, mountPath };
  // What the options leave out comes from the resource server. One namespace per API (its resource identifier):
  // APIs sharing a client id never touch each other's sets.
  const inherited = {
    namespace: server.identity('').primary,
    logger: server.options.logger,
    retryIntervalMs: server.options.http.retryIntervalMs,
  };
  const resolved = resolveUmaOptions(registrarOptions satisfies UmaRegistrarOptions, { label: 'umaProtection', inherited });
  const registrar = new UmaRegistrar(resolved);
  const toleranceSeconds = server.options.clockToleranceSeconds;
  const logger = resolved.logger;

  const challenge = (ticket: string, mount: string) => {
    const params: Array<[string, string]> = [];
    if (realm !== undefined) params.push(['realm', realm]);
    // RFC 9728 §5.1 (CONFORMANCE 15): the metadata URL in every challenge, as the kit's Bearer ones do.
    const metadata = server.options.metadata;
    const metadataUrl = metadata && metadata.challenge !== false ? server.identity(mount).metadataUrl : undefined;
    if (metadataUrl !== undefined) params.push(['resource_metadata', metadataUrl]);
    params.push(['as_uri', registrar.issuer], ['ticket', ticket]);
    return formatChallenge({ scheme: 'UMA', params });
  };

  function require(...args: Array<string | UmaRouteOptions>): RequestHandler {
    const last = args[args.length - 1];
    const routeOptions: UmaRouteOptions = typeof last === 'object' ? last : {};
    const scopes = args.filter((a): a is string => typeof a === 'string');
    const needed: ScopeRequirement = requirement(scopes);
    const handler = async (req: Request, res: Response, next: NextFunction) => {
      // The route's declared template (as registered from the route table), never the request's own text:
      // another resource's key built from a crafted path would let its RPT open this route.
      let key: string;
      if (routeOptions.resourceKey) key = routeOptions.resourceKey(req);
      else {
        const found = requestTemplates(req, needed, ROUTE_UMA, stateOf(req).app);
        if (found.templates.length !== 1)
          return respondWithError(server, unkeyable(req, found.display, found.templates.length), res, next, { logged: true });
        key = `route:${found.templates[0]!}`;
      }
      // Not known here: a registration may be under way (waited for, bounded), or another replica registered it
      // (run-time objects): read the shared mapping.
      const id = registrar.resourceId(key) ?? (await registrar.lookupResourceId(key));
      // Until the resource is registered nobody can hold a permission for it: 503, never an allow. The request
      // also prompts a failing registration to try again now rather than at the end of its back-off.
      if (!id) {
        registrar.retrySoon();
        return respondWithError(
          server,
          new AuthorizationServerUnavailableError(
            'this resource is not registered at the authorization server yet',
            Math.max(1, Math.ceil(server.options.http.retryIntervalMs / 1000)),
          ),
          res,
          next,
        );
      }
      const state = stateOf(req);
      let auth: Authenticated | undefined = state.auth;
      if (!auth) {
        try {
          // Bound by its permissions, not its audience (an RPT names no `aud` of this API): UMA Grant §3.4,
          // FedAuthz §5.1.1. The permission for this resource's `_id` is required below.
          auth = await server.authenticate(req, '', 'permissions'); // bound by permissions: no identity from the path
        } catch (err) {
          // A malformed request or an unreachable AS keeps its own answer; an invalid RPT gets a new ticket (§3.5).
          if (err instanceof InvalidRequestError || (err instanceof ResourceServerError && err.status >= 500))
            return respondWithError(server, err, res, next);
          logger?.debug?.('UMA: the RPT was refused; answering with a new ticket', {
            resource: key,
            ...(err instanceof ResourceServerError ? { code: err.code, reason: err.message } : {}),
          });
          auth = undefined;
        }
      }
      if (auth) {
        const why = refusal(auth.context.claims, id, needed.allOf, { nowSeconds: Date.now() / 1000, toleranceSeconds });
        if (why === undefined) {
          state.auth = auth;
          return next();
        }
        logger?.debug?.(`UMA: ${why}; answering with a new ticket`, { resource: key, scopes: [...needed.allOf] });
      }
      let ticket: string;
      try {
        ticket = await registrar.requestTicket(key, [...needed.allOf]);
      } catch {
        // Grant §3.2.2: no ticket, no way forward for the client (an unusable ticket from the AS included).
        res.statusCode = 403;
        res.setHeader('warning', '199 - "UMA Authorization Server Unreachable"');
        res.setHeader('cache-control', 'no-store');
        return res.end();
      }
      res.statusCode = 401;
      // The identity the RPT was checked against: the app-wide middleware's mount, else this router's.
      res.setHeader('www-authenticate', challenge(ticket, state.server ? state.identityMount : ''));
      res.setHeader('cache-control', 'no-store');
      res.end();
    };
    const routeHandler = ((req: Request, res: Response, next: NextFunction) => {
      handler(req, res, next).catch((err: unknown) => respondWithError(server, err, res, next));
    }) as RequestHandler & { [ROUTE_UMA]: ScopeRequirement };
    // Per-object routes are registered by the app (registrar.register), not from the route table.
    if (!routeOptions.resourceKey) Object.defineProperty(routeHandler, ROUTE_UMA, { value: needed });
    return routeHandler;
  }

  // Routes without a declared template to key them by (once each in the log, a fixed 500 to the client).
  const loggedUnkeyable = new WeakSet<object>();
  const unkeyable = (req: Request, display: string | undefined, fits: number): ConfigurationError => {
    const place = req.route as object | undefined;
    if (place && !loggedUnkeyable.has(place)) {
      loggedUnkeyable.add(place);
      logger?.error(
        fits
          ? 'an UMA route fits several declared templates: give it a resourceKey'
          : 'an UMA route has no declared path template for its resource (a regular-expression path or mount, ' +
              'or a router the route table cannot see): give it a resourceKey, or mount it with string paths',
        { route: display ?? String((req.route as { path?: unknown } | undefined)?.path) },
      );
    }
    return new ConfigurationError('an UMA route has no declared resource');
  };

  return {
    require,
    registrar,
    declareRoutes(app: object) {
      // Routes and declarations used as middleware (app.use('/videos', uma.require('view'))), by their templates.
      const routes = declarationSites<ScopeRequirement>(app, ROUTE_UMA)
        .filter((s) => s.template !== undefined)
        .map((s) => ({ path: s.template!, methods: s.methods, scopes: { kind: 'static' as const, requirement: s.declared } }));
      registrar.declare(resourcesFromRoutes(routes, server, routeResourceOptions));
      return registrar;
    },
    registerRoutes(app: object) {
      this.declareRoutes(app);
      registrar.start();
      return registrar;
    },
  };
}
