/**
 * The one typed result of validating a token. Route code sees the same shape whichever path validated
 * the token; it never holds the token itself.
 */

/** Claims of an RFC 9068 access token (or the equivalent introspection answer). */
export interface AccessTokenClaims {
  iss: string;
  sub?: string;
  /** Absent only in tokens of an issuer whose token profile binds them by client instead (Cognito). */
  aud?: string | string[];
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
  /**
   * The client the token was issued to: `client_id`, or the claim the issuer's token profile names instead
   * (`azp`, `cid`, `appid`).
   */
  readonly clientId: string | undefined;
  /** `aud`, always as an array (empty for a token without `aud`, which only a profile like Cognito's admits). */
  readonly audience: readonly string[];
  /**
   * The scopes the token carries, exactly as granted: `scope` and `scp`, or the claims the issuer's token
   * profile names instead (Okta `scp`, Entra `scp` and, in app-only tokens, `roles`).
   */
  readonly scopes: ReadonlySet<string>;
  /** `exp`, in seconds since the epoch (undefined only for an introspected token the AS gave no `exp`). */
  readonly expiresAt: number | undefined;
  /** How the token was validated: locally as a JWT (RFC 9068) or by introspection (RFC 7662). */
  readonly validatedBy: 'jwt' | 'introspection';
  /** Every claim of the token. */
  readonly claims: Readonly<AccessTokenClaims>;
  /**
   * The JWS protected header (RFC 7515 §4: `alg`, `typ`, `kid`...) of a token validated as a JWT; absent for
   * one validated by introspection. The token itself is not here (contexts can end up in logs): read it with
   * `getAccessToken(req)` where it must be forwarded.
   */
  readonly header?: Readonly<Record<string, unknown>>;
  /** Whether the token grants a scope, honouring the configured implication and wildcard rules. */
  hasScope(scope: string): boolean;
}
