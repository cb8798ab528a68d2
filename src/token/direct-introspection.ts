/**
 * The plain introspection call (a JSON answer, `client_secret_basic` or `client_secret_post`): a form POST made
 * directly on the keep-alive node:http client. Through openid-client's fetch-shaped path (Headers, URLSearchParams,
 * Response objects, its own checks) an uncached request cost about four times the client CPU of the POST itself.
 */
import type http from 'node:http';
import { basicAuthorization, formUrlEncode } from '../http/basic-credentials.js';
import { httpExchange, requestTarget, type ExchangeCallback, type HttpResponse, type RequestTarget } from '../http/client.js';
import { AuthorizationServerCallError, classifyAnswer } from '../http/as-failure.js';
import type { ResolvedIntrospection } from '../config/options.js';
import { isSecureOrLoopback } from '../http/secure-url.js';
import { hasDuplicateMemberNames } from '../http/json-members.js';

const FORM = 'application/x-www-form-urlencoded';

/** RFC 7662 §2.2: the answer is a JSON object in `application/json` (a parameter such as charset allowed). */
const JSON_TYPE = /^application\/json\s*(?:;|$)/i;
/** An answer that names a member twice can be read two ways (`active` false, then true): no answer (503). */
export const DUPLICATES = 'the answer names a member twice';

/**
 * A 200 introspection answer as both paths read it (this one, and openid-client's through its fetch): the object, or
 * why it is no answer (503). `text` is the body with one leading byte order mark already dropped.
 */
export function readAnswer(contentType: string | null | undefined, text: string): Record<string, unknown> | string {
  if (!contentType || !JSON_TYPE.test(contentType)) return 'the answer is not application/json';
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) return 'the answer is not a JSON object';
  if (hasDuplicateMemberNames(text)) return DUPLICATES;
  // RFC 7662 §2.2: `active` is REQUIRED; an answer without a boolean one is no answer (503), not a refusal.
  if (typeof (answer as { active?: unknown }).active !== 'boolean') return '"active" is not a boolean';
  return answer as Record<string, unknown>;
}

/** What a {@link DirectCall} is made with. */
export interface DirectCallSetup {
  readonly issuer: string;
  /** The introspection endpoint (from the options or the AS's metadata). */
  readonly endpoint: string;
  /** This issuer's `introspection` options (the client's credentials). */
  readonly introspection: ResolvedIntrospection;
  /** The limits shared by every introspector (its `IntrospectorSettings`). */
  readonly settings: { readonly timeoutMs: number; readonly maxBytes: number };
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
export class DirectCall {
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

  /**
   * The exchange: `done` is called once, with the answer (any status) or the failure when there is none. A callback,
   * not a promise: the caller goes on in the answer's own event (one promise hop fewer per uncached request).
   */
  exchange(token: string, done: ExchangeCallback): void {
    // encodeURIComponent is a valid form encoding for a token's characters (b64token: letters, digits, -._~+/=).
    const body = `token=${encodeURIComponent(token)}${this.#tail}`;
    // A literal per call (one of two shapes): what node:http reads fastest.
    const length = String(Buffer.byteLength(body));
    const headers: Record<string, string> =
      this.#authorization === undefined
        ? { accept: 'application/json', 'content-type': FORM, 'content-length': length }
        : { accept: 'application/json', 'content-type': FORM, authorization: this.#authorization, 'content-length': length };
    httpExchange(
      this.#target,
      // Introspection is a read: a call lost on a stale kept-alive socket is sent again (http/client.ts).
      { method: 'POST', headers, body, timeoutMs: this.#timeoutMs, maxBytes: this.#maxBytes, agent: this.#agent, repeatable: true },
      done,
    );
  }

  /** The answer, if it is one (RFC 7662 §2.2); an {@link AuthorizationServerCallError} otherwise. */
  read(res: HttpResponse): Record<string, unknown> {
    if (res.status !== 200) throw this.#failed(classifyAnswer(res, `HTTP ${res.status}`));
    let text = res.body.toString('utf8');
    // RFC 8259 §8.1: a parser MAY ignore a byte order mark (one, as fetch's text() and json() on the openid-client path do).
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const answer = readAnswer(res.headers['content-type'], text);
    if (typeof answer === 'string') throw this.#failed({ kind: 'invalid_answer', status: 200, detail: answer });
    return answer;
  }

  #failed(failure: AuthorizationServerCallError['failure']): AuthorizationServerCallError {
    return new AuthorizationServerCallError({ issuer: this.#issuer, step: 'introspection', url: this.#endpoint, failure });
  }
}
