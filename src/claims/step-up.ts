/**
 * Step-up authentication (RFC 9470): a route may require an authentication context class (`acr`) and a
 * recent authentication (`auth_time`). When the token cannot show either, the client gets a 401
 * `insufficient_user_authentication` challenge telling it what to ask the AS for (§3).
 */
import { InsufficientUserAuthenticationError } from '../answers/errors.js';
import type { CheckTime } from '../token/check-time.js';

/** What a route requires of the user's authentication. */
export interface AuthenticationRequirement {
  /** Acceptable `acr` values, in order of preference (the challenge's `acr_values`). */
  acrValues?: readonly string[];
  /** Largest acceptable time since the user authenticated, in seconds (the challenge's `max_age`). */
  maxAgeSeconds?: number;
}

/**
 * Throw {@link InsufficientUserAuthenticationError} unless the claims meet the requirement. A token without
 * `acr` or `auth_time` where one is required cannot prove it, and is challenged (RFC 9470 §3, §6).
 */
export function checkAuthentication(
  claims: Readonly<Record<string, unknown>>,
  requirement: AuthenticationRequirement,
  { nowSeconds, toleranceSeconds }: CheckTime,
): void {
  const { acrValues, maxAgeSeconds } = requirement;
  if (acrValues?.length) {
    const acr = claims.acr;
    if (typeof acr !== 'string' || !acrValues.includes(acr)) {
      throw new InsufficientUserAuthenticationError('a stronger authentication is required', { acrValues, maxAgeSeconds });
    }
  }
  if (maxAgeSeconds !== undefined) {
    const authTime = claims.auth_time;
    // RFC 9470 §3 / OIDC Core §2: auth_time is when the user authenticated, so one in the future (or in
    // milliseconds) proves nothing and must not pass `now - auth_time <= max_age` (as token/jwt.ts refuses a future iat).
    if (
      typeof authTime !== 'number' ||
      !Number.isFinite(authTime) ||
      authTime > nowSeconds + toleranceSeconds ||
      nowSeconds - authTime > maxAgeSeconds + toleranceSeconds
    ) {
      throw new InsufficientUserAuthenticationError('a more recent authentication is required', { acrValues, maxAgeSeconds });
    }
  }
}

/** Validate a requirement at declaration time. */
export function assertAuthenticationRequirement(requirement: AuthenticationRequirement): AuthenticationRequirement {
  if (requirement.maxAgeSeconds !== undefined && (!Number.isInteger(requirement.maxAgeSeconds) || requirement.maxAgeSeconds < 0)) {
    throw new TypeError('maxAgeSeconds must be a non-negative integer (RFC 9470 §3 max_age)');
  }
  for (const v of requirement.acrValues ?? [])
    if (typeof v !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(v)) throw new TypeError(`invalid acr value ${JSON.stringify(v)}`);
  return Object.freeze({ ...requirement });
}
