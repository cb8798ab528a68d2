/**
 * The moment a time claim is checked at, with the clock skew allowed: one shape for every check of `exp`, `nbf`,
 * `iat` or `auth_time` (RFC 7519 §4.1.4, §4.1.5; RFC 9470 §3), so the two numbers cannot be swapped.
 */

/** The time a check is made at, and the clock skew it allows, in seconds. */
export interface CheckTime {
  /** Now, in seconds since the epoch (may have a fraction). */
  readonly nowSeconds: number;
  /** The leeway allowed either way for clock skew between this server and the issuer. */
  readonly toleranceSeconds: number;
}
