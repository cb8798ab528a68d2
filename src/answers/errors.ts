/**
 * Typed errors with stable `code`s: one family, rooted at {@link KitError}. Request-time errors
 * ({@link ResourceServerError} and its subclasses) carry what an RFC 6750 §3 answer needs (status, OAuth
 * `error` code, a safe description); none ever carries token material. The other errors of the family (a
 * failed call to the authorization server, the UMA protection API, a store) are defined next to what raises
 * them and extend {@link KitError} directly: they are never answered to a client as they are.
 */
import { requireObjectArgument } from '../types/object-argument.js';

/** Codes of {@link InvalidTokenError}: why a token was refused. */
export type InvalidTokenCode =
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_ENCRYPTED'
  | 'ERR_TOKEN_TYPE'
  | 'ERR_TOKEN_ALGORITHM'
  | 'ERR_TOKEN_HEADER'
  | 'ERR_TOKEN_KEY_NOT_FOUND'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_ISSUER'
  | 'ERR_TOKEN_AUDIENCE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_CLAIM'
  | 'ERR_TOKEN_INACTIVE';

/** Stable codes of {@link ResourceServerError}s (request-time and configuration errors); match on these, never on messages. */
export type ErrorCode =
  | 'ERR_CREDENTIALS_MISSING'
  | 'ERR_REQUEST_MALFORMED'
  | 'ERR_TOKEN_MULTIPLE'
  | 'ERR_TOKEN_TOO_LARGE'
  | InvalidTokenCode
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_INSUFFICIENT_USER_AUTHENTICATION'
  | 'ERR_DPOP_PROOF'
  | 'ERR_DPOP_NONCE'
  | 'ERR_TOKEN_BINDING'
  | 'ERR_AUTHORIZATION_SERVER_UNAVAILABLE'
  | 'ERR_DPOP_REPLAY_FULL'
  | 'ERR_CONFIGURATION'
  | 'ERR_NOT_AUTHENTICATED';

/** The OAuth error codes of RFC 6750 §3.1 this kit answers with. */
export type OAuthErrorCode =
  'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'insufficient_user_authentication' | 'invalid_dpop_proof' | 'use_dpop_nonce';

/**
 * Every code a {@link KitError} can carry: `switch (err.code)` on a caught `KitError` is exhaustive over it.
 * `ERR_AUTHORIZATION_SERVER_ANSWER` and `ERR_HTTP_CLIENT` belong to internal errors that the kit always turns
 * into an `AuthorizationServerCallError` (or a 503) before an app sees them.
 */
export type KitErrorCode =
  | ErrorCode
  | 'ERR_AUTHORIZATION_SERVER_CALL'
  | 'ERR_PROTECTION_API'
  | StoreErrorCode
  | 'ERR_AUTHORIZATION_SERVER_ANSWER'
  | 'ERR_HTTP_CLIENT';

/** Codes of `StoreError` (src/stores/store-error.ts): why a store refused or failed. */
export type StoreErrorCode = 'ERR_STORE_FULL' | 'ERR_STORE_EVICTING' | 'ERR_STORE_UNREADABLE' | 'ERR_STORE_TIMEOUT' | 'ERR_LOCK_TIMEOUT';

/** What the constructor of {@link KitError} takes. */
export interface KitErrorInit<C extends KitErrorCode = KitErrorCode> {
  /** The stable code. */
  code: C;
  /** A description for the operator (never token material). */
  message: string;
  /** The error this one wraps (the standard `Error.cause`). */
  cause?: unknown;
}

/**
 * The root of every error the kit throws, rejects with or passes to `next(err)`: `err instanceof KitError`
 * tells the kit's errors from others, and `err.code` (a {@link KitErrorCode}) says which it is. Request-time
 * errors are {@link ResourceServerError}s below it.
 */
export abstract class KitError extends Error {
  /** A stable, machine-readable code. */
  readonly code: KitErrorCode;

  constructor(init: KitErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
  }
}

/** What the constructor of {@link ResourceServerError} takes. */
export interface ResourceServerErrorInit extends KitErrorInit<ErrorCode> {
  /** The HTTP status of the answer. */
  status: number;
  /** The RFC 6750 `error` value of the answer, when it carries one. */
  oauthError?: OAuthErrorCode | undefined;
}

/**
 * Base class of every error a request is answered with (the kit answers it, or passes it to `next(err)` with
 * `errorResponse: 'next'`), and of {@link ConfigurationError}. The request errors below it take no `cause`: one
 * could hold token material (a JWT library's claim error carries the payload), and `next(err)` hands the error to
 * the app. (A {@link ConfigurationError}, a start-up error, may wrap one.)
 */
export class ResourceServerError extends KitError {
  declare readonly code: ErrorCode;
  /** The HTTP status an answer to this error uses. */
  readonly status: number;
  /** The RFC 6750 `error` value, when the answer carries one. */
  readonly oauthError: OAuthErrorCode | undefined;
  /** Extra response headers (for Express's default error handler: `err.headers`). */
  headers: Record<string, string> = {};
  /** Express/http-errors convention: the message is safe to show to the client. */
  readonly expose: boolean;
  /** Answer with this challenge scheme whatever the request used (e.g. a route that requires DPoP). */
  challengeScheme: 'DPoP' | undefined;

  constructor(init: ResourceServerErrorInit) {
    // A JavaScript caller of the former form (code, status, oauthError, message) is told so, not given an
    // error with an undefined code and status.
    requireObjectArgument(init, 'new ResourceServerError({ code, status, oauthError, message })', 'the argument');
    super(init);
    this.status = init.status;
    this.oauthError = init.oauthError;
    this.expose = init.status < 500;
    this.challengeScheme = undefined;
  }

  /** Alias of `status` for frameworks that read `statusCode`. */
  get statusCode(): number {
    return this.status;
  }
}

/** No usable credentials: 401 with a challenge and no `error` attribute (RFC 6750 §3). */
export class MissingCredentialsError extends ResourceServerError {
  /**
   * The scopes the route needs, when the refusal knows them (a route's written scopes): the challenge names them
   * in `scope`, which is no error information (RFC 6750 §3) and is what the MCP authorization spec asks its 401
   * to carry. Empty otherwise.
   */
  readonly requiredScopes: readonly string[];
  constructor(message = 'no access token was presented', requiredScopes: readonly string[] = []) {
    super({ code: 'ERR_CREDENTIALS_MISSING', status: 401, message });
    this.requiredScopes = requiredScopes;
  }
}

/** A malformed request: 400 `invalid_request` (RFC 6750 §3.1). */
export class InvalidRequestError extends ResourceServerError {
  constructor(code: 'ERR_REQUEST_MALFORMED' | 'ERR_TOKEN_MULTIPLE' | 'ERR_TOKEN_TOO_LARGE', message: string) {
    super({ code, status: 400, oauthError: 'invalid_request', message });
  }
}

/** The token is malformed, expired, revoked, for another resource or otherwise invalid: 401 `invalid_token`. */
export class InvalidTokenError extends ResourceServerError {
  constructor(code: InvalidTokenCode, message: string) {
    super({ code, status: 401, oauthError: 'invalid_token', message });
  }
}

/** The token is valid but lacks a scope the route needs: 403 `insufficient_scope`. */
export class InsufficientScopeError extends ResourceServerError {
  /** The scopes the route needs (the challenge's `scope` attribute). */
  readonly requiredScopes: readonly string[];
  constructor(requiredScopes: readonly string[], message = 'the access token lacks a scope this resource requires') {
    super({ code: 'ERR_INSUFFICIENT_SCOPE', status: 403, oauthError: 'insufficient_scope', message });
    this.requiredScopes = requiredScopes;
  }
}

/** What an {@link InsufficientUserAuthenticationError}'s challenge asks for (RFC 9470 §3); both optional. */
export interface UserAuthenticationChallenge {
  /** Acceptable `acr` values, in order of preference (the challenge's `acr_values`). */
  readonly acrValues?: readonly string[] | undefined;
  /** The largest acceptable time since the user authenticated, in seconds (the challenge's `max_age`). */
  readonly maxAgeSeconds?: number | undefined;
}

/**
 * The token's authentication event is too weak or too old (RFC 9470 §3): 401
 * `insufficient_user_authentication` with `acr_values` and/or `max_age` in the challenge.
 *
 * @example
 * ```ts
 * throw new InsufficientUserAuthenticationError('a stronger authentication is required', { acrValues: ['mfa'], maxAgeSeconds: 300 });
 * ```
 */
export class InsufficientUserAuthenticationError extends ResourceServerError {
  /** Acceptable `acr` values, in order of preference. */
  readonly acrValues: readonly string[] | undefined;
  /** The largest acceptable time since the user authenticated, in seconds. */
  readonly maxAge: number | undefined;
  constructor(message: string, challenge: UserAuthenticationChallenge = {}) {
    // A JavaScript caller of the former form (message, acrValues, maxAge) is told so, not given a bare challenge.
    requireObjectArgument(challenge, 'InsufficientUserAuthenticationError(message, { acrValues, maxAgeSeconds })', 'the challenge');
    super({ code: 'ERR_INSUFFICIENT_USER_AUTHENTICATION', status: 401, oauthError: 'insufficient_user_authentication', message });
    this.acrValues = challenge.acrValues;
    this.maxAge = challenge.maxAgeSeconds;
  }
}

/** A token bound to a key or certificate was presented without the matching proof: 401 `invalid_token` (RFC 9449 §7, RFC 8705 §3). */
export class TokenBindingError extends ResourceServerError {
  constructor(message: string) {
    super({ code: 'ERR_TOKEN_BINDING', status: 401, oauthError: 'invalid_token', message });
  }
}

/** The DPoP proof is missing, malformed or does not match the request: 401 `invalid_dpop_proof` (RFC 9449 §7.1). */
export class InvalidDpopProofError extends ResourceServerError {
  constructor(message: string) {
    super({ code: 'ERR_DPOP_PROOF', status: 401, oauthError: 'invalid_dpop_proof', message });
  }
}

/** The proof lacks the current server nonce: 401 `use_dpop_nonce` with a fresh `DPoP-Nonce` (RFC 9449 §9). */
export class UseDpopNonceError extends ResourceServerError {
  readonly nonce: string;
  constructor(nonce: string, message = 'a DPoP nonce is required') {
    super({ code: 'ERR_DPOP_NONCE', status: 401, oauthError: 'use_dpop_nonce', message });
    this.nonce = nonce;
  }
}

/** The request cannot be decided safely now: 503 with `Retry-After`, never an allow (fail closed). */
export class ServiceUnavailableError extends ResourceServerError {
  /** Seconds a client should wait before retrying (the `Retry-After` header). */
  readonly retryAfterSeconds: number;
  constructor(code: 'ERR_AUTHORIZATION_SERVER_UNAVAILABLE' | 'ERR_DPOP_REPLAY_FULL', message: string, retryAfterSeconds: number) {
    super({ code, status: 503, message });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The request cannot be decided for want of the authorization server: discovery, the JWKS (no key known yet) or
 * introspection failed, an UMA route's resource is not registered yet, or the shared DPoP replay store failed.
 * 503 with `Retry-After`, never an allow; its message names no URL (the failed call is in the log).
 */
export class AuthorizationServerUnavailableError extends ServiceUnavailableError {
  constructor(message = 'the authorization server could not be reached', retryAfterSeconds = 5) {
    super('ERR_AUTHORIZATION_SERVER_UNAVAILABLE', message, retryAfterSeconds);
  }
}

/**
 * The DPoP replay set is full of proofs still inside their window: a new proof could not be remembered, so
 * it is refused for now rather than an old one forgotten (RFC 9449 §11.1): 503 until the oldest expire.
 */
export class DpopReplaySetFullError extends ServiceUnavailableError {
  constructor(retryAfterSeconds: number) {
    super('ERR_DPOP_REPLAY_FULL', 'too many recent DPoP proofs to check this one for replay; retry later', retryAfterSeconds);
  }
}

/**
 * A configuration mistake: thrown at start-up by whatever reads the options or declarations (the middleware,
 * `requireScopes`, `assertRouteScopes`, the registrars...), and answered 500 `server_error` (details only in
 * the log) when a request meets a route that cannot be served as configured.
 */
export class ConfigurationError extends ResourceServerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super({ code: 'ERR_CONFIGURATION', status: 500, message, cause: options?.cause });
  }
}

/**
 * The kit is wired wrongly: a route middleware (`requireScopes`, `requireClaims`, `requireAuthentication`...)
 * ran without `app.use(oauthResourceServer(...))` before it. Raised per request (never at start-up, the route
 * cannot know what comes before it), answered 500 `server_error` like every {@link ConfigurationError}.
 */
export class NotAuthenticatedError extends ConfigurationError {
  override readonly code: ErrorCode = 'ERR_NOT_AUTHENTICATED';
  constructor(message: string) {
    super(message);
  }
}
