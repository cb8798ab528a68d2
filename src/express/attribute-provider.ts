/**
 * The attribute-provider router (OpenID Connect Core §5.6.2): a claims endpoint (GET and POST) protected
 * by the kit's token validation (the token must be issued for this provider as a resource, RFC 8707) and
 * the provider's JWKS at a well-known path, so the OP and relying parties can verify the claims JWTs.
 * Optionally registers the provider's claim groups at the OP as UMA resources.
 */
import { Router, urlencoded, type Request, type Response, type NextFunction } from 'express';
import { AttributeProvider, type AttributeProviderOptions } from '../attributes/attribute-provider.js';
import { claimGroupResources, type ClaimGroupResourceOptions } from '../attributes/claim-group-resources.js';
import { ConfigurationError, InvalidRequestError } from '../answers/errors.js';
import type { ResourceServerOptions } from '../config/options.js';
import { ResourceServer } from '../resource-server.js';
import type { UmaRegistrar } from '../uma/registrar.js';
import { oauthResourceServer, type ResourceServerMiddleware } from './middleware.js';
import { peekState } from './request-context.js';
import { respondWithError } from './respond.js';

/** UMA registration of the claim groups (one resource per scope) through a registrar. */
export interface AttributeProviderUmaOptions extends ClaimGroupResourceOptions {
  /** The registrar (its `issuer` is the OP acting as UMA authorization server). */
  registrar: UmaRegistrar;
  /** Start the registrar's background sync (with retries) now. Default true; `false` to sync yourself. */
  start?: boolean;
}

/** Options of {@link attributeProvider}. */
export interface AttributeProviderRouterOptions extends AttributeProviderOptions {
  /**
   * The resource server that validates access tokens: its `resource` is this provider's identifier
   * (RFC 8707), and its `issuer` the OP. Options, a `ResourceServer`, or `oauthResourceServer(...)`.
   */
  resourceServer: ResourceServerOptions | ResourceServer | ResourceServerMiddleware;
  /** Path of the claims endpoint inside the router. Default `/claims`. */
  claimsPath?: string;
  /** Path of the JWKS inside the router. Default `/.well-known/jwks.json`. */
  jwksPath?: string;
  /** `Cache-Control: max-age` of the JWKS, seconds. Default 300. */
  jwksMaxAgeSeconds?: number;
  /** Register the claim groups as UMA resources at the OP. Default off. */
  uma?: AttributeProviderUmaOptions;
}

/** The router, with the claims logic and the resource server it uses. */
export interface AttributeProviderRouter extends Router {
  /** The framework-agnostic claims logic (formats, scope → claims map, signing, JWKS). */
  readonly provider: AttributeProvider;
  /** The resource server that validates the access tokens. */
  readonly resourceServer: ResourceServer;
}

function serverOf(rs: AttributeProviderRouterOptions['resourceServer']): ResourceServer {
  if (rs instanceof ResourceServer) return rs;
  if (typeof rs === 'function' && rs.resourceServer instanceof ResourceServer) return rs.resourceServer;
  if (rs && typeof rs === 'object') return new ResourceServer(rs as ResourceServerOptions);
  throw new ConfigurationError('attributeProvider needs resourceServer: options, a ResourceServer or oauthResourceServer(...)');
}

function checkPath(path: string, what: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#*:()]/.test(path))
    throw new ConfigurationError(`${what} must be a plain path starting with "/"`);
  return path;
}

/**
 * The form parser of the body token method. RFC 6750 §3.1: a body that cannot be read (too large, an
 * unknown charset, bad encoding) is an `invalid_request` answered by the kit, never Express's HTML page.
 */
function formBody(server: ResourceServer): (req: Request, res: Response, next: NextFunction) => void {
  const parse = urlencoded({ extended: false, limit: '16kb' });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if (err === undefined || err === null) return next();
      const tooLarge = (err as { type?: unknown }).type === 'entity.too.large';
      respondWithError(
        server,
        new InvalidRequestError('ERR_REQUEST_MALFORMED', tooLarge ? 'the form body is too large' : 'the form body cannot be read'),
        res,
        next,
      );
    });
  };
}

/**
 * An Express router for an attribute provider. Mount it before any app-wide `oauthResourceServer`
 * (the JWKS is public) and, so relying parties find the keys at `<iss>/.well-known/jwks.json`, at the
 * path of the provider's issuer:
 *
 * - `GET|POST <claimsPath>` with `Authorization: Bearer <token>` (RFC 6750 §2.1; the form body and query
 *   only when the resource server enables them) → 200 `application/jwt` (or JSON), 401/403 RFC 6750
 *   challenges, 404 for an unknown `sub` (CONFORMANCE 75).
 * - `GET <jwksPath>` → the public keys of the claims JWTs, public and cacheable.
 *
 * @example
 * ```ts
 * app.use('/attributes', attributeProvider({
 *   resourceServer: { issuer: 'https://op.example.com', resource: 'https://claims.example.net/attributes' },
 *   issuer: 'https://claims.example.net/attributes',
 *   signingKey: { key: privateKey, alg: 'ES256' },
 *   scopes: { credit: ['credit_score'] },
 *   findUser: (sub) => users.get(sub),
 * }));
 * ```
 */
export function attributeProvider(options: AttributeProviderRouterOptions): AttributeProviderRouter {
  if (!options || typeof options !== 'object') throw new ConfigurationError('attributeProvider needs options');
  const server = serverOf(options.resourceServer);
  const issuer = options.issuer ?? server.options.resources[0];
  const provider = new AttributeProvider({ ...options, issuer });
  const claimsPath = checkPath(options.claimsPath ?? '/claims', 'claimsPath');
  const jwksPath = checkPath(options.jwksPath ?? '/.well-known/jwks.json', 'jwksPath');
  const maxAge = options.jwksMaxAgeSeconds ?? 300;
  const logger = server.options.logger;
  provider.ready().catch((err: unknown) => logger.error(err instanceof Error ? err.message : 'the claims signing key cannot be used'));

  const protect = oauthResourceServer(server);
  const router = Router();

  router.get(jwksPath, (_req: Request, res: Response, next: NextFunction) => {
    provider.jwks().then(
      (jwks) => {
        const body = JSON.stringify(jwks);
        res.statusCode = 200;
        res.setHeader('content-type', 'application/jwk-set+json');
        res.setHeader('cache-control', `public, max-age=${maxAge}`);
        res.setHeader('access-control-allow-origin', '*');
        res.setHeader('content-length', String(Buffer.byteLength(body)));
        res.end(body);
      },
      (err: unknown) => respondWithError(server, err, res, next),
    );
  });

  const claims = (req: Request, res: Response, next: NextFunction): void => {
    const state = peekState(req);
    const auth = state?.auth;
    if (!auth) return respondWithError(server, server.missingCredentials(), res, next);
    const accept = req.headers.accept;
    provider
      .answer({
        token: auth.context,
        resource: server.identity(state.identityMount).matcher.identifiers,
        accept: typeof accept === 'string' ? accept : undefined,
        errorFormat: server.options.errorResponse === 'problem' ? 'problem' : 'json',
      })
      .then((answer) => {
        res.statusCode = answer.status;
        // Vary is added to (a CORS middleware before may have set `Vary: Origin`), the others are the answer's own.
        for (const [k, v] of Object.entries(answer.headers)) {
          if (k === 'vary') res.vary(v);
          else res.setHeader(k, v);
        }
        res.setHeader('content-length', String(Buffer.byteLength(answer.body)));
        res.end(answer.body);
      })
      .catch((err: unknown) => respondWithError(server, err, res, next));
  };
  router.get(claimsPath, protect, claims);
  // RFC 6750 §2.2: a form-body token is read only when the resource server enables that method.
  if (server.options.tokenLocations.body) router.post(claimsPath, formBody(server), protect, claims);
  else router.post(claimsPath, protect, claims);

  if (options.uma) {
    const { registrar, start, ...resourceOptions } = options.uma;
    registrar.declare(claimGroupResources(provider, resourceOptions));
    if (start !== false) registrar.start();
  }

  Object.defineProperty(router, 'provider', { value: provider, enumerable: true });
  Object.defineProperty(router, 'resourceServer', { value: server, enumerable: true });
  return router as AttributeProviderRouter;
}
