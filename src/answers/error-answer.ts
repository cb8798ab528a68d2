/**
 * What a client gets for each error (RFC 6750 §3, §3.1): status, `WWW-Authenticate` challenge and a
 * body. Framework-agnostic; the Express layer only writes it out. Never a stack trace, never token
 * material: descriptions are the kit's own fixed texts.
 */
import {
  AuthorizationServerUnavailableError,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  KitError,
  MissingCredentialsError,
  ResourceServerError,
  ServiceUnavailableError,
  UseDpopNonceError,
  type KitErrorCode,
} from './errors.js';
import { formatChallenge, type Challenge } from './www-authenticate.js';

/** Settings that shape answers. */
export interface AnswerSettings {
  realm: string | undefined;
  /** RFC 9728 §5.1: the metadata URL every challenge carries, when metadata is on. */
  resourceMetadata?: string | undefined;
  includeScopeInChallenge: boolean;
  format: 'json' | 'problem';
  /** DPoP (RFC 9449 §7.1): the accepted proof algorithms, and whether DPoP is required. */
  dpop?: { algs: readonly string[]; required: boolean } | undefined;
  /** The scheme the request used (errors are answered in that scheme, §7.2). */
  scheme?: 'bearer' | 'dpop' | undefined;
}

/** A ready-to-send answer. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body, already serialised; undefined for an empty body. */
  body: string | undefined;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * The `Bearer` challenge for an error (or for no credentials, without `error`: RFC 6750 §3, then with `scope` only
 * when `scopeHint` names the route's scopes).
 */
export function bearerChallenge(
  err: ResourceServerError | undefined,
  settings: AnswerSettings,
  scheme = 'Bearer',
  scopeHint: readonly string[] = [],
): Challenge {
  const params: Challenge['params'] = [];
  if (settings.realm !== undefined) params.push(['realm', settings.realm]);
  if (settings.resourceMetadata !== undefined) params.push(['resource_metadata', settings.resourceMetadata]);
  if (!err?.oauthError && scopeHint.length) params.push(['scope', scopeHint.join(' ')]);
  if (err?.oauthError) {
    params.push(['error', err.oauthError]);
    params.push(['error_description', err.message]);
    if (err instanceof InsufficientScopeError && settings.includeScopeInChallenge && err.requiredScopes.length) {
      params.push(['scope', err.requiredScopes.join(' ')]);
    }
    // RFC 9470 §3: what the client should ask the AS for.
    if (err instanceof InsufficientUserAuthenticationError) {
      if (err.acrValues?.length) params.push(['acr_values', err.acrValues.join(' ')]);
      if (err.maxAge !== undefined) params.push(['max_age', String(err.maxAge)]);
    }
  }
  if (scheme === 'DPoP' && settings.dpop) params.push(['algs', settings.dpop.algs.join(' ')]);
  return { scheme, params };
}

/**
 * The challenges of an answer. Without DPoP: one `Bearer` challenge. With DPoP (RFC 9449 §7.1, §7.2): no
 * credentials → `Bearer` and `DPoP algs=…`, both without `error` (only `DPoP` when DPoP is required); an
 * error → the scheme the client used (DPoP when DPoP is required).
 */
function challenges(err: ResourceServerError | undefined, settings: AnswerSettings): string {
  const withError = err?.oauthError ? err : undefined;
  // No credentials: no error code (RFC 6750 §3), but the route's scopes when known (the `scope` attribute).
  const hint = err instanceof MissingCredentialsError && settings.includeScopeInChallenge ? err.requiredScopes : [];
  if (!settings.dpop) return formatChallenge(bearerChallenge(withError, settings, 'Bearer', hint));
  if (!withError) {
    const list = settings.dpop.required ? [] : [bearerChallenge(undefined, settings, 'Bearer', hint)];
    list.push(bearerChallenge(undefined, settings, 'DPoP', hint));
    return list.map(formatChallenge).join(', ');
  }
  const dpop = settings.scheme === 'dpop' || settings.dpop.required || withError.challengeScheme === 'DPoP';
  return formatChallenge(bearerChallenge(withError, settings, dpop ? 'DPoP' : 'Bearer'));
}

/**
 * The kit's errors of a failed call to the authorization server (the call itself, the UMA protection API, an
 * answer not used, the HTTP client): not request errors, but when one reaches an answer the request could not
 * be decided for want of the AS, which is a 503 like {@link AuthorizationServerUnavailableError}'s. Their
 * messages name URLs: only the fixed text below is answered.
 */
const AS_CALL_FAILURES: ReadonlySet<KitErrorCode> = new Set<KitErrorCode>([
  'ERR_AUTHORIZATION_SERVER_CALL',
  'ERR_PROTECTION_API',
  'ERR_AUTHORIZATION_SERVER_ANSWER',
  'ERR_HTTP_CLIENT',
]);

/** The request error an error is answered as; undefined for anything else (a generic 500). */
export function answerable(error: unknown): ResourceServerError | undefined {
  if (error instanceof ResourceServerError) return error;
  if (error instanceof KitError && AS_CALL_FAILURES.has(error.code)) return new AuthorizationServerUnavailableError();
  return undefined;
}

/**
 * Build the answer for any error the kit raised (a failed call to the AS is a 503 naming nothing of it); anything
 * else is a generic 500 with nothing leaked.
 */
export function answerFor(error: unknown, settings: AnswerSettings): ErrorAnswer {
  const err = answerable(error);
  const status = err?.status ?? 500;
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (status === 401 || status === 400 || status === 403) {
    headers['www-authenticate'] = challenges(err, settings);
  }
  if (err instanceof ServiceUnavailableError) headers['retry-after'] = String(err.retryAfterSeconds);
  // RFC 9449 §9: the nonce to use, with a response that must not be cached.
  if (err instanceof UseDpopNonceError) headers['dpop-nonce'] = err.nonce;

  // The OAuth error code of the body: RFC 6750's, or for 5xx RFC 6749's nearest codes.
  const code = err?.oauthError ?? (status === 503 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : undefined);
  const description =
    status >= 500 && !(err instanceof ServiceUnavailableError) ? 'the server could not process the request' : err?.message;
  let body: string | undefined;
  if (settings.format === 'problem') {
    headers['content-type'] = 'application/problem+json';
    const problem: Record<string, unknown> = { type: 'about:blank', title: TITLES[status] ?? 'Error', status };
    if (code) {
      problem.detail = description;
      problem.error = code;
    }
    body = JSON.stringify(problem);
  } else if (code) {
    headers['content-type'] = 'application/json; charset=utf-8';
    body = JSON.stringify({ error: code, error_description: description });
  }
  return { status, headers, body };
}
