/**
 * Finding the access token in a request (RFC 6750 §2). Framework-agnostic: works on any object with
 * Node's `IncomingMessage` shape.
 */
import { InvalidRequestError } from '../answers/errors.js';

/** The parts of an HTTP request the extractor reads (Node's `IncomingMessage` has them all). */
export interface HttpRequestLike {
  method?: string | undefined;
  /** Path and query as received (`req.originalUrl` in Express, `req.url` in plain Node). */
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Node's raw header list, used to detect repeated `Authorization` headers that Node would drop. */
  rawHeaders?: string[] | undefined;
  /** A parsed body, when a body parser ran (only `access_token` of a form body is read). */
  body?: unknown;
}

/** Where tokens may be taken from. The header is always on (RFC 6750 §2.1 makes it mandatory). */
export interface TokenLocations {
  /** The form-encoded body `access_token` (RFC 6750 §2.2). Default off. */
  body: boolean;
  /** The `access_token` query parameter (RFC 6750 §2.3). Default off; discouraged. */
  query: boolean;
}

/** A token found in a request. */
export interface ExtractedToken {
  token: string;
  location: 'header' | 'body' | 'query';
  /** The header scheme: `bearer` (RFC 6750), or `dpop` (RFC 9449 §7.1) when the caller accepts it. */
  scheme: 'bearer' | 'dpop';
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function checkToken(token: string, maxLength: number): string {
  // The size limit comes before any other parsing. The syntax check (assertTokenSyntax) runs on a cache
  // miss only: a cached token passed it when it was first seen, and it costs about 1 µs per request.
  if (token.length > maxLength) throw new InvalidRequestError('ERR_TOKEN_TOO_LARGE', 'the access token is larger than this server accepts');
  return token;
}

/** RFC 6750 §2.1 b64token syntax (CONFORMANCE 3): anything else is a malformed request (400). */
export function assertTokenSyntax(token: string): void {
  if (!B64TOKEN.test(token))
    throw new InvalidRequestError('ERR_REQUEST_MALFORMED', 'the access token has characters outside the b64token syntax');
}

function countAuthorizationHeaders(raw: string[] | undefined): number {
  if (!raw) return 0;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') count++;
  }
  return count;
}

/** The lower-cased scheme of an `Authorization` value whose scheme ends at `end`: the usual spellings without a copy. */
function schemeOf(value: string, end: number): string {
  if (end === 6 && value.startsWith('Bearer')) return 'bearer';
  if (end === 4 && value.startsWith('DPoP')) return 'dpop';
  return value.slice(0, end).toLowerCase();
}

/**
 * Check the `Authorization` header of a request that has one, and return where its scheme ends (the first space,
 * or the value's length). Node keeps only the first of repeated `Authorization` headers, so the raw list is
 * checked: two headers are a 400 (RFC 6750 §2, §3.1).
 */
function checkAuthorization(value: string | string[], req: HttpRequestLike, maxLength: number): number {
  if (typeof value !== 'string' || countAuthorizationHeaders(req.rawHeaders) > 1) {
    throw new InvalidRequestError('ERR_TOKEN_MULTIPLE', 'more than one Authorization header');
  }
  if (value.length > maxLength + 64)
    throw new InvalidRequestError('ERR_TOKEN_TOO_LARGE', 'the access token is larger than this server accepts');
  const sp = value.indexOf(' ');
  return sp === -1 ? value.length : sp;
}

/**
 * The credentials of an `Authorization` header whose (lower-cased) scheme is `scheme` and ends at `end`. RFC 6750
 * §2.1: `Bearer` 1*SP b64token. A tab (or other separator) after the scheme is a malformed Bearer header (400), not
 * another scheme (which would be a 401 as if no token had been sent).
 */
function credentialsOf(value: string, scheme: string, end: number): string {
  if (scheme !== 'bearer' && scheme !== 'dpop' && /^(?:bearer|dpop)[^!#$%&'*+.^_`|~0-9a-z-]/.test(scheme)) {
    throw new InvalidRequestError('ERR_REQUEST_MALFORMED', 'the Authorization header must separate its scheme from the token with spaces');
  }
  let start = end;
  while (value.charCodeAt(start) === 32) start++; // 1*SP
  return start === end ? '' : value.slice(start);
}

function formBodyToken(req: HttpRequestLike): string | string[] | undefined {
  const body = req.body;
  if (body === null || typeof body !== 'object' || !Object.prototype.hasOwnProperty.call(body, 'access_token')) return undefined;
  // RFC 6750 §2.2: only a form-encoded body, and only with a method whose body has defined semantics
  // (never GET; RFC 9110 gives GET, HEAD, DELETE and OPTIONS bodies none).
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return undefined;
  const ct = req.headers['content-type'];
  if (typeof ct !== 'string' || !/^application\/x-www-form-urlencoded\s*(;|$)/i.test(ct)) return undefined;
  const v = (body as Record<string, unknown>).access_token;
  if (typeof v === 'string') return v;
  return Array.isArray(v) ? (v as string[]) : [];
}

function queryToken(url: string | undefined): string[] | undefined {
  if (!url) return undefined;
  const q = url.indexOf('?');
  // A name may be percent-encoded (`access%5Ftoken`, `%61ccess_token`): any '%' means a full parse.
  if (q === -1 || (url.indexOf('access_token', q) === -1 && url.indexOf('%', q) === -1)) return undefined;
  const values = new URLSearchParams(url.slice(q + 1)).getAll('access_token');
  return values.length ? values : undefined;
}

/**
 * Find the bearer token of a request. Returns undefined when the request carries none (then the answer is a
 * 401 challenge without `error`, RFC 6750 §3). Throws {@link InvalidRequestError} for a malformed header,
 * a token in more than one place, or an oversized token. A header with another scheme counts as no
 * credentials (RFC 6750 §3: an unsupported method gets no error code).
 */
export function extractBearerToken(
  req: HttpRequestLike,
  locations: TokenLocations,
  maxLength: number,
  acceptDpop = false,
): ExtractedToken | undefined {
  let found: ExtractedToken | undefined;
  let count = 0;

  const value = req.headers.authorization;
  if (value !== undefined) {
    // Read in place (no intermediate object): this runs for every request.
    const end = checkAuthorization(value, req, maxLength);
    const text = value as string;
    const scheme = schemeOf(text, end);
    const credentials = credentialsOf(text, scheme, end);
    // `Authorization: DPoP <token>` (RFC 9449 §7.1) is read like Bearer when DPoP is on; the proof is the caller's.
    if (scheme === 'bearer' || (acceptDpop && scheme === 'dpop')) {
      if (!credentials)
        throw new InvalidRequestError('ERR_REQUEST_MALFORMED', `the ${scheme === 'dpop' ? 'DPoP' : 'Bearer'} scheme needs a token`);
      found = { token: checkToken(credentials, maxLength), location: 'header', scheme };
      count++;
    }
  }

  const fromQuery = queryToken(req.url);
  if (fromQuery) {
    // A query token counts toward "more than one method" even when the query method is off.
    count += fromQuery.length;
    if (locations.query && fromQuery.length === 1)
      found ??= { token: checkToken(fromQuery[0]!, maxLength), location: 'query', scheme: 'bearer' };
  }

  const fromBody = formBodyToken(req);
  if (fromBody !== undefined) {
    const n = typeof fromBody === 'string' ? 1 : Math.max(fromBody.length, 1);
    count += n;
    if (locations.body && typeof fromBody === 'string')
      found ??= { token: checkToken(fromBody, maxLength), location: 'body', scheme: 'bearer' };
  }

  if (count > 1) throw new InvalidRequestError('ERR_TOKEN_MULTIPLE', 'the access token was sent in more than one place');
  return found;
}
