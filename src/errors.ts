/**
 * Typed errors with stable `code`s. Request-time errors carry what an RFC 6750 §3 answer needs
 * (status, OAuth `error` code, a safe description); none ever carries token material.
 */

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

/** Stable error codes; match on these, never on messages. */
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
export type OAuthErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'insufficient_user_authentication' | 'invalid_dpop_proof' | 'use_dpop_nonce';

/** Base class of every error the kit throws or passes to `next(err)`. */
export class ResourceServerError extends Error {
  /** A stable, machine-readable code. */
  readonly code: ErrorCode;
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

  constructor(code: ErrorCode, status: number, oauthError: OAuthErrorCode | undefined, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.oauthError = oauthError;
    this.expose = status < 500;
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
    super('ERR_CREDENTIALS_MISSING', 401, undefined, message);
    this.requiredScopes = requiredScopes;
  }
}

/** A malformed request: 400 `invalid_request` (RFC 6750 §3.1). */
export class InvalidRequestError extends ResourceServerError {
  constructor(code: 'ERR_REQUEST_MALFORMED' | 'ERR_TOKEN_MULTIPLE' | 'ERR_TOKEN_TOO_LARGE', message: string) {
    super(code, 400, 'invalid_request', message);
  }
}

/** The token is malformed, expired, revoked, for another resource or otherwise invalid: 401 `invalid_token`. */
export class InvalidTokenError extends ResourceServerError {
  constructor(
    code: InvalidTokenCode,
    message: string,
  ) {
    super(code, 401, 'invalid_token', message);
  }
}

/** The token is valid but lacks a scope the route needs: 403 `insufficient_scope`. */
export class InsufficientScopeError extends ResourceServerError {
  /** The scopes the route needs (the challenge's `scope` attribute). */
  readonly requiredScopes: readonly string[];
  constructor(requiredScopes: readonly string[], message = 'the access token lacks a scope this resource requires') {
    super('ERR_INSUFFICIENT_SCOPE', 403, 'insufficient_scope', message);
    this.requiredScopes = requiredScopes;
  }
}

/**
 * The token's authentication event is too weak or too old (RFC 9470 §3): 401
 * `insufficient_user_authentication` with `acr_values` and/or `max_age` in the challenge.
 */
export class InsufficientUserAuthenticationError extends ResourceServerError {
  /** Acceptable `acr` values, in order of preference. */
  readonly acrValues: readonly string[] | undefined;
  /** The largest acceptable time since the user authenticated, in seconds. */
  readonly maxAge: number | undefined;
  constructor(message: string, acrValues?: readonly string[], maxAge?: number) {
    super('ERR_INSUFFICIENT_USER_AUTHENTICATION', 401, 'insufficient_user_authentication', message);
    this.acrValues = acrValues;
    this.maxAge = maxAge;
  }
}

/** A token bound to a key or certificate was presented without the matching proof: 401 `invalid_token` (RFC 9449 §7, RFC 8705 §3). */
export class TokenBindingError extends ResourceServerError {
  constructor(message: string) {
    super('ERR_TOKEN_BINDING', 401, 'invalid_token', message);
  }
}

/** The DPoP proof is missing, malformed or does not match the request: 401 `invalid_dpop_proof` (RFC 9449 §7.1). */
export class InvalidDpopProofError extends ResourceServerError {
  constructor(message: string) {
    super('ERR_DPOP_PROOF', 401, 'invalid_dpop_proof', message);
  }
}

/** The proof lacks the current server nonce: 401 `use_dpop_nonce` with a fresh `DPoP-Nonce` (RFC 9449 §9). */
export class UseDpopNonceError extends ResourceServerError {
  readonly nonce: string;
  constructor(nonce: string, message = 'a DPoP nonce is required') {
    super('ERR_DPOP_NONCE', 401, 'use_dpop_nonce', message);
    this.nonce = nonce;
  }
}

/** The request cannot be decided safely now: 503 with `Retry-After`, never an allow (fail closed). */
export class ServiceUnavailableError extends ResourceServerError {
  /** Seconds a client should wait before retrying (the `Retry-After` header). */
  readonly retryAfterSeconds: number;
  constructor(code: 'ERR_AUTHORIZATION_SERVER_UNAVAILABLE' | 'ERR_DPOP_REPLAY_FULL', message: string, retryAfterSeconds: number) {
    super(code, 503, undefined, message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The authorization server (discovery, JWKS) could not be reached: 503, never an allow. */
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

/** A configuration mistake, thrown at start-up (or 500 when the kit is wired wrongly). */
export class ConfigurationError extends ResourceServerError {
  constructor(message: string, code: 'ERR_CONFIGURATION' | 'ERR_NOT_AUTHENTICATED' = 'ERR_CONFIGURATION') {
    super(code, 500, undefined, message);
  }
}
