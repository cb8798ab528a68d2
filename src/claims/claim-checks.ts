/**
 * Claim checks on routes (`requireClaims`): a claim equals a value, a claim includes values, or a predicate
 * over the claims. A token that fails one was not issued for this use: 401 `invalid_token` (RFC 6750 §3.1:
 * "invalid for other reasons"), as express-oauth2-jwt-bearer's claimEquals/claimIncludes/claimCheck answer.
 * Declarations are read strictly at start-up: a typo or an unset variable is a ConfigurationError, never a
 * check that passes everything.
 */
import type { AccessTokenClaims, AuthContext } from '../token/auth-context.js';
import { ConfigurationError, InvalidTokenError } from '../answers/errors.js';

/** A value a claim can equal: a JSON primitive. Compare objects and arrays with a predicate. */
export type ClaimValue = string | number | boolean | null;

/**
 * The check of one claim:
 * - a value, or `{ equals: value }`: the claim is exactly that value;
 * - `{ includes: 'admin' }` or `{ includes: ['a', 'b'] }`: the claim, an array or a space-delimited string
 *   (like `scope`), contains every one of these;
 * - a function of the claim's value (and all claims) that returns `true` to accept (anything else refuses).
 */
export type ClaimCheck<V = unknown> =
  | ClaimValue
  | { readonly equals: ClaimValue }
  | { readonly includes: string | readonly string[] }
  | ((value: V | undefined, claims: Readonly<AccessTokenClaims>) => boolean | Promise<boolean>);

/** Checks by claim name; every one must pass. `C` types the claim names and their values. */
export type ClaimChecks<C extends object = AccessTokenClaims> = { readonly [K in keyof C & string]?: ClaimCheck<C[K]> };

/** A check of the whole claim set: `true` accepts, anything else (a throw included) refuses. */
export type ClaimsPredicate<C extends object = AccessTokenClaims> = (
  claims: Readonly<AccessTokenClaims & C>,
  auth: AuthContext,
) => boolean | Promise<boolean>;

/** Options of a predicate check. */
export interface ClaimsPredicateOptions {
  /** What the refusal says (its `error_description`): say what was expected, never a claim's value. */
  description?: string;
}

/** A compiled check: undefined when the claims pass, else why not (claim names only, never values). */
export type CompiledClaimCheck = (auth: AuthContext) => string | undefined | Promise<string | undefined>;

const isValue = (v: unknown): v is ClaimValue => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function compileOne(name: string, check: unknown): (claims: Readonly<AccessTokenClaims>) => boolean | Promise<boolean> {
  if (isValue(check)) return (claims) => claims[name] === check;
  if (typeof check === 'function') {
    const fn = check as (value: unknown, claims: Readonly<AccessTokenClaims>) => unknown;
    return (claims) => fn(claims[name], claims) as boolean | Promise<boolean>;
  }
  if (typeof check !== 'object' || check === null || Array.isArray(check)) {
    // undefined (an unset variable), an array, a bigint...: never a check that could pass by accident.
    throw new ConfigurationError(
      `requireClaims: the check of "${name}" must be a value (string, number, boolean, null), { equals }, { includes } or a function`,
    );
  }
  const members = Object.keys(check);
  const matcher = check as Record<string, unknown>;
  if (members.length !== 1 || !['equals', 'includes'].includes(members[0]!)) {
    throw new ConfigurationError(
      `requireClaims: the check of "${name}" has members ${JSON.stringify(members)}; it takes exactly one of equals, includes`,
    );
  }
  if (members[0] === 'equals') {
    const expected = matcher.equals;
    if (!isValue(expected))
      throw new ConfigurationError(
        `requireClaims: { equals } of "${name}" must be a string, number, boolean or null; compare objects with a function`,
      );
    return (claims) => claims[name] === expected;
  }
  const raw = matcher.includes;
  const wanted = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(wanted) || !wanted.length || !wanted.every((w) => typeof w === 'string' && w.length > 0)) {
    throw new ConfigurationError(`requireClaims: { includes } of "${name}" must be a non-empty string or a non-empty array of them`);
  }
  return (claims) => {
    const value = claims[name];
    // A space-delimited string claim (scope-like, RFC 6749 §3.3) or an array of strings; anything else fails.
    const have = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : undefined;
    return have !== undefined && wanted.every((w) => have.includes(w));
  };
}

/** A refusal when `result` (of a user's check) is not `true`, a promise of it included. */
function verdict(result: boolean | Promise<boolean>, why: string): string | undefined | Promise<string | undefined> {
  if (result instanceof Promise)
    return result.then(
      (r) => (r === true ? undefined : why),
      () => why,
    );
  return result === true ? undefined : why;
}

/** Read a `requireClaims` declaration (checks by name, or a predicate) into one check. */
export function compileClaimChecks(declaration: unknown, options: ClaimsPredicateOptions = {}): CompiledClaimCheck {
  if (options.description !== undefined && (typeof options.description !== 'string' || !options.description)) {
    throw new ConfigurationError('requireClaims: description must be a non-empty string');
  }
  if (typeof declaration === 'function') {
    const predicate = declaration as (claims: Readonly<AccessTokenClaims>, auth: AuthContext) => boolean | Promise<boolean>;
    const why = options.description ?? "the access token's claims do not satisfy this resource's requirements";
    return (auth) => {
      try {
        return verdict(predicate(auth.claims, auth), why);
      } catch {
        // A check that throws on a token's claims (a missing nested member) refuses it: fail closed.
        return why;
      }
    };
  }
  if (typeof declaration !== 'object' || declaration === null || Array.isArray(declaration)) {
    throw new ConfigurationError(
      "requireClaims takes checks by claim name ({ tenant: 'acme', roles: { includes: 'admin' } }) or a function of the claims",
    );
  }
  if (options.description !== undefined) throw new ConfigurationError('requireClaims: description goes with a function check only');
  const checks = Object.entries(declaration).map(([name, check]) => ({ name, test: compileOne(name, check) }));
  if (!checks.length) throw new ConfigurationError('requireClaims({}) checks nothing: name at least one claim');
  return (auth) => {
    const pending: Array<Promise<string | undefined>> = [];
    for (const { name, test } of checks) {
      const why = `the access token's claim ${name} does not have the required value`;
      let result: string | undefined | Promise<string | undefined>;
      try {
        result = verdict(test(auth.claims), why);
      } catch {
        result = why;
      }
      if (typeof result === 'string') return result;
      if (result) pending.push(result);
    }
    if (!pending.length) return undefined;
    return Promise.all(pending).then((all) => all.find((r) => r !== undefined));
  };
}

/** The error of a failed claim check: 401 `invalid_token` (RFC 6750 §3.1). */
export function claimCheckError(why: string): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_CLAIM', why);
}
