/** Per-route DPoP policy (RFC 9449): `requireDpop()` refuses tokens that were not presented with a DPoP proof. */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { ConfigurationError, TokenBindingError } from '../errors.js';
import { STATE, type KitState } from './request-context.js';
import { respondWithError } from './respond.js';

/**
 * Require a DPoP-bound token on this route, on an app where DPoP is `allowed`: a bearer token gets a 401
 * `invalid_token` with a `DPoP algs="…"` challenge. Needs the app-wide middleware with `dpop` on.
 */
export function requireDpop(): RequestHandler {
  return function requireDpopHandler(req: Request, res: Response, next: NextFunction): void {
    const state = (req as unknown as KitState)[STATE];
    if (!state?.server?.dpop) return next(new ConfigurationError('requireDpop() needs app.use(oauthResourceServer({ dpop: ... })) before the route', 'ERR_NOT_AUTHENTICATED'));
    const { server, auth } = state;
    if (!auth) return respondWithError(server, server.missingCredentials(), res, next);
    if (auth.scheme === 'dpop') return next();
    const err = new TokenBindingError('this resource accepts only DPoP-bound access tokens');
    err.challengeScheme = 'DPoP';
    respondWithError(server, err, res, next);
  };
}
