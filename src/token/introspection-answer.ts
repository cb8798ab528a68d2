/**
 * The checks an introspection answer (RFC 7662) must pass before it is believed: `active` is the JSON boolean
 * `true`, the time claims hold locally, `iss` (when present) is this issuer, `token_type` (when present) is a
 * bearer token. The audience is checked per request by the caller, like a JWT's.
 */
import { InvalidTokenError } from '../answers/errors.js';
import type { AccessTokenClaims } from './auth-context.js';
import type { CheckTime } from './check-time.js';

/** An introspection answer that passed the checks. */
export interface ActiveIntrospection {
  claims: AccessTokenClaims;
  /** `exp` when the AS gave one. */
  exp: number | undefined;
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
  if (sub !== undefined && typeof sub !== 'string') throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the introspection sub is not a string');
  if (clientId !== undefined && typeof clientId !== 'string')
    throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the introspection client_id is not a string');
  // A copy (the answer may be shared as it came); not a spread: V8 gives a frozen object made by a spread a map of
  // its own, which doubles what a cached token costs. Object.assign SETS each member, and setting `__proto__` would
  // give the claims the answer's object as prototype (its `scope` read through it, never checked): that member,
  // rare and no claim of any specification, is copied as a plain member instead.
  const claims = (Object.hasOwn(answer, '__proto__') ? copyMembers(answer) : Object.assign({}, answer)) as AccessTokenClaims;
  claims.iss = issuer;
  if (aud === undefined) claims.aud = [];
  return { claims, exp: exp as number | undefined };
}

/** An own copy of every member, `__proto__` as a plain data member (defined, not set). */
function copyMembers(answer: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(answer))
    Object.defineProperty(out, k, { value: answer[k], writable: true, enumerable: true, configurable: true });
  return out;
}
