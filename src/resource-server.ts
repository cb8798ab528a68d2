/**
 * The framework-agnostic resource server: find the token, verify it, check it was issued for this
 * resource, and check a route's scope requirement. Framework layers (src/express/) only adapt requests
 * and write answers.
 */
import { InsufficientScopeError, MissingCredentialsError, ConfigurationError, ResourceServerError } from './answers/errors.js';
import type { Logger, ResolvedOptions, ResourceServerOptions } from './config/options.js';
import { resolveOptions } from './config/resolve-options.js';
import { extractBearerToken, type ExtractedToken, type HttpRequestLike } from './token/extract.js';
import { DpopVerifier } from './sender/dpop.js';
import { checkCertificateBinding, type TlsRequestLike } from './sender/mtls.js';
import { AuthorizationServerUnavailableError, InvalidDpopProofError, TokenBindingError } from './answers/errors.js';
import { AudienceMatcher } from './token/audience.js';
import { TokenVerifier, type VerifiedToken } from './token/verifier.js';
import { refusalDetails } from './token/refusal-details.js';
import { challengeScopes, requirement, type ScopeRequirement } from './scopes/requirement.js';
import { resourceNameFromPath, scopeFor } from './scopes/conventions.js';
import { answerFor, type ErrorAnswer } from './answers/error-answer.js';
import { metadataUrl, NOT_FIXED_PATH } from './metadata/metadata.js';
import { authorizationDetailsFor } from './claims/authorization-details.js';
import type { MaybePromise } from './types/maybe-promise.js';
import { requireObjectArgument } from './types/object-argument.js';
import { authenticated, checkAudience, type Authenticated } from './token/authenticated.js';

export type { Authenticated } from './token/authenticated.js';

/** The request parts authentication reads: extraction's, plus what DPoP and mTLS need. */
export type AuthenticatableRequest = HttpRequestLike & TlsRequestLike & { originalUrl?: string | undefined };

/** What {@link ResourceServer.answer} needs to know of the request besides the error. */
export interface AnswerContext {
  /** The body format, instead of the configured `errorResponse`. */
  readonly format?: 'json' | 'problem' | undefined;
  /** The mount path of the request (selects the identity whose metadata URL the challenge names). Default ''. */
  readonly mountPath?: string | undefined;
  /** The scheme the request used. */
  readonly scheme?: 'bearer' | 'dpop' | undefined;
}

/** The identifiers that apply at one mount path. */
export interface ResourceIdentity {
  /** The identifier named first (used by the `uri:action` convention and in metadata). */
  readonly primary: string;
  readonly matcher: AudienceMatcher;
  /** The path prefix routes carry before the resource name (stripped when deriving scopes). */
  readonly pathPrefix: string;
  /** The RFC 9728 metadata URL of the primary identifier, when metadata is on. */
  readonly metadataUrl: string | undefined;
}

/** The route whose scope {@link ResourceServer.derivedRequirement} derives. */
export interface ScopedRoute {
  /** The route's path template as declared (`/orders/:id`), mount paths included. Not needed with `resource`. */
  readonly path?: string | undefined;
  /** The mount path of the resource server's identity (selects the resource identifier). Default ''. */
  readonly mountPath?: string | undefined;
  /** The resource name (`orders`), instead of the one the path template gives. */
  readonly resource?: string | undefined;
}

/** A resource server: validates tokens issued for this resource and checks scopes. */
export class ResourceServer {
  /**
   * The options after defaults and validation. Their shape may change in any release.
   * @internal
   */
  readonly options: ResolvedOptions;
  /**
   * The token verifier (and its cache).
   * @internal
   */
  readonly verifier: TokenVerifier;
  readonly #identities = new Map<string, ResourceIdentity>();
  readonly #derived = new Map<string, ScopeRequirement>();
  /**
   * DPoP proof checks, when DPoP is on.
   * @internal
   */
  readonly dpop: DpopVerifier | undefined;
  /** Whether the shared DPoP replay store is failing (logged once per outage, not per request). */
  #replayStoreFailing = false;
  /** The logger's opt-in debug channel, if it has one: refused tokens are explained there. */
  readonly #debug: NonNullable<Logger['debug']> | undefined;

  /** Validates options now: a configuration mistake throws {@link ConfigurationError} here. */
  constructor(options: ResourceServerOptions) {
    this.options = resolveOptions(options);
    this.verifier = new TokenVerifier(this.options);
    const logger = this.options.logger;
    this.#debug = typeof logger.debug === 'function' ? logger.debug.bind(logger) : undefined;
    const dpop = this.options.dpop;
    this.dpop = dpop ? new DpopVerifier(dpop, this.options.clockToleranceSeconds, this.options.logger) : undefined;
  }

  /**
   * Drop every cached verdict and remembered refusal of this process (a key-compromise drill: every token is
   * verified again on its next request). A shared store's introspection verdicts are not touched.
   */
  clearCache(): void {
    this.verifier.clearCache();
  }

  /**
   * Fetch keys of configured issuers ahead of the first request. Never throws, also when an AS cannot be reached
   * (its failure is logged). An issuer given a `secret` and no `jwksUri` is not asked: its keys are discovered at its
   * first asymmetric token.
   */
  warmUp(): Promise<void> {
    return this.verifier.warmUp();
  }

  /**
   * Stop trusting an issuer that `resolveIssuer` vouched for, at once (a tenant removed; without this, within
   * `resolveIssuerTtlSeconds`). Its tokens are refused from now on, verified tokens in the cache and requests
   * under way included, and its keys, discovery state and introspection client are dropped; the next token of
   * that issuer asks the resolver again, so remove the tenant there first. Only this process forgets: with
   * several replicas, call it on each. A configured (`issuer`) issuer is never forgotten.
   *
   * @returns true when the issuer was trusted through the resolver (or a resolver call for it was awaited).
   * @example
   * ```ts
   * const rs = oauthResourceServer({ resolveIssuer: tenants.lookup, resource: 'https://api.example.com' });
   * tenants.remove(iss);
   * rs.resourceServer.forgetIssuer(iss);
   * ```
   */
  forgetIssuer(iss: string): boolean {
    return this.verifier.forgetIssuer(iss);
  }

  /**
   * The access token `req` presents, where {@link ResourceServer.authenticate} finds it; undefined when it
   * presents none or its credentials are malformed. For forwarding or token exchange: never log it.
   */
  presentedToken(req: AuthenticatableRequest): string | undefined {
    const options = this.options;
    try {
      return extractBearerToken(req, options.tokenLocations, options.maxTokenLength, this.dpop !== undefined)?.token;
    } catch {
      return undefined;
    }
  }

  /** This resource's identifiers when served under `mountPath` (derived ones come from `publicBaseUrl`). */
  identity(mountPath = ''): ResourceIdentity {
    let id = this.#identities.get(mountPath);
    if (!id) {
      const options = this.options;
      const ids = options.resources.length ? options.resources : [`${options.publicBaseUrl}${mountPath.replace(/\/+$/, '')}`];
      const primary = ids[0]!;
      let pathPrefix = mountPath;
      if (options.resources.length) {
        try {
          pathPrefix = new URL(primary).pathname.replace(/\/+$/, '');
        } catch {
          pathPrefix = '';
        }
      }
      let url: string | undefined;
      // A derived identifier with route parameters (`/:tenant`) names no one resource: it gets no document
      // (protectedResourceMetadata serves none there), so no challenge points at one.
      if (options.metadata && !(options.resources.length === 0 && NOT_FIXED_PATH.test(mountPath))) {
        try {
          url = metadataUrl(primary);
        } catch {
          url = undefined;
        }
      }
      id = { primary, matcher: new AudienceMatcher(ids, options.audienceMatching), pathPrefix, metadataUrl: url };
      if (this.#identities.size < 1000) this.#identities.set(mountPath, id);
    }
    return id;
  }

  /**
   * Authenticate a request: undefined when it carries no token; the verified token (synchronously when
   * known now, else a promise); throws/rejects with a typed error otherwise. The result is a
   * {@link MaybePromise} on purpose: a cached token is answered without a microtask hop or a promise per request
   * (`await` handles both forms).
   *
   * `binding` `'permissions'` (UMA routes) skips the audience check: an RPT is bound to this resource server by
   * its permissions, which name resources registered here (UMA 2.0 Grant §3.4, FedAuthz §5.1.1), and has no
   * `aud` of this resource; the caller must then require such a permission. Default `'audience'` (RFC 8707).
   */
  authenticate(
    req: AuthenticatableRequest,
    mountPath = '',
    binding: 'audience' | 'permissions' = 'audience',
  ): MaybePromise<Authenticated> | undefined {
    const options = this.options;
    const token = extractBearerToken(req, options.tokenLocations, options.maxTokenLength, this.dpop !== undefined);
    if (!token) return undefined;
    // RFC 9449 §4.3 check 1: a DPoP-scheme token comes with exactly one `DPoP` proof header.
    const proof = token.scheme === 'dpop' ? singleDpopHeader(req) : undefined;
    const identity = this.identity(mountPath);
    // Without a debug channel nothing is added to the path: no wrapping, no details computed.
    if (this.#debug) return this.#explained(token.token, identity, (v) => this.#accept(v, req, token, identity, binding, proof));
    const v = this.verifier.verify(token.token);
    if (v instanceof Promise) return v.then((verified) => this.#accept(verified, req, token, identity, binding, proof));
    // The synchronous path (a cache hit, or keys at hand) allocates no closure.
    return this.#accept(v, req, token, identity, binding, proof);
  }

  /** The verified token as accepted for this request: audience (or permissions), authorization details, binding. */
  // Positional (a private step of authenticate, every argument a distinct type but the last two): an options
  // object here would be one more allocation per request.
  #accept(
    v: VerifiedToken,
    req: AuthenticatableRequest,
    token: ExtractedToken,
    identity: ResourceIdentity,
    binding: 'audience' | 'permissions',
    proof: string | undefined,
  ): Authenticated | Promise<Authenticated> {
    const a =
      binding === 'permissions'
        ? authenticated(v, token.location, token.scheme)
        : checkAudience(v, identity.matcher, token.location, token.scheme);
    // RFC 9396 §9, §12 (CONFORMANCE 73, 74): per request, like the audience (an entry's locations name resources).
    const details = this.options.authorizationDetails;
    if (details) authorizationDetailsFor(a.context.claims, { types: details.types, resource: identity.matcher.identifiers });
    return this.#bind(a, req, token.token, proof);
  }

  /** Authenticate as above, and explain a refused token (401) on the debug channel: one line per refusal. */
  #explained(
    token: string,
    identity: ResourceIdentity,
    finish: (v: VerifiedToken) => Authenticated | Promise<Authenticated>,
  ): Authenticated | Promise<Authenticated> {
    const explain = (err: unknown): never => {
      if (err instanceof ResourceServerError && err.status === 401) {
        const options = this.options;
        const details = refusalDetails(err, token, {
          issuer: (iss) => this.verifier.issuerPolicy(iss),
          issuers: options.issuers.map((i) => i.issuer),
          resolver: options.resolveIssuer !== undefined,
          audiences: identity.matcher.identifiers,
          clockToleranceSeconds: options.clockToleranceSeconds,
        });
        try {
          this.#debug!('access token refused', details);
        } catch {
          // A failing logger must not turn a 401 into a 500.
        }
      }
      throw err;
    };
    try {
      const v = this.verifier.verify(token);
      const a = v instanceof Promise ? v.then(finish) : finish(v);
      return a instanceof Promise ? a.catch(explain) : a;
    } catch (err) {
      return explain(err);
    }
  }

  /** Sender constraint (RFC 9449 §7, RFC 8705 §3): the proof or certificate must match the token's `cnf`. */
  #bind(a: Authenticated, req: AuthenticatableRequest, token: string, proof: string | undefined): Authenticated | Promise<Authenticated> {
    const cnf = a.context.claims.cnf as Record<string, unknown> | undefined;
    // RFC 7800 §3.1: a token bound by a confirmation method this server cannot check (`jwk`, `kid`, `jku`, a
    // malformed `cnf`) is refused, never taken as a plain bearer token. Checked here: `jkt` (RFC 9449 §6) and
    // `x5t#S256` (RFC 8705 §3.1); other members beside one of those are left alone (that one binds the token).
    if (
      cnf !== undefined &&
      (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf) || (cnf.jkt === undefined && cnf['x5t#S256'] === undefined))
    ) {
      throw new TokenBindingError('the access token is bound by a confirmation method this server does not support');
    }
    const jkt = cnf && typeof cnf.jkt === 'string' ? cnf.jkt : undefined;
    if (cnf && cnf['x5t#S256'] !== undefined) checkCertificateBinding(cnf['x5t#S256'], req, this.options.mtls);
    if (proof !== undefined) {
      const path = (req.originalUrl ?? req.url ?? '/').split('?')[0];
      const replayKey = this.dpop!.check(proof, {
        method: (req.method ?? 'GET').toUpperCase(),
        url: `${this.dpop!.baseUrl}${path}`,
        accessToken: token,
        jkt,
      });
      const store = this.options.dpop?.replayStore;
      if (store) {
        // §11.1 across replicas: the first replica to record the jti wins; a failing store fails closed by default.
        return store.setIfAbsent(`dpop-jti:${replayKey}`, '1', this.dpop!.replayWindowMs).then(
          (fresh) => {
            this.#replayStoreFailing = false;
            if (!fresh) throw new InvalidDpopProofError('the DPoP proof was already used');
            return a;
          },
          (err: unknown) => {
            const local = this.options.dpop?.replayStoreFailure === 'local';
            if (!this.#replayStoreFailing) {
              this.#replayStoreFailing = true;
              this.options.logger.warn(
                `the DPoP replay store failed; ${local ? "checking this process's set only" : 'answering 503'} until it answers again`,
                { reason: err instanceof Error ? err.message : String(err) },
              );
            }
            if (local) return a;
            throw new AuthorizationServerUnavailableError('the DPoP replay check is unavailable', 1);
          },
        );
      }
    } else {
      // §7.2 (CONFORMANCE 35): a DPoP-bound token is never accepted as a bearer token.
      if (jkt !== undefined || (cnf && cnf.jkt !== undefined))
        throw new TokenBindingError('a DPoP-bound access token must be presented with the DPoP scheme');
      if (this.dpop?.mode === 'required') throw new TokenBindingError('this resource accepts only DPoP-bound access tokens');
    }
    return a;
  }

  /** Throw {@link InsufficientScopeError} unless the token meets the requirement. */
  authorize(verified: VerifiedToken, req: ScopeRequirement): void {
    if (!verified.granted.satisfies(req)) throw new InsufficientScopeError(challengeScopes(req));
  }

  /**
   * The requirement a convention derives for a method on a route (`GET /orders/:id` → `read:orders` under
   * `verb:resource`). Memoised per route.
   *
   * @example
   * ```ts
   * rs.derivedRequirement('GET', { path: '/orders/:id' }); // { allOf: ['read:orders'], anyOf: [] }
   * rs.derivedRequirement('POST', { resource: 'orders' }); // { allOf: ['write:orders'], anyOf: [] }
   * ```
   */
  derivedRequirement(method: string, route: ScopedRoute): ScopeRequirement {
    // A JavaScript caller of the former positional form (method, path, mountPath, resource) is told so.
    requireObjectArgument(route, 'derivedRequirement(method, { path, mountPath, resource })', 'the route');
    const { path: routePath = '', mountPath = '', resource: resourceName } = route;
    const key = `${method} ${mountPath} ${routePath} ${resourceName ?? ''}`;
    let r = this.#derived.get(key);
    if (r) return r;
    const options = this.options;
    const verb = options.methodVerbs[method.toUpperCase()];
    // The method is the client's choice (OPTIONS, PROPFIND on an `app.all` route): no verb, no scope that
    // could grant it, so a 403 (not a 500 and a log line per request). Add verbs in scopes.methodVerbs.
    if (!verb) throw new InsufficientScopeError([], `no scope is defined for the method ${method.slice(0, 20).replace(/[^A-Za-z-]/g, '')}`);
    const identity = this.identity(mountPath);
    const name = resourceName ?? resourceNameFromPath(routePath, identity.pathPrefix);
    if (!name) throw new ConfigurationError(`cannot derive a resource name from route ${routePath}; declare its scopes explicitly`);
    r = requirement([scopeFor(options.scopeConvention, { verb, resource: name, resourceIdentifier: identity.primary })]);
    if (this.#derived.size < 10_000) this.#derived.set(key, r);
    return r;
  }

  /**
   * The answer (status, challenge, body) for an error. `format` overrides the configured body format;
   * `mountPath` selects the identity whose metadata URL the challenge names; `scheme` is the scheme the request
   * used (its challenge comes first).
   */
  answer(error: unknown, context: AnswerContext = {}): ErrorAnswer {
    // A JavaScript caller of the former positional form (error, format, mountPath, scheme) is told so.
    requireObjectArgument(context, 'answer(error, { format, mountPath, scheme })', 'the context');
    const { format, mountPath = '', scheme } = context;
    const options = this.options;
    return answerFor(error, {
      dpop: this.dpop ? { algs: this.dpop.algorithms, required: this.dpop.mode === 'required' } : undefined,
      scheme,
      realm: options.realm,
      resourceMetadata: options.metadata && options.metadata.challenge !== false ? this.identity(mountPath).metadataUrl : undefined,
      includeScopeInChallenge: options.includeScopeInChallenge,
      format: format ?? (options.errorResponse === 'problem' ? 'problem' : 'json'),
    });
  }

  /** The error for a request that carried no token; `requiredScopes`: the route's, for the challenge's `scope`. */
  missingCredentials(requiredScopes: readonly string[] = []): MissingCredentialsError {
    return new MissingCredentialsError(undefined, requiredScopes);
  }
}

function singleDpopHeader(req: AuthenticatableRequest): string {
  const v = req.headers.dpop;
  let count = 0;
  const raw = req.rawHeaders ?? [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'dpop') count++;
  if (typeof v !== 'string' || !v || count > 1) throw new InvalidDpopProofError('exactly one DPoP proof header is required');
  return v;
}
