/**
 * The options and the handle of the development authorization server (`startDevAuthorizationServer`).
 */
import type { DevUmaControls, DevUmaOptions } from './uma-types.js';
import type { DevFaultControls } from './faults.js';

/** A protected resource the development AS issues tokens for. */
export interface DevResource {
  /** The resource identifier (RFC 8707 `resource`), which becomes the token's `aud`. */
  identifier: string;
  /** Scopes the AS may grant for this resource. */
  scopes: string[];
  /** Access-token format for this resource (default `jwt`). */
  format?: 'jwt' | 'opaque';
  /** Access-token lifetime in seconds (default 3600). */
  ttlSeconds?: number;
}

/** Options of {@link startDevAuthorizationServer}. */
export interface DevAuthorizationServerOptions {
  /** Resources to issue tokens for. */
  resources: DevResource[];
  /** Loopback host to listen on (default `127.0.0.1`). */
  host?: string;
  /** Port (default 0: a free port). */
  port?: number;
  /**
   * Turn on the UMA protection API and grant (UMA 2.0 FedAuthz and Grant; `true` is `{ profile: 'uma2' }`).
   * The resource-server client then gets PATs (client credentials, scope `uma_protection`).
   */
  uma?: true | DevUmaOptions;
  /**
   * Turn on dynamic client registration (RFC 7591, at `/reg`) and its management (RFC 7592), protected by
   * this initial access token, or `{ open: true }`: open registration, no initial access token (RFC 7591 §3
   * leaves that to the AS), which is what MCP clients expect. The resources' scopes may be registered as a
   * client's `scope` (RFC 7591 §2), and a client registered with a `scope` gets no other resource scope.
   */
  registration?: { initialAccessToken: string } | { open: true };
}

/** What {@link DevAuthorizationServer.mintAccessToken} takes. */
export interface MintOptions {
  /** The resource indicator (RFC 8707) to mint the token for. */
  resource: string;
  /** Space-delimited scopes to request (default: none). */
  scope?: string;
  /** Override the resource's token format. */
  format?: 'jwt' | 'opaque';
}

/** A running development authorization server. */
export interface DevAuthorizationServer {
  /** The issuer identifier (`http://127.0.0.1:<port>`). */
  readonly issuer: string;
  /** The JWKS URI. */
  readonly jwksUri: string;
  /** Credentials of a confidential client the resource server may use (introspection, later the PAT). */
  readonly resourceServerClient: { clientId: string; clientSecret: string };
  /** The same, registered to receive RFC 9701 signed introspection responses (RS256). */
  readonly resourceServerJwtClient: { clientId: string; clientSecret: string };
  /** The token endpoint: the client-credentials grant with a `resource` indicator (RFC 8707) mints tokens. */
  readonly tokenEndpoint: string;
  /**
   * The clients {@link DevAuthorizationServer.mintAccessToken} uses (`client_secret_basic`), for minting tokens
   * from elsewhere (curl): `jwt` gets JWT access tokens, `opaque` opaque ones, for any configured resource.
   */
  readonly mintingClients: {
    readonly jwt: { clientId: string; clientSecret: string };
    readonly opaque: { clientId: string; clientSecret: string };
  };
  /** Requests the AS has served, by endpoint (for tests that count calls, e.g. coalescing). */
  readonly requests: { introspection: number; token: number; jwks: number; discovery: number };
  /**
   * Mint an access token with the client-credentials grant and a resource indicator. Opaque tokens live in
   * oidc-provider's development memory store, which keeps about the 1,000 most recent entries: a test that
   * mints many more finds the oldest ones inactive at introspection (JWTs are unaffected).
   */
  mintAccessToken(options: MintOptions): Promise<string>;
  /**
   * Sign an arbitrary JWT with the AS's own signing key, for tests of what a resource server must refuse
   * (wrong `typ`, expired, other audience...). Claims default to a valid RFC 9068 access token for
   * `audience`; pass `undefined` for a claim to drop it.
   */
  signToken(options: SignTokenOptions): Promise<string>;
  /** Revoke a token at the AS (RFC 7009). */
  revoke(token: string): Promise<void>;
  /** Stop the server. */
  close(): Promise<void>;
  /**
   * Fault injection: make endpoints slow, hang, reset, answer 5xx or garbage (always or flapping), or stop
   * the server so connections are refused, then heal it; for proving that a resource server fails closed and
   * recovers by itself.
   */
  readonly faults: DevFaultControls;
  /** The UMA part: test controls and facts (present when started with `uma`). */
  readonly uma?: DevUmaControls;
}

/** A development authorization server started with `uma`. */
export interface DevUmaAuthorizationServer extends DevAuthorizationServer {
  /** The UMA part: test controls and facts. */
  readonly uma: DevUmaControls;
}

/** What {@link DevAuthorizationServer.signToken} takes. */
export interface SignTokenOptions {
  /** Claims to set or override; a claim set to `undefined` is removed. */
  claims?: Record<string, unknown>;
  /** Protected-header members to set or override (default `{ alg: 'RS256', typ: 'at+jwt', kid }`). */
  header?: Record<string, unknown>;
}
