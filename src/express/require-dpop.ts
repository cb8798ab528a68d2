/** Per-route DPoP policy (RFC 9449): `requireDpop()` refuses tokens that were not presented with a DPoP proof. */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { TokenBindingError } from '../answers/errors.js';
import { peekState } from './request-context.js';
import { respondUnconfigured, respondWithError } from './respond.js';

/**
 * Require a DPoP-bound token on this route, on an app where DPoP is `allowed`: a bearer token gets a 401
 * `invalid_token` with a `DPoP algs="…"` challenge. Needs the app-wide middleware with `dpop` on.
 */
export function requireDpop(): RequestHandler {
  const once = { done: false };
  return function requireDpopHandler(req: Request, res: Response, next: NextFunction): void {
    const state = peekState(req);
    if (!state?.server?.dpop)
      return respondUnconfigured(
        state?.server,
        'requireDpop() ran without app.use(oauthResourceServer({ dpop: ... })) before it',
        res,
        next,
        once,
      );
    const { server, auth } = state;
    if (!auth) return respondWithError(server, server.missingCredentials(), res, next);
    if (auth.scheme === 'dpop') return next();
    const err = new TokenBindingError('this resource accepts only DPoP-bound access tokens');
    err.challengeScheme = 'DPoP';
    respondWithError(server, err, res, next);
  };
}
