/**
 * The UMA part of the development authorization server: the protection API (UMA 2.0 Federated
 * Authorization §2–§5) and the UMA grant (UMA 2.0 Grant §2–§3) around a real oidc-provider, which issues the
 * PATs, the RPTs and every other token, and introspects them. Profiles: `uma2` (the spec), `keycloak`
 * (Keycloak Authorization Services) and `uma1` (UMA 1.0.x, the UMA 1.0 resource set registration draft).
 *
 * Wired in by `dev-authorization-server.ts`: {@link prepareUma} contributes provider configuration before the
 * provider exists, {@link UmaSetup.attach} registers the grant and returns the HTTP front handler and the
 * test controls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AAT_SCOPE,
  bearerToken,
  checkPat,
  PAT_SCOPE,
  sendError,
  sendJson,
  UMA_TICKET_GRANT,
  type OidcToken,
  type UmaProvider,
} from './uma-http.js';
import { handleUma1RptEndpoint, umaTicketGrant } from './uma-grant.js';
import { handlePermission, handleRegistration } from './uma-protection-api.js';
import { representation } from './uma-resources.js';
import { count, type UmaState } from './uma-state.js';
import { TicketStore, type TicketSigner } from './uma-tickets.js';
import type { DevUmaControls, DevUmaOptions, UmaProfileName } from './uma-types.js';
import { basicAuthorization } from '../http/basic-credentials.js';

/** Where each profile puts its endpoints (paths under the issuer). */
const PATHS: Record<UmaProfileName, { discovery: string; registration: string; collection: string; permission: string; rpt?: string }> = {
  // Any path will do for UMA 2.0 (FedAuthz §3.2 "rreguri"); these mirror the spec's examples.
  uma2: { discovery: '/.well-known/uma2-configuration', registration: '/uma/rreg', collection: '/uma/rreg', permission: '/uma/perm' },
  // Keycloak: {realm}/authz/protection/resource_set and /permission (Keycloak Authorization Services).
  keycloak: {
    discovery: '/.well-known/uma2-configuration',
    registration: '/authz/protection/resource_set',
    collection: '/authz/protection/resource_set',
    permission: '/authz/protection/permission',
  },
  // UMA 1.0: operations at {resource_set_registration_endpoint}/resource_set (OAuth Resource Set Registration draft, UMA 1.0).
  uma1: {
    discovery: '/.well-known/uma-configuration',
    registration: '/uma1/rsrc',
    collection: '/uma1/rsrc/resource_set',
    permission: '/uma1/perm',
    rpt: '/uma1/rpt',
  },
};
const POLICY_PATH = '/uma/policy';
const INTROSPECTION_PATH = '/token/introspection';
/** Marks the AS's own request for its OpenID configuration (not counted). */
export const INTERNAL_REQUEST_HEADER = 'x-dev-as-internal';

/** A confidential client of the dev AS. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** What the dev AS gives the UMA part. */
export interface UmaDependencies {
  /** Resource-server clients: they may hold `uma_protection` (their PATs may also authorize introspection). */
  resourceServers: ClientCredentials[];
  /** The requesting party's client (redeems tickets). */
  umaClient: ClientCredentials;
  /** Signs a JWT with the AS key (Keycloak tickets). */
  sign: TicketSigner;
}

/** The UMA part before and after the provider exists. */
export interface UmaSetup {
  readonly profile: UmaProfileName;
  /** Scopes to add to oidc-provider's `scopes`. */
  readonly scopes: string[];
  /** Static client metadata of the UMA client. */
  readonly client: Record<string, unknown>;
  /** The `scope` client metadata (allowed static scopes) of a static client. */
  clientScope(clientId: string): string;
  /** oidc-provider's `extraTokenClaims` (RPT permissions). */
  extraTokenClaims(ctx: unknown, token: object): Promise<Record<string, unknown> | undefined>;
  /** Register the grant, start listening for PATs, read the OpenID configuration. */
  attach(provider: UmaProvider, issuer: string): Promise<AttachedUma>;
}

/** The UMA part once attached. */
export interface AttachedUma {
  /** Serve a request if it is UMA's; resolves `true` when answered (otherwise oidc-provider answers it). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  controls: DevUmaControls;
}

/** Prepare the UMA part of a dev AS. */
export function prepareUma(option: true | DevUmaOptions, deps: UmaDependencies): UmaSetup {
  const options = option === true ? {} : option;
  const profile = options.profile ?? 'uma2';
  const pendingExtra = new WeakMap<object, Record<string, unknown>>();
  const rsIds = new Set(deps.resourceServers.map((c) => c.clientId));
  return {
    profile,
    scopes: profile === 'uma1' ? [PAT_SCOPE, AAT_SCOPE] : [PAT_SCOPE],
    client: {
      client_id: deps.umaClient.clientId,
      client_secret: deps.umaClient.clientSecret,
      grant_types: profile === 'uma1' ? ['client_credentials'] : ['client_credentials', UMA_TICKET_GRANT],
      redirect_uris: [],
      response_types: [],
    },
    clientScope: (id) =>
      rsIds.has(id)
        ? `openid offline_access ${PAT_SCOPE}`
        : id === deps.umaClient.clientId && profile === 'uma1'
          ? `openid offline_access ${AAT_SCOPE}`
          : 'openid offline_access',
    extraTokenClaims: async (_ctx, token) => pendingExtra.get(token),
    attach: (provider, issuer) => attach(provider, issuer, profile, options, deps, pendingExtra),
  };
}

async function attach(
  provider: UmaProvider,
  issuer: string,
  profile: UmaProfileName,
  options: DevUmaOptions,
  deps: UmaDependencies,
  pendingExtra: WeakMap<object, Record<string, unknown>>,
): Promise<AttachedUma> {
  const paths = PATHS[profile];
  const revoked = new Set<string>();
  const pats = new Set<string>();
  const state: UmaState = {
    profile,
    issuer,
    provider,
    registry: new Map(),
    tickets: new TicketStore(profile, options.ticketTtlSeconds ?? 300, issuer, deps.sign),
    pat: { provider, profile, resourceServers: new Set(deps.resourceServers.map((c) => c.clientId)), revoked },
    pendingExtra,
    requests: { discovery: {}, resourceRegistration: {}, list: {}, permission: {}, introspection: {}, rpt: {} },
    registrationUrl: `${issuer}${paths.collection}`,
    policyUrl: `${issuer}${POLICY_PATH}`,
    policy: undefined,
    permissionTtlSeconds: undefined,
    rptTtlSeconds: options.rptTtlSeconds ?? 3600,
    down: false,
  };
  if (profile !== 'uma1')
    provider.registerGrantType(UMA_TICKET_GRANT, umaTicketGrant(state), [
      'ticket',
      'claim_token',
      'claim_token_format',
      'pct',
      'rpt',
      'scope',
    ]);
  const notePat = (token: OidcToken) => {
    if (token.scopes.has(PAT_SCOPE)) pats.add(token.jti);
  };
  provider.on('client_credentials.saved', notePat);
  provider.on('access_token.saved', notePat);

  const openid = await fetch(`${issuer}/.well-known/openid-configuration`, { headers: { [INTERNAL_REQUEST_HEADER]: '1' } });
  const metadata = discoveryDocument(profile, issuer, (await openid.json()) as Record<string, unknown>);
  const secrets = new Map(deps.resourceServers.map((c) => [c.clientId, c.clientSecret]));
  const downAnswer = (res: ServerResponse): true => {
    sendError(res, 503, 'temporarily_unavailable', 'the protection API is down (as.uma.down)', { 'retry-after': '1' });
    return true;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', issuer);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === paths.discovery) {
      count(state, 'discovery', method);
      if (method !== 'GET' && method !== 'HEAD') sendError(res, 405, 'unsupported_method_type', undefined, { allow: 'GET, HEAD' });
      else sendJson(res, 200, metadata);
      return true;
    }
    if (path === paths.collection || path.startsWith(`${paths.collection}/`)) {
      count(state, 'resourceRegistration', method);
      if (state.down) return downAnswer(res);
      const pat = await checkPat(req, res, state.pat);
      if (pat) await handleRegistration(req, res, state, pat, path.slice(paths.collection.length), url.searchParams);
      return true;
    }
    if (path === paths.permission) {
      count(state, 'permission', method);
      if (state.down) return downAnswer(res);
      // Keycloak's permission endpoint wants a resource server's token, not the uma_protection role.
      const pat = await checkPat(req, res, state.pat, profile !== 'keycloak');
      if (pat) await handlePermission(req, res, state, pat);
      return true;
    }
    if (path === INTROSPECTION_PATH) {
      count(state, 'introspection', method);
      if (state.down) return downAnswer(res);
      // FedAuthz §5.1: the RS may authorize introspection with its PAT. oidc-provider only knows client
      // authentication, so a valid PAT is swapped for its client's credentials; client auth passes through.
      if (bearerToken(req) !== undefined) {
        const pat = await checkPat(req, res, { ...state.pat, profile: 'uma2' });
        if (!pat) return true;
        const secret = secrets.get(pat.clientId);
        if (secret === undefined) {
          sendError(res, 401, 'invalid_token', 'this PAT cannot introspect', { 'www-authenticate': 'Bearer error="invalid_token"' });
          return true;
        }
        req.headers.authorization = basicAuthorization(pat.clientId, secret);
      }
      return false;
    }
    if (paths.rpt && path === paths.rpt) {
      await handleUma1RptEndpoint(req, res, state);
      return true;
    }
    if (profile !== 'keycloak' && path.startsWith(`${POLICY_PATH}/`) && method === 'GET') {
      // The user_access_policy_uri of FedAuthz §3.2: in this AS, policy is set by the test (as.uma.policy).
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Access policy of this resource is set by the test through as.uma.policy.\n');
      return true;
    }
    return false;
  }

  const tokenEndpoint = String(metadata.token_endpoint);
  const basic = (c: ClientCredentials) => basicAuthorization(c.clientId, c.clientSecret);
  const tokenRequest = async (c: ClientCredentials, params: Record<string, string>) => {
    const res = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    const json = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
    if (!res.ok || !json.access_token)
      throw new Error(`${json.error ?? res.status}${json.error_description ? `: ${json.error_description}` : ''}`);
    return json.access_token;
  };
  const rsClient = deps.resourceServers[0]!;

  const controls: DevUmaControls = {
    profile,
    configurationUrl: `${issuer}${paths.discovery}`,
    resourceRegistrationEndpoint: `${issuer}${paths.registration}`,
    permissionEndpoint: `${issuer}${paths.permission}`,
    rptEndpoint: paths.rpt ? `${issuer}${paths.rpt}` : undefined,
    client: { ...deps.umaClient },
    resources: () => [...state.registry.values()].map(representation),
    requests: state.requests,
    get patsIssued() {
      return pats.size;
    },
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
    },
    get policy() {
      return state.policy;
    },
    set policy(p) {
      state.policy = p;
    },
    get permissionTtlSeconds() {
      return state.permissionTtlSeconds;
    },
    set permissionTtlSeconds(v) {
      state.permissionTtlSeconds = v;
    },
    get rptTtlSeconds() {
      return state.rptTtlSeconds;
    },
    set rptTtlSeconds(v: number) {
      state.rptTtlSeconds = v;
    },
    get ticketTtlSeconds() {
      return state.tickets.ttlSeconds;
    },
    set ticketTtlSeconds(v: number) {
      state.tickets.ttlSeconds = v;
    },
    async invalidatePats() {
      const all = [...pats];
      for (const value of all) revoked.add(value);
      // Revoked at the AS too: introspection of the old PAT says inactive.
      for (const value of all) await (await provider.ClientCredentials.find(value))?.destroy();
    },
    expireTickets: () => state.tickets.expireAll(),
    forgetResources: () => state.registry.clear(),
    obtainPat: () => tokenRequest(rsClient, { grant_type: 'client_credentials', scope: PAT_SCOPE }),
    async obtainRpt(ticket, opts = {}) {
      if (profile !== 'uma1') {
        return tokenRequest(deps.umaClient, {
          grant_type: UMA_TICKET_GRANT,
          ticket,
          ...(opts.scope ? { scope: opts.scope } : {}),
          ...(opts.rpt ? { rpt: opts.rpt } : {}),
        });
      }
      const aat = await tokenRequest(deps.umaClient, { grant_type: 'client_credentials', scope: AAT_SCOPE });
      const res = await fetch(`${issuer}${paths.rpt}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${aat}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ticket, ...(opts.rpt ? { rpt: opts.rpt } : {}) }),
      });
      const json = (await res.json()) as { rpt?: string; error?: string };
      if (!res.ok || !json.rpt) throw new Error(`${json.error ?? res.status}`);
      return json.rpt;
    },
  };
  return { handle, controls };
}

/**
 * The discovery document.
 * - UMA 2.0 (Grant §2, FedAuthz §2): the RFC 8414 metadata (oidc-provider's, which lists the `uma-ticket` grant
 *   in `grant_types_supported` and the `introspection_endpoint`) plus `resource_registration_endpoint` and
 *   `permission_endpoint`. Keycloak's is the same with its own endpoint paths.
 * - UMA 1.0 (OAuth Resource Set Registration draft, UMA 1.0): `/.well-known/uma-configuration` with the 1.0 member names.
 */
function discoveryDocument(profile: UmaProfileName, issuer: string, openid: Record<string, unknown>): Record<string, unknown> {
  const paths = PATHS[profile];
  if (profile !== 'uma1') {
    return {
      ...openid,
      resource_registration_endpoint: `${issuer}${paths.registration}`,
      permission_endpoint: `${issuer}${paths.permission}`,
    };
  }
  return {
    version: '1.0',
    issuer,
    pat_profiles_supported: ['bearer'],
    aat_profiles_supported: ['bearer'],
    rpt_profiles_supported: ['bearer'],
    pat_grant_types_supported: ['client_credentials'],
    aat_grant_types_supported: ['client_credentials'],
    claim_token_profiles_supported: [],
    uma_profiles_supported: [],
    token_endpoint: openid.token_endpoint,
    authorization_endpoint: openid.authorization_endpoint,
    introspection_endpoint: openid.introspection_endpoint,
    resource_set_registration_endpoint: `${issuer}${paths.registration}`,
    permission_registration_endpoint: `${issuer}${paths.permission}`,
    rpt_endpoint: `${issuer}${paths.rpt}`,
  };
}
