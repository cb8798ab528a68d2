/** Writing the kit's answers in Express (4 and 5): node's own response API, so both versions behave alike. */
import type { Response, NextFunction } from 'express';
import { NotAuthenticatedError, ResourceServerError } from '../answers/errors.js';
import { answerable } from '../answers/error-answer.js';
import type { ResourceServer } from '../resource-server.js';
import { peekState } from './request-context.js';

/** Answer an error the configured way: write it out, or (`errorResponse: 'next'`) pass it to `next(err)`. */
export function respondWithError(
  server: ResourceServer,
  thrown: unknown,
  res: Response,
  next: NextFunction,
  how: { logged?: boolean } = {},
): void {
  // A failed call to the AS is answered (and passed to `next`) as the 503 it means: never its message, which names
  // URLs; AsHealth logged its state change once, so it is not "unexpected" here (no line per request).
  const error = answerable(thrown) ?? thrown;
  // The identity the middleware placed the request under selects the metadata URL of the answer (never req.baseUrl).
  const req = res.req as { headers?: Record<string, unknown> } | undefined;
  // RFC 9449 §7.2: an error is answered in the scheme the client used.
  const authorization = req?.headers?.authorization;
  const scheme = typeof authorization === 'string' && /^dpop /i.test(authorization) ? 'dpop' : 'bearer';
  const answer = server.answer(error, { mountPath: peekState(req)?.identityMount ?? '', scheme });
  if (!(error instanceof ResourceServerError)) {
    server.options.logger.error('unexpected error while authorizing a request', {
      reason: error instanceof Error ? error.name : typeof error,
    });
  } else if (error.status >= 500 && error.code === 'ERR_CONFIGURATION' && !how.logged) {
    server.options.logger.error(error.message);
  }
  if (server.options.errorResponse === 'next') {
    if (error instanceof ResourceServerError) {
      // Express's default handler and http-errors-style handlers read err.status and err.headers. A copy per
      // request: one error object may be shared (a cached refusal, one introspection for concurrent requests),
      // and each request's challenge is its own (its scheme, its mount's metadata URL).
      const own = Object.create(Object.getPrototypeOf(error) as object, Object.getOwnPropertyDescriptors(error)) as ResourceServerError;
      own.headers = answer.headers;
      return next(own);
    }
    return next(error);
  }
  if (res.headersSent) return next(error);
  res.statusCode = answer.status;
  for (const [k, v] of Object.entries(answer.headers)) res.setHeader(k, v);
  if (answer.body === undefined) {
    res.setHeader('content-length', '0');
    res.end();
  } else {
    res.setHeader('content-length', String(Buffer.byteLength(answer.body)));
    res.end(answer.body);
  }
}

/**
 * Answer a route handler that runs without what it needs (`requireScopes()` with no app-wide middleware before
 * it): never Express's error page, which shows a stack trace and file paths. With a resource server, its
 * configured answer (a 500 `server_error`, or `next(err)` with `errorResponse: 'next'`) and one log line per
 * handler; without one, the kit's default JSON 500 and one process warning per handler.
 */
export function respondUnconfigured(
  server: ResourceServer | undefined,
  message: string,
  res: Response,
  next: NextFunction,
  once: { done: boolean },
): void {
  const first = !once.done;
  once.done = true;
  if (server) {
    if (first) server.options.logger.error(message);
    return respondWithError(server, new NotAuthenticatedError(message), res, next, { logged: true });
  }
  if (first) process.emitWarning(`${message}: every request is answered 500`, { code: 'OAUTH_RS_NOT_AUTHENTICATED' });
  if (res.headersSent) return next(new NotAuthenticatedError(message));
  const body = JSON.stringify({ error: 'server_error', error_description: 'the server could not process the request' });
  res.statusCode = 500;
  res.setHeader('content-type', 'application/json');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', String(Buffer.byteLength(body)));
  res.end(body);
}
