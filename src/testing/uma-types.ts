/**
 * Public types of the development UMA authorization server (see `uma-authorization-server.ts`).
 *
 * Permission objects use the UMA 2.0 wire names (`resource_id`, `resource_scopes`, `exp`, FedAuthz §4.1 and
 * §5.1.1) whatever the profile, so a test policy reads like the spec; the `uma1` profile renames them
 * (`resource_set_id`, `scopes`) on the wire only.
 */

/**
 * Which protection API the development AS speaks.
 * - `uma2`: UMA 2.0 Federated Authorization + Grant, to the letter.
 * - `keycloak`: Keycloak's flavour (`/authz/protection/resource_set`, 201 with the whole resource, 204 on PUT,
 *   scopes as objects, array-only permission requests, `rsid`/`rsname`/`scopes` in introspection).
 * - `uma1`: UMA 1.0.x resource-set registration (`/.well-known/uma-configuration`, `{endpoint}/resource_set`,
 *   `scopes`, `resource_set_id`, the AAT + RPT endpoint).
 */
export type UmaProfileName = 'uma2' | 'keycloak' | 'uma1';

/** The `uma` option of {@link startDevAuthorizationServer}: `true` is `{ profile: 'uma2' }`. */
export interface DevUmaOptions {
  /** Wire format of the protection API (default `uma2`). */
  profile?: UmaProfileName;
  /** Lifetime of permission tickets in seconds (default 300). */
  ticketTtlSeconds?: number;
  /** Lifetime of RPTs in seconds, the token-level `exp` (default 3600). */
  rptTtlSeconds?: number;
}

/** One permission: a registered resource and scopes of it (FedAuthz §4.1, §5.1.1). */
export interface UmaPermission {
  /** The resource's `_id` at the AS. */
  resource_id: string;
  /** Zero or more scopes registered for that resource. */
  resource_scopes: string[];
  /** Permission-level expiry (NumericDate); an RPT carries it in introspection (FedAuthz §5.1.1). */
  exp?: number;
  /** Permission-level issue time (NumericDate). */
  iat?: number;
  /** Permission-level not-before (NumericDate). */
  nbf?: number;
}

/** A claim the AS asks for in a `need_info` answer (Grant §3.3.6). */
export interface UmaRequiredClaim {
  claim_token_format?: string[];
  claim_type?: string;
  friendly_name?: string;
  issuer?: string[];
  name?: string;
}

/** A `need_info` decision (Grant §3.3.6): the AS rotates the ticket and hints at what it needs. */
export type UmaNeedInfo =
  | { error: 'need_info'; required_claims: UmaRequiredClaim[]; redirect_user?: string }
  | { error: 'need_info'; required_claims?: UmaRequiredClaim[]; redirect_user: string };

/**
 * What a policy decides (Grant §3.3.4–3.3.6): the permissions to put in the RPT (possibly fewer than
 * requested, possibly none), or an error. `request_submitted` and `need_info` rotate the ticket.
 */
export type UmaPolicyDecision = UmaPermission[] | 'request_denied' | 'request_submitted' | UmaNeedInfo;

/** What a policy is told besides the requested permissions. */
export interface UmaPolicyContext {
  /** The ticket the client redeemed. */
  ticket: string;
  /** The pushed claim token (Grant §3.3.1; UMA 1.0.1: the first of `claim_tokens`), if any. */
  claimToken?: string;
  /** Its format. */
  claimTokenFormat?: string;
  /** The RPT sent for upgrade, if any. */
  rpt?: string;
  /** The active profile. */
  profile: UmaProfileName;
}

/**
 * The authorization assessment (Grant §3.3.4). `requested` is RequestedScopes(resource) for every resource of
 * the ticket (the ticket's scopes plus any `scope` the client asked for that the resource has); `clientId` is
 * the client redeeming the ticket.
 */
export type UmaPolicy = (
  requested: UmaPermission[],
  clientId: string,
  context: UmaPolicyContext,
) => UmaPolicyDecision | Promise<UmaPolicyDecision>;

/** A registered resource as the AS's Read operation returns it (the profile's wire format, with `_id`). */
export interface UmaResourceRepresentation {
  _id: string;
  [member: string]: unknown;
}

/** HTTP requests served, per endpoint, by method (a method appears once it has been used). */
export interface UmaRequestCounts {
  /** The UMA discovery document. */
  discovery: Record<string, number>;
  /** The resource registration endpoint (FedAuthz §3.2) and everything under it. */
  resourceRegistration: Record<string, number>;
  /** List operations among them (FedAuthz §3.2.5, `GET` on the collection; each Keycloak page counts). */
  list: Record<string, number>;
  /** The permission endpoint (FedAuthz §4). */
  permission: Record<string, number>;
  /** The token introspection endpoint (all requests while UMA is on). */
  introspection: Record<string, number>;
  /** RPT requests: `uma-ticket` grants at the token endpoint, or the UMA 1.0 RPT endpoint. */
  rpt: Record<string, number>;
}

/** Test controls and facts of the UMA part of a development AS (`as.uma`). */
export interface DevUmaControls {
  /** The active profile. */
  readonly profile: UmaProfileName;
  /** The discovery document URL (`/.well-known/uma2-configuration`, or `uma-configuration` for `uma1`). */
  readonly configurationUrl: string;
  /** `resource_registration_endpoint` (`resource_set_registration_endpoint` for `uma1`). */
  readonly resourceRegistrationEndpoint: string;
  /** `permission_endpoint` (`permission_registration_endpoint` for `uma1`). */
  readonly permissionEndpoint: string;
  /** The UMA 1.0 `rpt_endpoint` (`uma1` only). */
  readonly rptEndpoint: string | undefined;
  /** Credentials of a confidential client that may redeem tickets (`uma-ticket` grant, or an AAT for `uma1`). */
  readonly client: { clientId: string; clientSecret: string };
  /** Every registered resource, in registration order, as Read returns it. */
  resources(): UmaResourceRepresentation[];
  /** Requests served, per endpoint and method. */
  readonly requests: UmaRequestCounts;
  /** PATs (tokens with scope `uma_protection`) issued so far. */
  readonly patsIssued: number;
  /** While true the protection API (registration, permission, introspection) answers 503. */
  down: boolean;
  /** The authorization assessment; `undefined` (the default) grants exactly what was requested. */
  policy: UmaPolicy | undefined;
  /** When set, every permission of new RPTs without its own `exp` gets `exp = now + this` (may be negative). */
  permissionTtlSeconds: number | undefined;
  /** Token-level lifetime of new RPTs, in seconds. */
  rptTtlSeconds: number;
  /** Lifetime of new permission tickets, in seconds. */
  ticketTtlSeconds: number;
  /** Make every PAT issued so far answer 401 `invalid_token` from now on (they are revoked at the AS). */
  invalidatePats(): Promise<void>;
  /** Make every outstanding permission ticket expired. */
  expireTickets(): void;
  /**
   * Forget every registered resource, as an AS that keeps them in memory does when it restarts (its permission
   * endpoint then answers `invalid_resource_id` for them). PATs stay valid: add `invalidatePats()` for a full
   * restart.
   */
  forgetResources(): void;
  /** A PAT for the resource-server client (client credentials, scope `uma_protection`). */
  obtainPat(): Promise<string>;
  /**
   * Redeem a ticket as {@link DevUmaControls.client}: the `uma-ticket` grant (Grant §3.3.1), or the UMA 1.0
   * RPT endpoint. Resolves to the RPT; rejects with the AS's error code otherwise.
   */
  obtainRpt(ticket: string, options?: { scope?: string; rpt?: string }): Promise<string>;
}
