/**
 * RFC 9068 JWT access-token validation, with RFC 8725's best practice: only JWS compact
 * serialisation, `typ` checked, an algorithm allow-list, keys only from the AS's metadata, and every
 * time claim checked. Pure functions; key lookup and caching live in the verifier.
 */
import { isUtf8 } from 'node:buffer';
import { InvalidTokenError } from '../answers/errors.js';
import { isCanonicalBase64url } from './base64url.js';
import type { CheckTime } from './check-time.js';
import type { JwsAlgorithm } from './jws.js';
import { clientIdOf, normaliseTyp, type TokenPolicy } from './profiles.js';

/** A compact JWS split and decoded (nothing verified yet). */
export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The ASCII signing input, `base64url(header).base64url(payload)`. */
  data: Buffer;
  signature: Buffer;
  payloadLength: number;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function decodeJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    const bytes = Buffer.from(segment, 'base64url');
    // RFC 7515 §5.2, RFC 7519 §7.2: the bytes are UTF-8 JSON. A lenient decode would turn any
    // invalid sequence into U+FFFD, so that different claim bytes read as one string.
    if (!isUtf8(bytes)) throw new Error('not UTF-8');
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new InvalidTokenError('ERR_TOKEN_MALFORMED', `the access token ${what} is not base64url-encoded JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidTokenError('ERR_TOKEN_MALFORMED', `the access token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Decoded protected headers by their encoded text: an issuer signs every token with one header (`alg`, `typ`,
 * `kid`), so a new token's header is almost always one seen before. Only flat headers (every member a string, number,
 * boolean or null) of at most 256 characters are kept, so that a kept header is frozen whole by one freeze; any
 * other (a DPoP proof's, which carries the client's key) is decoded each time and frozen, with the depth rule, where
 * its verdict is built. At most 64 are kept; when full, it starts over. It holds nothing a check depends on: an entry
 * is exactly what decoding its text again gives.
 */
const headers = new Map<string, Record<string, unknown>>();
const MAX_HEADERS = 64;
const MAX_REMEMBERED_HEADER = 256;

function decodeHeader(segment: string): Record<string, unknown> {
  let header = headers.get(segment);
  if (header === undefined) {
    header = decodeJson(segment, 'header');
    if (segment.length <= MAX_REMEMBERED_HEADER && Object.values(header).every((v) => v === null || typeof v !== 'object')) {
      if (headers.size >= MAX_HEADERS) headers.clear();
      // A copy of the text for the key: the segment is a slice, which would keep the whole token alive.
      headers.set(Buffer.from(segment, 'latin1').toString('latin1'), Object.freeze(header));
    }
  }
  return header;
}

/** Split and decode a compact JWS (RFC 7515 §7.1). A JWE (five parts) is refused: no encryption was agreed. */
export function decodeJws(token: string): DecodedJws {
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1 || token.indexOf('.', second + 1) !== -1) {
    // RFC 9068 §4 step 2: an encrypted token would be five parts; no encryption is agreed here (CONFORMANCE 24).
    if (token.split('.').length === 5) throw new InvalidTokenError('ERR_TOKEN_ENCRYPTED', 'encrypted access tokens are not accepted');
    throw new InvalidTokenError('ERR_TOKEN_MALFORMED', 'the access token is not a JWT');
  }
  const h = token.slice(0, first);
  const p = token.slice(first + 1, second);
  const s = token.slice(second + 1);
  if (!B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) {
    throw new InvalidTokenError('ERR_TOKEN_MALFORMED', 'the access token is not base64url-encoded');
  }
  // Only the canonical encoding: unused trailing bits would let many strings carry one signature.
  if (!isCanonicalBase64url(s))
    throw new InvalidTokenError('ERR_TOKEN_MALFORMED', 'the access token signature is not canonically base64url-encoded');
  const signature = Buffer.from(s, 'base64url');
  return {
    header: decodeHeader(h),
    payload: decodeJson(p, 'payload'),
    data: Buffer.from(token.slice(0, second), 'latin1'),
    signature,
    payloadLength: p.length,
  };
}

/**
 * Whether a JOSE `typ` names the media type `application/<type>` (RFC 7515 §4.1.9: a value without "/"
 * means "application/" + value; media types compare case-insensitively). `type` is given in lower case.
 */
export function typIs(typ: unknown, type: string): boolean {
  if (typeof typ !== 'string') return false;
  const t = typ.toLowerCase();
  return t === type || t === `application/${type}`;
}

/** What the header check needs of an issuer's settings (declared here, so this module needs no options module). */
export interface HeaderRules {
  /** The allow-listed algorithms. */
  readonly algorithms: ReadonlySet<JwsAlgorithm>;
  /** Whether `typ` must name an access token (RFC 9068 §4), or one the token profile accepts. */
  readonly requireAccessTokenType: boolean;
}

/**
 * Check the protected header (RFC 9068 §4, RFC 8725 §3.1, §3.11); returns the algorithm to verify with. The
 * issuer's token profile may accept other `typ` values (`policy.typ`).
 */
export function checkHeader(header: Record<string, unknown>, issuer: HeaderRules, policy: TokenPolicy): JwsAlgorithm {
  const alg = header.alg;
  if (typeof alg !== 'string' || !issuer.algorithms.has(alg as JwsAlgorithm)) {
    throw new InvalidTokenError('ERR_TOKEN_ALGORITHM', 'the access token is signed with an algorithm this server does not accept');
  }
  if (issuer.requireAccessTokenType) {
    const typ = header.typ;
    if (policy.typ === undefined) {
      // RFC 9068 §4 step 1 (CONFORMANCE 16): typ must be at+jwt; media types compare case-insensitively.
      if (!typIs(typ, 'at+jwt')) throw new InvalidTokenError('ERR_TOKEN_TYPE', 'the token is not a JWT access token (typ must be at+jwt)');
    } else if (typ === undefined ? !policy.typ.has('') : typeof typ !== 'string' || !policy.typ.has(normaliseTyp(typ))) {
      throw new InvalidTokenError(
        'ERR_TOKEN_TYPE',
        "the token is not a JWT access token (its typ is not one this issuer's token profile accepts)",
      );
    }
  }
  // RFC 7515 §4.1.11: no extension this server would have to understand; b64:false (RFC 7797) only comes with crit.
  if (header.crit !== undefined || header.b64 !== undefined) {
    throw new InvalidTokenError('ERR_TOKEN_HEADER', 'the access token uses a JWS extension this server does not support');
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') {
    throw new InvalidTokenError('ERR_TOKEN_HEADER', 'the access token kid is not a string');
  }
  // jku, x5u, jwk and x5c are never read: keys come only from the AS's jwks_uri (CONFORMANCE 18).
  return alg as JwsAlgorithm;
}

function isNumericDate(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Whether the optional `exp` and `nbf` claims of `claims` hold at `at` (RFC 7519 §4.1.4, §4.1.5): a claim that is
 * present must be a finite number. For JWTs other than access tokens (DPoP proofs).
 */
export function withinValidity(claims: { readonly exp?: unknown; readonly nbf?: unknown }, at: CheckTime): boolean {
  const { exp, nbf } = claims;
  const { nowSeconds, toleranceSeconds } = at;
  return (
    (exp === undefined || (isNumericDate(exp) && nowSeconds < exp + toleranceSeconds)) &&
    (nbf === undefined || (isNumericDate(nbf) && nowSeconds + toleranceSeconds >= nbf))
  );
}

/**
 * Check the claims of a signature-verified payload (RFC 9068 §2.2, §4; RFC 7519 §4.1) under the issuer's token
 * profile; returns the client the token names. The audience is checked by the caller against this resource's
 * identifiers (per request: they depend on the mount path).
 */
export function checkClaims(payload: Record<string, unknown>, issuer: string, policy: TokenPolicy, nowSeconds: number): unknown {
  // RFC 9068 §4 step 3 (CONFORMANCE 19): exact match, no trailing-slash tolerance.
  if (payload.iss !== issuer) throw new InvalidTokenError('ERR_TOKEN_ISSUER', 'the access token issuer is not trusted');
  // First: an ID token is refused as what it is, not for the claims it lacks.
  for (const [name, value] of policy.claimValues) {
    // A vendor's token-kind marker (Cognito token_use, Keycloak typ): its ID tokens share the access tokens' keys.
    if (payload[name] !== value)
      throw new InvalidTokenError('ERR_TOKEN_TYPE', `the token is not an access token (its ${name} claim is not ${value})`);
  }
  // RFC 9068 §2.2 (CONFORMANCE 22): required claims (as the issuer's token profile names them).
  for (const claim of policy.requiredClaims) {
    if (payload[claim] === undefined || payload[claim] === null) {
      throw new InvalidTokenError('ERR_TOKEN_CLAIM', `the access token lacks the ${claim} claim`);
    }
  }
  const toleranceSeconds = policy.clockToleranceSeconds;
  const { exp, nbf, iat, aud, sub, jti } = payload;
  if (!isNumericDate(exp)) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the access token exp claim is missing or not a number');
  // RFC 7519 §4.1.4 (CONFORMANCE 21): now must be before exp (plus the leeway).
  if (nowSeconds >= exp + toleranceSeconds) throw new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the access token has expired');
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the access token nbf claim is not a number');
    if (nowSeconds + toleranceSeconds < nbf) throw new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the access token is not valid yet');
  }
  if (iat !== undefined) {
    if (!isNumericDate(iat)) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the access token iat claim is not a number');
    // A token "issued" in the future is forged or from a broken clock: refuse it.
    if (iat > nowSeconds + toleranceSeconds)
      throw new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the access token was issued in the future');
  }
  // Without aud only where the profile binds the token by its client instead (checked below); one present must be well-formed.
  if (!(
    typeof aud === 'string' ||
    (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) ||
    (aud === undefined && !policy.profile.requireAudience)
  )) {
    throw new InvalidTokenError('ERR_TOKEN_AUDIENCE', 'the access token aud claim is missing or malformed');
  }
  const client = clientIdOf(payload, policy.profile);
  for (const [name, v] of [
    ['sub', sub],
    ['client_id', client],
    ['jti', jti],
  ] as const) {
    if (v !== undefined && typeof v !== 'string')
      throw new InvalidTokenError('ERR_TOKEN_CLAIM', `the access token ${name} claim is not a string`);
  }
  if (client === undefined && policy.requireClient) throw new InvalidTokenError('ERR_TOKEN_CLAIM', policy.missingClient);
  if (policy.clientIds && !policy.clientIds.has(client as string)) {
    throw new InvalidTokenError('ERR_TOKEN_AUDIENCE', 'the access token was issued to a client this resource does not accept');
  }
  return client;
}

/** Whether a token has exactly two dots, the shape of a JWS compact serialisation (RFC 7515 §7.1). */
export function hasTwoDots(token: string): boolean {
  const a = token.indexOf('.');
  if (a < 0) return false;
  const b = token.indexOf('.', a + 1);
  return b > 0 && token.indexOf('.', b + 1) === -1;
}
