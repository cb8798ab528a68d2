/** Per-route claim checks: `requireClaims({ tenant: 'acme' })`, `requireClaims((claims) => ...)`. */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import {
  claimCheckError,
  compileClaimChecks,
  type ClaimChecks,
  type ClaimsPredicate,
  type ClaimsPredicateOptions,
} from '../claims/claim-checks.js';
import type { AccessTokenClaims } from '../token/auth-context.js';
import { peekState } from './request-context.js';
import { respondUnconfigured, respondWithError } from './respond.js';

/**
 * Require claims on a route. Needs the app-wide middleware before it. A token that fails a check is refused
 * with 401 `invalid_token` (RFC 6750 §3.1); the description names the claim, never its value.
 *
 * - `requireClaims({ tenant: 'acme' })`, `requireClaims({ tenant: { equals: 'acme' } })`: the claim equals a value.
 * - `requireClaims({ roles: { includes: ['admin', 'billing'] } })`: an array or space-delimited claim has them all.
 * - `requireClaims({ amr: (amr) => Array.isArray(amr) && amr.includes('mfa') })`: a check of one claim.
 * - `requireClaims((claims) => claims.org_id === 'o1', { description: 'only members of o1' })`: of all claims.
 *
 * Checks may return a promise. Only `true` accepts; a check that throws refuses (fail closed).
 *
 * @example
 * ```ts
 * app.get('/admin', requireClaims<{ roles: string[] }>({ roles: { includes: 'admin' } }), handler);
 * ```
 */
export function requireClaims<C extends object = AccessTokenClaims>(checks: ClaimChecks<C>): RequestHandler;
export function requireClaims<C extends object = AccessTokenClaims>(
  predicate: ClaimsPredicate<C>,
  options?: ClaimsPredicateOptions,
): RequestHandler;
export function requireClaims(declaration: unknown, options?: ClaimsPredicateOptions): RequestHandler {
  const check = compileClaimChecks(declaration, options);
  const once = { done: false };
  return function requireClaimsHandler(req: Request, res: Response, next: NextFunction): void {
    const state = peekState(req);
    if (!state?.server)
      return respondUnconfigured(undefined, 'requireClaims() ran without app.use(oauthResourceServer(...)) before it', res, next, once);
    const { server, auth } = state;
    if (!auth) return respondWithError(server, server.missingCredentials(), res, next);
    const answer = (why: string | undefined) => (why === undefined ? next() : respondWithError(server, claimCheckError(why), res, next));
    const why = check(auth.context);
    if (why instanceof Promise) {
      why.then(answer, () => respondWithError(server, claimCheckError("the access token's claims could not be checked"), res, next));
      return;
    }
    answer(why);
  };
}
