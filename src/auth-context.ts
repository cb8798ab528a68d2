/**
 * The one typed result of validating a token. Route code sees the same shape whichever path validated
 * the token; it never holds the token itself.
 */

/** Claims of an RFC 9068 access token (or the equivalent introspection answer). */
export interface AccessTokenClaims {
  iss: string;
  sub?: string;
  aud: string | string[];
  exp?: number;
  iat?: number;
  nbf?: number;
  jti?: string;
  client_id?: string;
  scope?: string;
  scp?: string | string[];
  auth_time?: number;
  acr?: string;
  amr?: string[];
  cnf?: Record<string, unknown>;
  [claim: string]: unknown;
}

/** A validated access token, as route code sees it. Frozen; shared across requests with the same token. */
export interface AuthContext {
  /** The `iss` the token was validated against. */
  readonly issuer: string;
  /** `sub`: the resource owner, or for client-credentials tokens an id of the client (RFC 9068 §5). */
  readonly subject: string | undefined;
  /** `client_id`: the client the token was issued to. */
  readonly clientId: string | undefined;
  /** `aud`, always as an array. */
  readonly audience: readonly string[];
  /** The scopes the token carries (`scope` and `scp`), exactly as granted. */
  readonly scopes: ReadonlySet<string>;
  /** `exp`, in seconds since the epoch (undefined only for an introspected token the AS gave no `exp`). */
  readonly expiresAt: number | undefined;
  /** How the token was validated: locally as a JWT (RFC 9068) or by introspection (RFC 7662). */
  readonly validatedBy: 'jwt' | 'introspection';
  /** Every claim of the token. */
  readonly claims: Readonly<AccessTokenClaims>;
  /** Whether the token grants a scope, honouring the configured implication and wildcard rules. */
  hasScope(scope: string): boolean;
}
