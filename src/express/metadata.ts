/**
 * Serving RFC 9728 protected resource metadata from an Express app: at the well-known URL of each
 * identifier (the path-insertion rule of §3.1), public (CORS `*`), cacheable (§7.10), and built from
 * the same declarations the middleware enforces: `scopes_supported` is the scopes the routes require.
 */
import { Router, type Request, type Response } from 'express';
import { ConfigurationError } from '../answers/errors.js';
import { ResourceServer } from '../resource-server.js';
import { buildMetadata, metadataPath, NOT_FIXED_PATH, signMetadata, type ProtectedResourceMetadata } from '../metadata/metadata.js';
import type { RouteScopes, ScopeRequirement } from '../scopes/requirement.js';
import { covers, declarationSites, ROUTE_SCOPES } from './route-scan.js';
import { kitMountTemplates } from './request-templates.js';
import type { ResourceServerMiddleware } from './middleware.js';

/** Options of {@link protectedResourceMetadata}. */
export interface MetadataRouterOptions {
  /** The app whose routes declare the scopes (`scopes_supported`); scanned at the first request. */
  app?: object;
  /**
   * Mount paths of the app-wide middleware, for identifiers derived from `publicBaseUrl`: one document per
   * mount (`publicBaseUrl` + mount). Default: with `app`, the string mounts of this resource server's middleware
   * in `app`'s route table (read at the first request; a mount with route parameters, like `/:tenant`, names
   * no one identifier and is left out, with a warning), or `['']` when the table shows none.
   */
  mountPaths?: readonly string[];
}

/**
 * A router that serves the metadata document of every identifier of the resource server. Mount it at the
 * root of the host, before the app-wide middleware (the document is public):
 *
 * ```ts
 * const rs = oauthResourceServer({ issuer, resource, metadata: { resourceName: 'Orders API' } });
 * app.use(protectedResourceMetadata(rs, { app }));
 * app.use(rs);
 * ```
 */
export function protectedResourceMetadata(
  resourceServer: ResourceServer | ResourceServerMiddleware,
  options: MetadataRouterOptions = {},
): Router {
  const server = resourceServer instanceof ResourceServer ? resourceServer : resourceServer.resourceServer;
  const settings = server.options;
  if (!settings.metadata) throw new ConfigurationError('protectedResourceMetadata needs the resource server option `metadata`');
  const metadata = settings.metadata;
  // With publicBaseUrl, each mount of the middleware is its own resource (its identifier and derived scopes).
  const derivedIds = settings.resources.length === 0;
  const documents = new Map<string, Promise<ProtectedResourceMetadata>>();
  const warned = new Set<string>();

  const scopes = (mount: string): string[] => {
    if (!options.app) return [];
    const out = new Set<string>();
    // Every declaration the walk finds: routes (route.all() included), declarations used as middleware, and
    // routes under mounts that are not templates where the scopes do not depend on the template.
    // `mounted`: a sub-app's routes under its own mount paths, as requireScopes() reads them at request time.
    for (const site of declarationSites<RouteScopes>(options.app, ROUTE_SCOPES, { mounted: true })) {
      // A route outside the mount is not served under this mount's identifier.
      if (derivedIds && mount && !covers(mount, site.template)) continue;
      const declared = site.declared;
      if (declared.kind === 'static') {
        for (const s of [...declared.requirement.allOf, ...declared.requirement.anyOf]) out.add(s);
        continue;
      }
      const methods = site.methods.length ? site.methods : Object.keys(settings.methodVerbs);
      for (const method of methods) {
        let requirement: ScopeRequirement;
        try {
          if (declared.resource === undefined && site.template === undefined) throw new ConfigurationError('no template');
          requirement = server.derivedRequirement(method, { path: site.template, mountPath: mount, resource: declared.resource });
        } catch (err) {
          // RFC 9728 §3.2: the document must still be served. A route whose scope cannot be derived (a method
          // without a scope verb, a path without a static segment or template) requires no listable scope:
          // skip it, say so once.
          const key = `${method} ${mount} ${site.display}`;
          if (!warned.has(key) && warned.size < 1000) {
            warned.add(key);
            settings.logger.warn('a route is left out of the metadata scopes_supported: its scope cannot be derived', {
              method,
              route: site.display,
              reason: err instanceof Error ? err.name : typeof err,
            });
          }
          continue;
        }
        for (const s of [...requirement.allOf, ...requirement.anyOf]) out.add(s);
      }
    }
    return [...out];
  };
  const document = (id: string, mount: string) => {
    let pending = documents.get(id);
    if (!pending) {
      const doc = buildMetadata(
        {
          resource: id,
          authorizationServers: settings.issuers.map((i) => i.issuer),
          scopes: scopes(mount),
          bearerMethods: [
            'header',
            ...(settings.tokenLocations.body ? (['body'] as const) : []),
            ...(settings.tokenLocations.query ? (['query'] as const) : []),
          ],
          // RFC 9728 §2 (CONFORMANCE 53): true exactly when the resource server refuses tokens that are not DPoP-bound.
          dpopRequired: server.dpop?.mode === 'required',
          ...(server.dpop ? { dpopAlgorithms: server.dpop.algorithms } : {}),
          mtlsBound: Boolean(settings.mtls),
          ...(settings.authorizationDetails ? { authorizationDetailsTypes: Object.keys(settings.authorizationDetails.types) } : {}),
        },
        metadata,
      );
      pending = metadata.signing ? signMetadata(doc, metadata.signing) : Promise.resolve(doc);
      documents.set(id, pending);
      // A failure is not kept: a later request tries again.
      pending.catch(() => {
        if (documents.get(id) === pending) documents.delete(id);
      });
    }
    return pending;
  };

  // Exact path comparison (no route patterns, no prefix match): `/.well-known/oauth-protected-resource-other`
  // and a trailing slash are not the document (RFC 9728 §3.1).
  // Built at the first request, when the app's route table (the middleware's mounts) is complete.
  let byPath: Map<string, { id: string; mount: string }> | undefined;
  const paths = () => {
    byPath ??= new Map(
      mountsToServe(server, options).flatMap((mount) =>
        server.identity(mount).matcher.identifiers.map((id) => [metadataPath(id).split('?')[0]!, { id, mount }] as const),
      ),
    );
    return byPath;
  };
  const router = Router();
  router.use((req: Request, res: Response, next) => {
    const hit = paths().get(req.path);
    if (!hit || (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS')) return next();
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, HEAD');
      // Fetch standard, CORS protocol: a preflight fails unless every non-safelisted request header (MCP clients
      // send `MCP-Protocol-Version`) is allowed. The document is public and sent without credentials, so any
      // field name is allowed; anything else (not a list of names) is not echoed.
      const allowed = requestedHeaderNames(req.headers['access-control-request-headers']);
      if (allowed) res.setHeader('access-control-allow-headers', allowed);
      res.vary('access-control-request-headers');
      res.setHeader('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
      res.statusCode = 204;
      return res.end();
    }
    // Any failure building (or signing) the document is a JSON 500, never the framework's HTML error page (§3.2).
    Promise.resolve()
      .then(() => document(hit.id, hit.mount))
      .then(
        (doc) => {
          const body = JSON.stringify(doc);
          res.statusCode = 200;
          res.setHeader('cache-control', `public, max-age=${metadata.maxAgeSeconds ?? 3600}`);
          res.setHeader('content-type', 'application/json');
          res.setHeader('content-length', String(Buffer.byteLength(body)));
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: unknown) => {
          // The error's name only: no stack, no key material, no request data.
          settings.logger.error('the protected resource metadata could not be built', {
            reason: err instanceof Error ? err.name : typeof err,
          });
          const body = JSON.stringify({ error: 'server_error' });
          res.statusCode = 500;
          res.setHeader('cache-control', 'no-store');
          res.setHeader('content-type', 'application/json');
          res.setHeader('content-length', String(Buffer.byteLength(body)));
          res.end(req.method === 'HEAD' ? undefined : body);
        },
      );
  });
  return router;
}

/** How long a browser may reuse a preflight answer (browsers cap it lower: Chromium at 2 hours). */
const PREFLIGHT_MAX_AGE_SECONDS = 86400;

/** RFC 9110 §5.1 field-name (a token, §5.6.2). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The names of an `Access-Control-Request-Headers` value (`#field-name`, RFC 9110 §5.6.1: comma-separated,
 * optional whitespace, empty elements ignored), lower-cased and joined with `, `; `undefined` when there is none
 * or any element is not a field name.
 */
function requestedHeaderNames(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const names = new Set<string>();
  for (const element of value.split(',')) {
    // OWS (space, tab) trimmed by hand: a trimming regular expression backtracks on long runs of it.
    let start = 0;
    let end = element.length;
    while (start < end && (element[start] === ' ' || element[start] === '\t')) start++;
    while (end > start && (element[end - 1] === ' ' || element[end - 1] === '\t')) end--;
    const name = element.slice(start, end);
    if (!name) continue;
    if (!FIELD_NAME.test(name)) return undefined;
    names.add(name.toLowerCase());
  }
  return names.size ? [...names].join(', ') : undefined;
}

/**
 * The mounts whose documents are served: `mountPaths` when given; with identifiers derived from `publicBaseUrl`
 * and an `app`, the fixed string mounts of the server's middleware there (RFC 9728 §3.1: one document per
 * identifier, at its path-inserted URL); else (or when the table shows no mount) the root.
 */
function mountsToServe(server: ResourceServer, options: MetadataRouterOptions): readonly string[] {
  if (options.mountPaths) return options.mountPaths;
  if (!options.app || server.options.resources.length) return [''];
  const found = kitMountTemplates(options.app, server);
  if (!found.length) {
    // The root document names the base URL alone, an identifier no mount may accept: say so (once per router).
    server.options.logger.warn(
      'the resource server middleware is not in the route table of the app given: only the root document is served',
      {
        fix: 'pass the app or sub-app the middleware is mounted in (protectedResourceMetadata(rs, { app: subApp })), or mountPaths',
      },
    );
    return [''];
  }
  const fixed = found.flatMap((m) => (m.template !== undefined && !NOT_FIXED_PATH.test(m.template) ? [m.template] : []));
  const left = found.filter((m) => m.template === undefined || NOT_FIXED_PATH.test(m.template)).map((m) => m.display);
  if (left.length) {
    server.options.logger.warn('a mount of the resource server middleware has no metadata document: its path names no one identifier', {
      mounts: left,
      fix: 'pass protectedResourceMetadata(rs, { mountPaths }) with the mount paths to publish',
    });
  }
  return [...new Set(fixed)];
}
