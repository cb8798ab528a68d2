/**
 * What went wrong when the kit called an authorization server, in words an operator can act on, and the one
 * place such failures are logged.
 *
 * - {@link classify} sorts a failure by what the AS did, status first: a 401 is a refusal of our credentials
 *   whether it came with a JSON error, a `WWW-Authenticate` challenge, HTML or an empty body; a 5xx is the AS
 *   failing; then timeouts, refused connections and answers that are not what was asked for.
 * - {@link AuthorizationServerCallError} is a failed call that names the issuer, the step, the URL and the cause.
 * - {@link AsHealth} logs once per state change of each (issuer, step): when it starts failing (and when the kind
 *   of failure changes within one outage), and when it answers again, with the number of failures not logged.
 *   Never per request, never a token or secret: URLs lose userinfo, query and fragment, and the AS's `error` is
 *   kept only when it is a short RFC 6749 §5.2 error code.
 */
import * as client from 'openid-client';
import { KitError } from '../answers/errors.js';
import type { Logger } from '../config/options.js';
import { HttpClientError } from './client.js';
import { hasDuplicateMemberNames } from './json-members.js';

/** The calls the kit makes to an authorization server. */
export type AsStep = 'discovery' | 'jwks' | 'introspection' | 'token' | 'registration' | 'uma';

/** What kind of failure it was. */
export type AsFailureKind =
  /** 401 or 403 (or an `invalid_client` error): the AS refused the resource server's credentials. */
  | 'credentials'
  /** A 5xx answer. */
  | 'server'
  /** Another unexpected status (a 4xx other than 401/403, a redirect). */
  | 'status'
  /** No answer within the deadline. */
  | 'timeout'
  /** No connection or a broken one: `ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`... */
  | 'network'
  /** An answer that is not what was asked for (not JSON, malformed, not verifiable). */
  | 'invalid_answer'
  /** An answer larger than `http.maxResponseBytes`. */
  | 'too_large'
  /** A metadata document for another issuer (RFC 8414 §3.3). */
  | 'issuer_mismatch'
  /** Anything else. */
  | 'other';

/** A classified failure: the kind and what is known of it. */
export interface AsFailure {
  readonly kind: AsFailureKind;
  /** The HTTP status, when the AS answered. */
  readonly status?: number;
  /** The AS's `error` code (RFC 6749 §5.2), from the body or the `WWW-Authenticate` challenge. */
  readonly asError?: string;
  /** The system error code of a network failure (`ECONNREFUSED`, `ENOTFOUND`...). */
  readonly code?: string;
  /** The deadline that passed, for a timeout. */
  readonly timeoutMs?: number;
  /** For an issuer mismatch: the issuer asked about, and the one the document names. */
  readonly expectedIssuer?: string;
  readonly actualIssuer?: string;
  /** A short safe description (for invalid answers and others). */
  readonly detail?: string;
}

/** What the constructor of {@link AuthorizationServerCallError} takes. */
export interface AuthorizationServerCallInit {
  /** The issuer whose server was called. */
  issuer: string;
  step: AsStep;
  /** The URL called (userinfo, query and fragment are dropped). */
  url: string;
  failure: AsFailure;
  /**
   * What was thrown, when it is safe to keep. The kit passes none: a classified {@link AsFailure} keeps what an
   * operator needs, where a raw client error may hold a response body or a URL with credentials.
   */
  cause?: unknown;
}

/**
 * A failed call to an authorization server (`ERR_AUTHORIZATION_SERVER_CALL`): the message names issuer, step,
 * URL and cause. `registrar.sync()`, `plan()` and `registerResourceServer()` reject with it when the AS could
 * not be used, and a `ProtectionApiError` carries one as its `cause`. During a request it is never the
 * answer: the request gets a 503 `AuthorizationServerUnavailableError`, whose message names no URL.
 */
export class AuthorizationServerCallError extends KitError {
  declare readonly code: 'ERR_AUTHORIZATION_SERVER_CALL';
  readonly issuer: string;
  readonly step: AsStep;
  /** The URL called, without userinfo, query or fragment. */
  readonly url: string;
  readonly failure: AsFailure;

  constructor(init: AuthorizationServerCallInit) {
    const safeUrl = safeUrlOf(init.url);
    super({
      code: 'ERR_AUTHORIZATION_SERVER_CALL',
      message: `${STEP_NAMES[init.step]} at ${safeUrl} for issuer ${init.issuer} failed: ${describeFailure(init.failure)}`,
      cause: init.cause,
    });
    this.issuer = init.issuer;
    this.step = init.step;
    this.url = safeUrl;
    this.failure = init.failure;
  }
}

/**
 * An answer the kit will not use (not what was asked for, not verifiable): classified as `invalid_answer`.
 * Internal (`ERR_AUTHORIZATION_SERVER_ANSWER`): it is always turned into an {@link AuthorizationServerCallError}
 * or a 503 before an app sees it.
 */
export class InvalidAnswerError extends KitError {
  declare readonly code: 'ERR_AUTHORIZATION_SERVER_ANSWER';
  constructor(message: string) {
    super({ code: 'ERR_AUTHORIZATION_SERVER_ANSWER', message });
  }
}

/** Failed calls already given to an {@link AsHealth}: whoever catches them later need not log them again. */
const reported = new WeakSet<AuthorizationServerCallError>();

/** Whether `err` is (or was caused by) a failed call to an AS that the component which made it has reported. */
export function wasReported(err: unknown): boolean {
  const call = err instanceof AuthorizationServerCallError ? err : err instanceof Error ? err.cause : undefined;
  return call instanceof AuthorizationServerCallError && reported.has(call);
}

const STEP_NAMES: Record<AsStep, string> = {
  discovery: 'discovery',
  jwks: 'the JWKS fetch',
  introspection: 'introspection',
  token: 'the protection token request',
  registration: 'client registration',
  uma: 'the UMA protection API call',
};

/** An RFC 6749 §5.2 error code (NQSCHAR), short: anything else from the AS is not repeated in a log. */
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

function asErrorOf(value: unknown): string | undefined {
  return typeof value === 'string' && ERROR_CODE.test(value) ? value : undefined;
}

/** `url` without userinfo, query or fragment (they may carry secrets). */
export function safeUrlOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/** Classify by status: 401/403 are a refusal of our credentials, 5xx the AS failing, the rest unexpected. */
export function classifyStatus(status: number, asError?: string): AsFailure {
  const error = asErrorOf(asError);
  const kind: AsFailureKind =
    status === 401 || status === 403 || error === 'invalid_client' ? 'credentials' : status >= 500 ? 'server' : 'status';
  return { kind, status, ...(error ? { asError: error } : {}) };
}

/** A buffered answer (from {@link httpRequest}) that was not the expected one, classified by its status first. */
export function classifyAnswer(
  res: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer },
  detail: string,
): AsFailure {
  if (res.status >= 200 && res.status < 300) return { kind: 'invalid_answer', status: res.status, detail };
  let error: unknown;
  try {
    const text = res.body.toString('utf8');
    error = (JSON.parse(text) as { error?: unknown } | null)?.error;
    // An error code the body gives two ways (`"error"` twice) is no code: the status alone decides.
    if (error !== undefined && hasDuplicateMemberNames(text)) error = undefined;
  } catch {
    error = undefined;
  }
  const challenge = res.headers['www-authenticate'];
  if (error === undefined && typeof challenge === 'string') error = /\berror="?([^",\s]+)/.exec(challenge)?.[1];
  return classifyStatus(res.status, typeof error === 'string' ? error : undefined);
}

/**
 * Classify a thrown failure: from {@link httpRequest}, from openid-client (whatever wrapper it chose: a 401 with
 * an empty body arrives as "unexpected response content-type"), or an already classified call error.
 * `timeoutMs` is the deadline the call had (openid-client's own timeout does not say it).
 */
export function classify(err: unknown, timeoutMs?: number): AsFailure {
  let status: number | undefined;
  let asError: string | undefined;
  let found: AsFailure | undefined;
  let innermost: unknown = err;
  let e: unknown = err;
  // Walk the cause chain (bounded): the status of an answer decides first, whatever wraps it.
  for (let depth = 0; depth < 6 && e != null; depth++) {
    if (e instanceof AuthorizationServerCallError) return e.failure;
    if (e instanceof Error) innermost = e;
    if (e instanceof InvalidAnswerError) {
      found ??= { kind: 'invalid_answer', detail: shortDetail(e) };
    } else if (e instanceof Response) {
      status ??= e.status;
    } else if (e instanceof client.ResponseBodyError) {
      status ??= e.status;
      asError ??= asErrorOf(e.error);
    } else if (e instanceof client.WWWAuthenticateChallengeError) {
      status ??= e.status;
      asError ??= asErrorOf(e.cause.find((c) => c.parameters.error)?.parameters.error);
    } else if (e instanceof HttpClientError) {
      found ??= fromHttpClientError(e, timeoutMs);
    } else if (e instanceof DOMException && e.name === 'TimeoutError') {
      found ??= { kind: 'timeout', ...(timeoutMs ? { timeoutMs } : {}) };
    } else if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      if (code === 'OAUTH_TIMEOUT') found ??= { kind: 'timeout', ...(timeoutMs ? { timeoutMs } : {}) };
      else if (code === 'OAUTH_PARSE_ERROR' || code === 'OAUTH_RESPONSE_IS_NOT_JSON')
        found ??= { kind: 'invalid_answer', detail: 'not JSON' };
      // openid-client's wrapper says "invalid response encountered"; the error it wraps says what was invalid.
      else if (
        typeof code === 'string' &&
        /^OAUTH_(INVALID_RESPONSE|JWT_|JSON_ATTRIBUTE|KEY_SELECTION)/.test(code) &&
        (!found || found.kind === 'invalid_answer')
      )
        found = { kind: 'invalid_answer', detail: shortDetail(e) };
      else if (e instanceof SyntaxError) found ??= { kind: 'invalid_answer', detail: 'not JSON' };
    }
    e = e instanceof Error ? e.cause : (e as { cause?: unknown } | undefined)?.cause;
    if (Array.isArray(e)) break;
  }
  if (status !== undefined && (status < 200 || status >= 300)) return classifyStatus(status, asError);
  if (found) return status !== undefined && found.kind === 'invalid_answer' ? { ...found, status } : found;
  // openid-client wraps what it does not know as "something went wrong": the innermost message says more.
  return { kind: 'other', detail: shortDetail(innermost) };
}

function fromHttpClientError(e: HttpClientError, timeoutMs: number | undefined): AsFailure {
  switch (e.reason) {
    case 'timeout':
      return { kind: 'timeout', ...((e.timeoutMs ?? timeoutMs) ? { timeoutMs: e.timeoutMs ?? timeoutMs } : {}) };
    case 'too_large':
      return { kind: 'too_large' };
    default:
      return { kind: 'network', ...(e.systemCode ? { code: e.systemCode } : {}), detail: e.message };
  }
}

function shortDetail(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

/** The cause in a few words: `ECONNREFUSED`, `timeout after 5000 ms`, `HTTP 401 invalid_client`... */
export function describeFailure(failure: AsFailure): string {
  switch (failure.kind) {
    case 'credentials':
    case 'server':
    case 'status':
      return `HTTP ${failure.status ?? '?'}${failure.asError ? ` ${failure.asError}` : ''}`;
    case 'timeout':
      return failure.timeoutMs ? `timeout after ${failure.timeoutMs} ms` : 'timeout';
    case 'network':
      return failure.code ?? failure.detail ?? 'network error';
    case 'too_large':
      return 'answer larger than the response size limit';
    case 'issuer_mismatch':
      return (
        `issuer mismatch: expected ${JSON.stringify(failure.expectedIssuer)}, ` +
        `the document names ${JSON.stringify(failure.actualIssuer)} (RFC 8414 §3.3)`
      );
    case 'invalid_answer':
      return `${failure.status ? `HTTP ${failure.status} with ` : ''}an unusable answer${failure.detail ? `: ${failure.detail}` : ''}`;
    default:
      return failure.detail ?? 'unknown failure';
  }
}

/** Steps where the kit sends its own credentials (a 401 there is about them). */
const AUTHENTICATED: ReadonlySet<AsStep> = new Set(['introspection', 'token', 'registration', 'uma']);

interface Episode {
  readonly since: number;
  readonly url: string;
  readonly kinds: Set<AsFailureKind>;
  failures: number;
  logged: number;
}

/** At most this many (issuer, step) pairs are remembered as failing: log state, bounded whatever the traffic. */
const MAX_TRACKED = 1000;

/**
 * The health of each (issuer, step) as one component sees it, logged once per state change: the first failure
 * of an outage (an error for refused credentials, a warning otherwise), each new kind of failure within it,
 * and the recovery with the number of failures that were not logged.
 */
export class AsHealth {
  readonly #logger: Logger | undefined;
  readonly #failing = new Map<string, Episode>();

  constructor(logger: Logger | undefined) {
    this.#logger = logger;
  }

  /** Record a failed call; logs only when it changes the state. `extra` details go into a logged line. */
  failed(err: AuthorizationServerCallError, extra?: Record<string, unknown>): void {
    const key = `${err.step} ${err.issuer}`;
    let ep = this.#failing.get(key);
    if (!ep) {
      if (this.#failing.size >= MAX_TRACKED) this.#failing.delete(this.#failing.keys().next().value as string);
      ep = { since: Date.now(), url: err.url, kinds: new Set(), failures: 0, logged: 0 };
      this.#failing.set(key, ep);
    }
    ep.failures++;
    reported.add(err);
    const f = err.failure;
    if (ep.kinds.has(f.kind)) return;
    ep.kinds.add(f.kind);
    ep.logged++;
    const cause = describeFailure(f);
    const where = `${err.step} at ${err.url}, issuer ${err.issuer}`;
    const details = {
      issuer: err.issuer,
      step: err.step,
      url: err.url,
      cause,
      kind: f.kind,
      ...(f.status !== undefined ? { status: f.status } : {}),
      ...(f.asError ? { error: f.asError } : {}),
      ...(f.code ? { code: f.code } : {}),
      ...(f.timeoutMs ? { timeoutMs: f.timeoutMs } : {}),
      ...extra,
    };
    if (f.kind === 'credentials' && AUTHENTICATED.has(err.step)) {
      // An operator must act (wrong client id or secret, client deleted at the AS): answered 503 meanwhile.
      this.#logger?.error(`the authorization server refused the resource server credentials (${where}): ${cause}`, details);
    } else {
      const prefix = ep.logged === 1 ? 'the authorization server is failing' : 'the authorization server is still failing, now differently';
      this.#logger?.warn(`${prefix} (${where}): ${cause}`, details);
    }
  }

  /** Record a successful call: logs the recovery when (issuer, step) was failing. */
  ok(issuer: string, step: AsStep): void {
    if (this.#failing.size === 0) return; // the hot path: nothing is failing
    const key = `${step} ${issuer}`;
    const ep = this.#failing.get(key);
    if (!ep) return;
    this.#failing.delete(key);
    const suppressed = ep.failures - ep.logged;
    const message =
      `the authorization server answers again (${step} at ${ep.url}, issuer ${issuer}) ` +
      `after ${ep.failures} failed call(s), ${suppressed} not logged`;
    this.#logger?.warn(message, {
      issuer,
      step,
      url: ep.url,
      failures: ep.failures,
      suppressed,
      failingForMs: Date.now() - ep.since,
    });
  }

  /** Whether (issuer, step) is failing now. */
  isFailing(issuer: string, step: AsStep): boolean {
    return this.#failing.has(`${step} ${issuer}`);
  }
}
