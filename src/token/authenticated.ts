/**
 * A verified token as accepted for one request: where it was found and with which scheme, once the audience
 * says it was issued for this resource.
 */
import { InvalidTokenError } from '../answers/errors.js';
import type { AudienceMatcher } from './audience.js';
import { Verdict, type VerifiedToken } from './verdict.js';

/** The result of authenticating a request. */
export interface Authenticated extends VerifiedToken {
  /** Where the token was found. */
  readonly location: 'header' | 'body' | 'query';
  /** The scheme it came with: `bearer` (RFC 6750) or `dpop` (RFC 9449, proof checked). */
  readonly scheme: 'bearer' | 'dpop';
}

/**
 * The verified token as accepted for this request, after the audience check: RFC 9068 §4 step 4 and RFC 8707.
 * Does NOT check scopes or the sender binding (the caller does).
 */
export function checkAudience(
  v: VerifiedToken,
  matcher: AudienceMatcher,
  location: Authenticated['location'],
  scheme: Authenticated['scheme'],
): Authenticated {
  // RFC 9068 §4 step 4, RFC 8707 (CONFORMANCE 20): the token must be issued for this resource.
  // The issuer's own names of this API (its profile's `audiences`) count too, for its tokens only.
  if (
    (v.audienceRequired || v.context.audience.length > 0) &&
    !matcher.matches(v.context.audience) &&
    !(v.issuerAudiences && v.context.audience.some((a) => v.issuerAudiences!.has(a)))
  ) {
    throw new InvalidTokenError('ERR_TOKEN_AUDIENCE', 'the access token was not issued for this resource');
  }
  return authenticated(v, location, scheme);
}

/** The verified token as accepted for this request, without an audience check (UMA RPTs: bound by permissions). */
export function authenticated(v: VerifiedToken, location: Authenticated['location'], scheme: Authenticated['scheme']): Authenticated {
  // The common case (a Bearer header) is the verdict itself, which answers so: nothing allocated per request.
  if (location === 'header' && scheme === 'bearer' && v instanceof Verdict) return v;
  return {
    context: v.context,
    granted: v.granted,
    expiresAtMs: v.expiresAtMs,
    audienceRequired: v.audienceRequired,
    issuerAudiences: v.issuerAudiences,
    location,
    scheme,
  };
}
