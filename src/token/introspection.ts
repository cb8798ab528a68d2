/**
 * Token introspection (RFC 7662), and the checks an answer must pass before it is believed: `active` is the JSON
 * boolean `true`, the time claims hold locally, `iss` (when present) is this issuer, `token_type` (when present)
 * is a bearer token. The audience is checked per request by the caller, like a JWT's.
 *
 * The plain call (a JSON answer, `client_secret_basic` or `client_secret_post`) is a form POST made directly on
 * the keep-alive node:http client: through openid-client's fetch-shaped path (Headers, URLSearchParams, Response
 * objects, its own checks) an uncached request cost about four times the client CPU of the POST itself.
 * `private_key_jwt`, `tls_client_auth` and RFC 9701 signed responses go through openid-client.
 */
import http from 'node:http';
import https from 'node:https';
import * as client from 'openid-client';
import { AuthorizationServerUnavailableError, InvalidTokenError } from '../answers/errors.js';
import type { AccessTokenClaims } from './auth-context.js';
import type { CheckTime } from './check-time.js';
import { basicAuthorization, clientSecretBasic, formUrlEncode } from '../http/basic-credentials.js';
import { createFetch, httpRequest, requestTarget, type HttpResponse, type RequestTarget } from '../http/client.js';
import { AuthorizationServerCallError, classify, classifyAnswer, InvalidAnswerError, type AsHealth } from '../http/as-failure.js';
import type { ResolvedIntrospection } from '../config/options.js';
import { isSecureOrLoopback } from '../http/secure-url.js';
import { discoverAuthorizationServer, oauthMetadataUrl, type AuthorizationServerMetadata } from '../authz-server/discovery.js';

/** Settings shared by every introspector of a resource server. */
export interface IntrospectorSettings {
  timeoutMs: number;
  maxBytes: number;
  /** Least time between two discovery attempts while the AS's metadata cannot be fetched. */
  retryIntervalMs: number;
  clockToleranceSeconds: number;
  /** Where failures are reported (logged once per state change). */
  health: AsHealth;
}

/** An introspection answer that passed the checks. */
export interface ActiveIntrospection {
  claims: AccessTokenClaims;
  /** `exp` when the AS gave one. */
  exp: number | undefined;
}

/** How fresh an RFC 9701 response's `iat` must be (plus the clock tolerance). */
const JWT_RESPONSE_MAX_AGE_SECONDS = 60;

/** How an introspector calls its AS: directly (the plain call), or through openid-client. */
type Call = { readonly direct: DirectCall } | { readonly oidc: client.Configuration };

/** The introspection client of one issuer. */
export class Introspector {
  readonly #issuer: string;
  /** This issuer's `introspection` options: the endpoint, and how this resource server authenticates. */
  readonly #introspection: ResolvedIntrospection;
  /** Limits and the health report, shared by every introspector. */
  readonly #settings: IntrospectorSettings;
  #config: Promise<Call> | undefined;
  /** The call once built: later requests use it without waiting on a promise. */
  #ready: Call | undefined;
  /** The endpoint in use (named in logs). */
  #endpoint: string;

  constructor(issuer: string, introspection: ResolvedIntrospection, settings: IntrospectorSettings) {
    this.#issuer = issuer;
    this.#introspection = introspection;
    this.#settings = settings;
    this.#endpoint = introspection.endpoint ?? issuer;
  }

  /**
   * Ask the AS about a token (RFC 7662 §2.1: POST, form-encoded, `token_type_hint=access_token`, the
   * resource server authenticated). Resolves with the raw answer; rejects with
   * {@link AuthorizationServerUnavailableError} when there is no usable answer, and with
   * {@link InvalidTokenError} when the AS refuses the token itself (`unsupported_token_type`).
   */
  introspect(token: string): Promise<Record<string, unknown>> {
    const call = this.#ready;
    // Once set up, straight to the call (no extra promise hops on the per-request path).
    if (!call) return this.#configuration().then((c) => this.#call(c, token));
    return this.#call(call, token);
  }

  #call(call: Call, token: string): Promise<Record<string, unknown>> {
    const failed = (err: unknown): never => {
      throw this.#mapError(err);
    };
    try {
      if (!('direct' in call))
        return (client.tokenIntrospection(call.oidc, token, { token_type_hint: 'access_token' }) as Promise<Record<string, unknown>>).then(
          (a) => this.#answered(a),
          failed,
        );
      const direct = call.direct;
      // One reaction for the exchange and the reading of its answer.
      return direct.request(token).then((res) => {
        let a: Record<string, unknown>;
        try {
          a = direct.read(res);
        } catch (err) {
          return failed(err);
        }
        return this.#answered(a);
      }, failed);
    } catch (err) {
      return Promise.reject(this.#mapError(err));
    }
  }

  #answered(answer: Record<string, unknown>): Record<string, unknown> {
    this.#settings.health.ok(this.#issuer, 'introspection');
    return answer;
  }

  /** Classified by status first, whatever body or content type came with it (an empty 401 is a 401). */
  #mapError(err: unknown): Error {
    const failure = classify(err, this.#settings.timeoutMs);
    if (failure.kind === 'status' && failure.asError === 'unsupported_token_type') {
      this.#settings.health.ok(this.#issuer, 'introspection'); // the AS answered: it refuses this token
      return new InvalidTokenError('ERR_TOKEN_INACTIVE', 'the authorization server does not introspect this kind of token');
    }
    // Refused credentials: an operator must act (logged as an error, once); the client's token may be fine, so 503.
    this.#settings.health.failed(
      new AuthorizationServerCallError({ issuer: this.#issuer, step: 'introspection', url: this.#endpoint, failure }),
      failure.kind === 'credentials' ? { clientId: this.#introspection.clientId } : undefined,
    );
    return new AuthorizationServerUnavailableError(
      failure.kind === 'credentials'
        ? 'the authorization server refused to introspect the token'
        : 'the authorization server could not introspect the token',
    );
  }

  #configuration(): Promise<Call> {
    this.#config ??= this.#build().then(
      (call) => (this.#ready = call),
      (err: unknown) => {
        this.#config = undefined; // try again on a later request (discovery paces its own retries)
        this.#settings.health.failed(
          err instanceof AuthorizationServerCallError
            ? err
            : new AuthorizationServerCallError({
                issuer: this.#issuer,
                step: 'introspection',
                url: this.#endpoint,
                failure: classify(err, this.#settings.timeoutMs),
              }),
        );
        throw new AuthorizationServerUnavailableError(
          'the authorization server metadata could not be fetched',
          Math.max(1, Math.ceil(this.#settings.retryIntervalMs / 1000)),
        );
      },
    );
    return this.#config;
  }

  async #build(): Promise<Call> {
    const introspection = this.#introspection;
    const settings = this.#settings;
    let metadata: AuthorizationServerMetadata;
    if (introspection.endpoint && !introspection.jwtResponseAlg)
      metadata = { issuer: this.#issuer, introspection_endpoint: introspection.endpoint };
    else {
      metadata = (
        await discoverAuthorizationServer(this.#issuer, {
          timeoutMs: settings.timeoutMs,
          maxBytes: settings.maxBytes,
          retryIntervalMs: settings.retryIntervalMs,
        })
      ).metadata;
      settings.health.ok(this.#issuer, 'discovery');
      if (introspection.endpoint) metadata = { ...metadata, introspection_endpoint: introspection.endpoint };
    }
    if (typeof metadata.introspection_endpoint !== 'string') {
      throw new AuthorizationServerCallError({
        issuer: this.#issuer,
        step: 'discovery',
        url: oauthMetadataUrl(this.#issuer),
        failure: { kind: 'invalid_answer', detail: 'the metadata has no introspection_endpoint' },
      });
    }
    this.#endpoint = metadata.introspection_endpoint;

    const agent = introspection.tls
      ? new https.Agent({ keepAlive: true, cert: introspection.tls.cert, key: introspection.tls.key })
      : undefined;
    if (
      !introspection.jwtResponseAlg &&
      (introspection.clientAuthMethod === 'client_secret_basic' || introspection.clientAuthMethod === 'client_secret_post')
    ) {
      return {
        direct: new DirectCall({ issuer: this.#issuer, endpoint: metadata.introspection_endpoint, introspection, settings, agent }),
      };
    }
    const baseFetch = createFetch({ timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes, agent });
    const clientMetadata: Partial<client.ClientMetadata> = {};
    if (introspection.jwtResponseAlg) clientMetadata.introspection_signed_response_alg = introspection.jwtResponseAlg;
    if (introspection.clientAuthMethod === 'tls_client_auth')
      clientMetadata.use_mtls_endpoint_aliases = Boolean(metadata.mtls_endpoint_aliases);
    const config = new client.Configuration(
      metadata as client.ServerMetadata,
      introspection.clientId,
      clientMetadata,
      clientAuth(introspection),
    );
    config.timeout = Math.max(1, Math.ceil(settings.timeoutMs / 1000));
    config[client.customFetch] = introspection.jwtResponseAlg ? freshJwtResponses(baseFetch, settings.clockToleranceSeconds) : baseFetch;
    const endpoint = new URL(metadata.introspection_endpoint);
    if (endpoint.protocol === 'http:' && isSecureOrLoopback(endpoint)) client.allowInsecureRequests(config);
    // RFC 9701 §5: the signature of a JWT response is verified with the AS's keys (openid-client's non-repudiation checks).
    if (introspection.jwtResponseAlg) client.enableNonRepudiationChecks(config);
    return { oidc: config };
  }
}

const FORM = 'application/x-www-form-urlencoded';

/** RFC 7662 §2.2: the answer is a JSON object in `application/json` (a parameter such as charset allowed). */
const JSON_TYPE = /^application\/json\s*(?:;|$)/i;

/** What a {@link DirectCall} is made with. */
interface DirectCallSetup {
  readonly issuer: string;
  /** The introspection endpoint (from the options or the AS's metadata). */
  readonly endpoint: string;
  /** This issuer's `introspection` options (the client's credentials). */
  readonly introspection: ResolvedIntrospection;
  readonly settings: IntrospectorSettings;
  /** The keep-alive agent with the client certificate, when there is one. */
  readonly agent: http.Agent | undefined;
}

/**
 * The plain introspection call, made directly: RFC 7662 §2.1 form POST (`token`, `token_type_hint=access_token`)
 * with the client authenticated by Basic credentials in the WHATWG form (RFC 6749 §2.3.1) or in the body, and
 * only what an AS needs besides (Accept, Content-Type, Content-Length, Host). The answer must be a 200 with a
 * JSON object whose `active` is a boolean; anything else is an {@link AuthorizationServerCallError} classified
 * by status first, as an answer through openid-client is. The deadline and the size bound are the HTTP client's.
 */
class DirectCall {
  readonly #issuer: string;
  readonly #endpoint: string;
  readonly #target: RequestTarget;
  /** The Basic credentials (client_secret_basic), or undefined (client_secret_post: they go in the body). */
  readonly #authorization: string | undefined;
  /** What follows the token in every body: the hint, and the credentials with client_secret_post. */
  readonly #tail: string;
  readonly #agent: http.Agent | undefined;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;

  constructor({ issuer, endpoint, introspection, settings, agent }: DirectCallSetup) {
    const url = new URL(endpoint);
    // As openid-client: https, or http only on a loopback host (development).
    if (!isSecureOrLoopback(url))
      throw new AuthorizationServerCallError({
        issuer,
        step: 'discovery',
        url: endpoint,
        failure: { kind: 'invalid_answer', detail: 'the introspection_endpoint is not https' },
      });
    this.#issuer = issuer;
    this.#endpoint = endpoint;
    this.#target = requestTarget(url);
    this.#tail = '&token_type_hint=access_token';
    const { clientId, clientSecret, clientAuthMethod } = introspection;
    const secret = clientSecret!; // present: resolveIntrospection requires it for client_secret_*
    if (clientAuthMethod === 'client_secret_post')
      this.#tail += `&client_id=${formUrlEncode(clientId)}&client_secret=${formUrlEncode(secret)}`;
    else this.#authorization = basicAuthorization(clientId, secret);
    this.#agent = agent;
    this.#timeoutMs = settings.timeoutMs;
    this.#maxBytes = settings.maxBytes;
  }

  /** The exchange (any answer; rejects only when there is none). */
  request(token: string): Promise<HttpResponse> {
    // encodeURIComponent is a valid form encoding for a token's characters (b64token: letters, digits, -._~+/=).
    const body = `token=${encodeURIComponent(token)}${this.#tail}`;
    // A literal per call (one of two shapes): what node:http reads fastest.
    const length = String(Buffer.byteLength(body));
    const headers: Record<string, string> =
      this.#authorization === undefined
        ? { accept: 'application/json', 'content-type': FORM, 'content-length': length }
        : { accept: 'application/json', 'content-type': FORM, authorization: this.#authorization, 'content-length': length };
    return httpRequest(this.#target, {
      method: 'POST',
      headers,
      body,
      timeoutMs: this.#timeoutMs,
      maxBytes: this.#maxBytes,
      agent: this.#agent,
    });
  }

  /** The answer, if it is one (RFC 7662 §2.2); an {@link AuthorizationServerCallError} otherwise. */
  read(res: HttpResponse): Record<string, unknown> {
    if (res.status !== 200) throw this.#failed(classifyAnswer(res, `HTTP ${res.status}`));
    const type = res.headers['content-type'];
    if (type === undefined || !JSON_TYPE.test(type))
      throw this.#failed({ kind: 'invalid_answer', status: 200, detail: 'the answer is not application/json' });
    let answer: unknown;
    try {
      answer = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw this.#failed({ kind: 'invalid_answer', status: 200, detail: 'not JSON' });
    }
    if (answer === null || typeof answer !== 'object' || Array.isArray(answer))
      throw this.#failed({ kind: 'invalid_answer', status: 200, detail: 'the answer is not a JSON object' });
    // RFC 7662 §2.2: `active` is REQUIRED; an answer without a boolean one is no answer (503), not a refusal.
    if (typeof (answer as { active?: unknown }).active !== 'boolean')
      throw this.#failed({ kind: 'invalid_answer', status: 200, detail: '"active" is not a boolean' });
    return answer as Record<string, unknown>;
  }

  #failed(failure: AuthorizationServerCallError['failure']): AuthorizationServerCallError {
    return new AuthorizationServerCallError({ issuer: this.#issuer, step: 'introspection', url: this.#endpoint, failure });
  }
}

function clientAuth(introspection: ResolvedIntrospection): client.ClientAuth {
  switch (introspection.clientAuthMethod) {
    case 'client_secret_post':
      return client.ClientSecretPost(introspection.clientSecret);
    case 'private_key_jwt':
      return client.PrivateKeyJwt(introspection.privateKey as Parameters<typeof client.PrivateKeyJwt>[0]);
    case 'tls_client_auth':
      return client.TlsClientAuth();
    default:
      return clientSecretBasic(introspection.clientSecret!); // present: resolveIntrospection requires it for client_secret_*
  }
}

/**
 * With signed responses configured, only a signed response is believed (RFC 9701; CONFORMANCE 34): a plain
 * JSON 200 would let anyone on the path downgrade the answer, and openid-client reads one whatever the
 * client metadata says. RFC 9701 §5 also asks for a fresh `iat`; openid-client checks the type of `iat`
 * but not its age, so the fetch refuses one too old (or from the future) before openid-client reads it.
 * Error answers (4xx/5xx) pass through to the usual error handling.
 */
function freshJwtResponses(fetch: ReturnType<typeof createFetch>, toleranceSeconds: number): ReturnType<typeof createFetch> {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!(res.headers.get('content-type') ?? '').toLowerCase().startsWith('application/token-introspection+jwt')) {
      // Only the introspection call asks for a signed answer; the same fetch also reads the AS's JWKS.
      const asked = new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]).get('accept') ?? '';
      if (res.status === 200 && asked.includes('application/token-introspection+jwt')) {
        throw new InvalidAnswerError('the introspection response is not signed although a signed response (RFC 9701) was asked for');
      }
      return res;
    }
    const text = await res.text();
    let iat: unknown;
    try {
      iat = (JSON.parse(Buffer.from(text.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iat?: unknown }).iat;
    } catch {
      iat = undefined;
    }
    const now = Date.now() / 1000;
    if (typeof iat !== 'number' || iat < now - JWT_RESPONSE_MAX_AGE_SECONDS - toleranceSeconds || iat > now + toleranceSeconds) {
      throw new InvalidAnswerError('the signed introspection response is not fresh (RFC 9701 §5 iat)');
    }
    return new Response(text, { status: res.status, headers: res.headers });
  };
}

const BEARER = /^bearer$/i;
const DPOP = /^dpop$/i;

function hasJkt(cnf: unknown): boolean {
  return Boolean(cnf && typeof cnf === 'object' && typeof (cnf as { jkt?: unknown }).jkt === 'string');
}

/**
 * Check an introspection answer (RFC 7662 §2.2, §4). Throws {@link InvalidTokenError} for an inactive or
 * unacceptable token; returns the claims otherwise.
 */
export function checkIntrospection(answer: Record<string, unknown>, issuer: string, at: CheckTime): ActiveIntrospection {
  const { nowSeconds, toleranceSeconds } = at;
  // RFC 7662 §2.2 (CONFORMANCE 28, 29): only the JSON boolean true is active.
  if (answer.active !== true) throw new InvalidTokenError('ERR_TOKEN_INACTIVE', 'the access token is not active');
  const { exp, nbf, iss, aud, token_type: tokenType, scope, sub, client_id: clientId } = answer;
  if (exp !== undefined) {
    if (typeof exp !== 'number' || !Number.isFinite(exp))
      throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the introspection exp is not a number');
    // CONFORMANCE 30: an "active" answer for an expired token is not believed.
    if (nowSeconds >= exp + toleranceSeconds) throw new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the access token has expired');
  }
  if (nbf !== undefined) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf))
      throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the introspection nbf is not a number');
    if (nowSeconds + toleranceSeconds < nbf) throw new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the access token is not valid yet');
  }
  if (iss !== undefined && iss !== issuer) throw new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token issuer is not trusted');
  if (aud !== undefined && !(typeof aud === 'string' || (Array.isArray(aud) && aud.every((a) => typeof a === 'string')))) {
    throw new InvalidTokenError('ERR_TOKEN_AUDIENCE', 'the introspection aud is malformed');
  }
  // Bearer (RFC 6750) or DPoP (RFC 9449 §6.2); a DPoP token must carry its binding, checked per request.
  if (
    tokenType !== undefined &&
    (typeof tokenType !== 'string' || !(BEARER.test(tokenType) || (DPOP.test(tokenType) && hasJkt(answer.cnf))))
  ) {
    throw new InvalidTokenError('ERR_TOKEN_TYPE', 'the access token type is not accepted');
  }
  if (scope !== undefined && typeof scope !== 'string')
    throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the introspection scope is not a string');
  for (const [name, v] of [
    ['sub', sub],
    ['client_id', clientId],
  ] as const) {
    if (v !== undefined && typeof v !== 'string')
      throw new InvalidTokenError('ERR_TOKEN_CLAIM', `the introspection ${name} is not a string`);
  }
  // A copy (the answer may be shared as it came); not a spread: V8 gives a frozen object made by a spread a map of
  // its own, which doubles what a cached token costs.
  const claims = Object.assign({}, answer) as AccessTokenClaims;
  claims.iss = issuer;
  if (aud === undefined) claims.aud = [];
  return { claims, exp: exp as number | undefined };
}
