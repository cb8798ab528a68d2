/**
 * The resource server's credentials at the AS, as registerResourceServer() (RFC 7591, RFC 7592) returns them:
 * apart from the registration code, so the option-name tables can name them without importing it.
 */

/** The resource server's credentials at the AS. */
export interface ResourceServerCredentials {
  clientId: string;
  clientSecret: string;
  registrationAccessToken?: string;
  registrationClientUri?: string;
  /** When the secret expires (seconds since the epoch), 0 for never (RFC 7591 §3.2.1). */
  clientSecretExpiresAt?: number;
}
