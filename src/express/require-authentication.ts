/** Per-route step-up requirements (RFC 9470): `requireAuthentication({ acrValues, maxAgeSeconds })`. */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { assertAuthenticationRequirement, checkAuthentication, type AuthenticationRequirement } from '../claims/step-up.js';
import { peekState } from './request-context.js';
import { respondUnconfigured, respondWithError } from './respond.js';

/**
 * Require an authentication context class and/or a recent authentication on a route. Needs the app-wide
 * middleware before it. Refusals are 401 `insufficient_user_authentication` with `acr_values` / `max_age`.
 */
export function requireAuthentication(requirement: AuthenticationRequirement): RequestHandler {
  const required = assertAuthenticationRequirement(requirement);
  const once = { done: false };
  return function requireAuthenticationHandler(req: Request, res: Response, next: NextFunction): void {
    const state = peekState(req);
    if (!state?.server)
      return respondUnconfigured(
        undefined,
        'requireAuthentication() ran without app.use(oauthResourceServer(...)) before it',
        res,
        next,
        once,
      );
    const { server, auth } = state;
    if (!auth) return respondWithError(server, server.missingCredentials(), res, next);
    try {
      checkAuthentication(auth.context.claims, required, {
        nowSeconds: Date.now() / 1000,
        toleranceSeconds: server.options.clockToleranceSeconds,
      });
    } catch (err) {
      return respondWithError(server, err, res, next);
    }
    next();
  };
}
