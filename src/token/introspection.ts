/**
 * Token introspection (RFC 7662): the client of one issuer's introspection endpoint. The answer's checks are
 * `checkIntrospection` (introspection-answer.ts).
 *
 * The plain call (a JSON answer, `client_secret_basic` or `client_secret_post`) is made directly on the
 * keep-alive node:http client (direct-introspection.ts); `private_key_jwt`, `tls_client_auth` and RFC 9701
 * signed responses go through openid-client.
 */
import https from 'node:https';
import * as client from 'openid-client';
import { AuthorizationServerUnavailableError, InvalidTokenError } from '../answers/errors.js';
import { clientSecretBasic } from '../http/basic-credentials.js';
import { createFetch, type HttpResponse } from '../http/client.js';
import { hasDuplicateMemberNames } from '../http/json-members.js';
import { AuthorizationServerCallError, classify, InvalidAnswerError, type AsHealth } from '../http/as-failure.js';
import type { ResolvedIntrospection } from '../config/options.js';
import { isSecureOrLoopback } from '../http/secure-url.js';
import { discoverAuthorizationServer, oauthMetadataUrl, type AuthorizationServerMetadata } from '../authz-server/discovery.js';
import { DirectCall, DUPLICATES, readAnswer } from './direct-introspection.js';

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
    return this.introspectThen(token, same, rethrow);
  }

  /**
   * {@link Introspector.introspect}, with what follows the answer (`onAnswer`) or its absence (`onFailure`, given the
   * error `introspect` would reject with) run where the answer is read (for the plain call, in the answer's own
   * event): a promise and a microtask hop fewer on every uncached request. What either throws rejects the promise as
   * it is (it is not an AS failure). Neither runs before this returns.
   */
  introspectThen<T>(token: string, onAnswer: (answer: Record<string, unknown>) => T, onFailure: (err: Error) => T): Promise<T> {
    const call = this.#ready;
    // Once set up, straight to the call (no extra promise hops on the per-request path).
    if (!call) return this.#configuration().then((c) => this.#call(c, token, onAnswer, onFailure), onFailure);
    return this.#call(call, token, onAnswer, onFailure);
  }

  #call<T>(call: Call, token: string, onAnswer: (answer: Record<string, unknown>) => T, onFailure: (err: Error) => T): Promise<T> {
    const failed = (err: unknown): T => onFailure(this.#mapError(err));
    try {
      if (!('direct' in call))
        return (client.tokenIntrospection(call.oidc, token, { token_type_hint: 'access_token' }) as Promise<Record<string, unknown>>).then(
          (a) => onAnswer(this.#answered(a)),
          failed,
        );
      const direct = call.direct;
      // The exchange, the reading of its answer and what follows it, in the answer's own event: no promise between.
      return new Promise<T>((resolve, reject) => {
        // What onAnswer or onFailure throws (a refusal) rejects as it is; everything else is an AS failure, mapped once.
        const settle = (err: unknown, res: HttpResponse | undefined): void => {
          try {
            if (err !== undefined) return resolve(failed(err));
            let a: Record<string, unknown>;
            try {
              a = direct.read(res!);
            } catch (readErr) {
              return resolve(failed(readErr));
            }
            resolve(onAnswer(this.#answered(a)));
          } catch (thrown) {
            reject(thrown);
          }
        };
        try {
          direct.exchange(token, settle);
        } catch (err) {
          // Defensive (httpExchange itself never throws): settled later, never within this call, since the caller's
          // reactions may refer to the promise this returns (the verifier's flight).
          queueMicrotask(() => settle(err, undefined));
        }
      });
    } catch (err) {
      // Thrown before any exchange: settled like a failed one, a hop later (never synchronously).
      return Promise.resolve().then(() => failed(err));
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
    // Introspection is a read: a call lost on a stale kept-alive socket is sent again (http/client.ts).
    const baseFetch = createFetch({ timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes, agent, repeatable: true });
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
    config[client.customFetch] = introspection.jwtResponseAlg
      ? freshJwtResponses(baseFetch, settings.clockToleranceSeconds)
      : plainJsonAnswers(baseFetch);
    const endpoint = new URL(metadata.introspection_endpoint);
    if (endpoint.protocol === 'http:' && isSecureOrLoopback(endpoint)) client.allowInsecureRequests(config);
    // RFC 9701 §5: the signature of a JWT response is verified with the AS's keys (openid-client's non-repudiation checks).
    if (introspection.jwtResponseAlg) client.enableNonRepudiationChecks(config);
    return { oidc: config };
  }
}

const same = <T>(v: T): T => v;
const rethrow = (err: Error): never => {
  throw err;
};

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
 * On the openid-client path (private_key_jwt, tls_client_auth), an answer is read as the direct path reads it
 * (`readAnswer`, direct-introspection.ts): a 200 is believed only as a JSON object in `application/json` (RFC 7662
 * §2.2) with a boolean `active`, naming no member twice.
 * fetch's `json()`, which openid-client uses, takes `text/plain`, no type at all, and the last of two `active`s.
 * Error answers pass through to the usual handling.
 */
function plainJsonAnswers(fetch: ReturnType<typeof createFetch>): ReturnType<typeof createFetch> {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (init?.method !== 'POST') return res;
    if (res.status !== 200) {
      // An error answer whose code is given two ways is no code either (as classifyAnswer reads the direct path's).
      if (res.status < 400) return res;
      const errorText = await res.text();
      if (parsesWithDuplicates(errorText)) throw new InvalidAnswerError(DUPLICATES);
      return new Response(errorText, { status: res.status, headers: res.headers });
    }
    // text() drops one byte order mark, as the direct path does; what is then no answer is refused here, so that
    // openid-client never parses a text this check did not (its json() would drop a second mark and read it).
    const text = await res.text();
    const answer = readAnswer(res.headers.get('content-type'), text);
    if (typeof answer === 'string') throw new InvalidAnswerError(answer);
    return new Response(text, { status: res.status, headers: res.headers });
  };
}

/** Whether `text` is JSON that names a member twice somewhere (text that is not JSON: false, refused elsewhere). */
function parsesWithDuplicates(text: string): boolean {
  try {
    JSON.parse(text);
  } catch {
    return false;
  }
  return hasDuplicateMemberNames(text);
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
    const payload = Buffer.from(text.split('.')[1] ?? '', 'base64url').toString('utf8');
    let iat: unknown;
    try {
      iat = (JSON.parse(payload) as { iat?: unknown }).iat;
    } catch {
      iat = undefined;
    }
    // The signed answer's claims, `token_introspection` included, are read one way only.
    if (parsesWithDuplicates(payload)) throw new InvalidAnswerError(DUPLICATES);
    const now = Date.now() / 1000;
    if (typeof iat !== 'number' || iat < now - JWT_RESPONSE_MAX_AGE_SECONDS - toleranceSeconds || iat > now + toleranceSeconds) {
      throw new InvalidAnswerError('the signed introspection response is not fresh (RFC 9701 §5 iat)');
    }
    return new Response(text, { status: res.status, headers: res.headers });
  };
}
