/**
 * RPT issuance of the development UMA AS: the `uma-ticket` grant at oidc-provider's token endpoint (UMA 2.0
 * Grant §3.3.1–3.3.6) and, for the `uma1` profile, the UMA 1.0 RPT endpoint (OAuth Resource Set Registration draft, UMA 1.0). The RPT is an
 * oidc-provider (opaque) access token whose permissions ride in its `extra` claims, so oidc-provider's own
 * introspection answers with `permissions` and, the token having no scope, without `scope` (FedAuthz §5.1.1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AAT_SCOPE,
  bearerToken,
  findAccessToken,
  isObject,
  readJson,
  sendEmpty,
  sendError,
  sendJson,
  UMA_TICKET_GRANT,
  type OidcClient,
  type OidcGrantContext,
} from './uma-http.js';
import { count, type UmaState } from './uma-state.js';
import type { UmaPermission, UmaPolicyDecision } from './uma-types.js';

/** A request for an RPT, whichever endpoint it came through. */
interface RptRequest {
  client: OidcClient;
  ticket: string;
  scope?: string;
  rpt?: string;
  claimToken?: string;
  claimTokenFormat?: string;
}

/** The outcome: an RPT, or an error status and body. */
type RptOutcome = { rpt: string; expiresIn: number; upgraded: boolean } | { status: number; body: Record<string, unknown> };

/** The `uma-ticket` grant handler (Grant §3.3.1), registered with `provider.registerGrantType`. */
export function umaTicketGrant(state: UmaState): (ctx: OidcGrantContext) => Promise<void> {
  return async (ctx) => {
    count(state, 'rpt', 'POST');
    const params = ctx.oidc.params;
    const answer = (status: number, body: Record<string, unknown>) => {
      ctx.status = status;
      ctx.body = body;
    };
    if (!params.ticket) return answer(400, { error: 'invalid_request', error_description: "missing required parameter 'ticket'" });
    // §3.3.1: claim_token and claim_token_format appear together or not at all.
    if ((params.claim_token === undefined) !== (params.claim_token_format === undefined)) {
      return answer(400, { error: 'invalid_request', error_description: 'claim_token and claim_token_format must be sent together' });
    }
    const out = await redeem(state, {
      client: ctx.oidc.client,
      ticket: params.ticket,
      scope: params.scope,
      rpt: params.rpt,
      claimToken: params.claim_token,
      claimTokenFormat: params.claim_token_format,
    });
    if ('status' in out) return answer(out.status, out.body);
    // §3.3.5: an RFC 6749 §5.1 response, `upgraded` when the sent RPT's permissions were carried over, no `scope`.
    answer(200, {
      access_token: out.rpt,
      token_type: 'Bearer',
      expires_in: out.expiresIn,
      ...(params.rpt !== undefined ? { upgraded: out.upgraded } : {}),
    });
  };
}

/**
 * The UMA 1.0 RPT endpoint (OAuth Resource Set Registration draft, UMA 1.0): `POST` with the AAT (scope `uma_authorization`) as a bearer
 * token and a JSON body `{"ticket", "rpt"?, "claim_tokens"?}`; answers 200 `{"rpt"}`, or `invalid_ticket` /
 * `expired_ticket` (400), `not_authorized` / `need_info` / `request_submitted` (403).
 */
export async function handleUma1RptEndpoint(req: IncomingMessage, res: ServerResponse, state: UmaState): Promise<void> {
  count(state, 'rpt', req.method ?? 'GET');
  if (req.method !== 'POST') return sendError(res, 405, 'unsupported_method_type', undefined, { allow: 'POST' });
  const value = bearerToken(req);
  if (!value) return sendEmpty(res, 401, { 'www-authenticate': 'Bearer realm="uma_authorization"' });
  const aat = await findAccessToken(state.provider, value);
  if (!aat)
    return sendError(res, 401, 'invalid_token', 'the AAT is unknown, expired or revoked', {
      'www-authenticate': 'Bearer realm="uma_authorization", error="invalid_token"',
    });
  if (!aat.scopes.has(AAT_SCOPE)) {
    return sendError(res, 403, 'insufficient_scope', 'the token lacks the uma_authorization scope', {
      'www-authenticate': `Bearer realm="uma_authorization", error="insufficient_scope", scope="${AAT_SCOPE}"`,
    });
  }
  const body = await readJson(req);
  if (!isObject(body) || typeof body.ticket !== 'string')
    return sendError(res, 400, 'invalid_request', 'the body must be {"ticket": string}');
  const client = await state.provider.Client.find(aat.clientId);
  if (!client) return sendError(res, 401, 'invalid_token', 'the AAT belongs to no client');
  const pushed = Array.isArray(body.claim_tokens) && isObject(body.claim_tokens[0]) ? body.claim_tokens[0] : undefined;
  const out = await redeem(state, {
    client,
    ticket: body.ticket,
    ...(typeof body.rpt === 'string' ? { rpt: body.rpt } : {}),
    ...(typeof pushed?.token === 'string' && typeof pushed.format === 'string'
      ? { claimToken: pushed.token, claimTokenFormat: pushed.format }
      : {}),
  });
  if ('status' in out) return sendJson(res, out.status, out.body);
  sendJson(res, 200, { rpt: out.rpt });
}

/** Grant §3.3.4–3.3.6: check the ticket, assess, and mint the RPT or say why not. */
async function redeem(state: UmaState, request: RptRequest): Promise<RptOutcome> {
  const uma1 = state.profile === 'uma1';
  const found = state.tickets.peek(request.ticket);
  // §3.3.6 invalid_grant: the ticket was not found, has expired (or was used: single use, §5.5).
  if (found === 'unknown')
    return uma1
      ? error(400, 'invalid_ticket', 'unknown permission ticket')
      : error(400, 'invalid_grant', 'the permission ticket is unknown or was already used');
  if (found === 'expired') {
    state.tickets.take(request.ticket);
    return uma1
      ? error(400, 'expired_ticket', 'the permission ticket has expired')
      : error(400, 'invalid_grant', 'the permission ticket has expired');
  }
  // §3.3.4: RequestedScopes(resource) = TicketScopes(resource) ∪ (RegisteredScopes ∩ RequestedScopes); a
  // requested scope that no resource of the ticket has is invalid_scope (§3.3.6). The dev client counts as
  // pre-registered for every scope.
  const extra = request.scope?.split(' ').filter(Boolean) ?? [];
  const available = (id: string) => state.registry.get(id)?.scopes ?? [];
  const unknown = extra.find((s) => !found.permissions.some((p) => available(p.resource_id).includes(s)));
  if (unknown !== undefined) return error(400, 'invalid_scope', `scope ${unknown} is not available for the resources of the ticket`);
  state.tickets.take(request.ticket);
  const requested = found.permissions.map((p) => ({
    resource_id: p.resource_id,
    resource_scopes: [...new Set([...p.resource_scopes, ...extra.filter((s) => available(p.resource_id).includes(s))])],
  }));

  const decision: UmaPolicyDecision = state.policy
    ? await state.policy(structuredClone(requested), request.client.clientId, {
        ticket: request.ticket,
        profile: state.profile,
        ...(request.claimToken !== undefined ? { claimToken: request.claimToken } : {}),
        ...(request.claimTokenFormat !== undefined ? { claimTokenFormat: request.claimTokenFormat } : {}),
        ...(request.rpt !== undefined ? { rpt: request.rpt } : {}),
      })
    : requested;

  if (decision === 'request_denied') {
    if (state.profile === 'keycloak') return error(403, 'access_denied', 'not_authorized');
    return uma1 ? error(403, 'not_authorized', 'the client is not authorized') : { status: 403, body: { error: 'request_denied' } };
  }
  if (decision === 'request_submitted' || !Array.isArray(decision)) {
    // §3.3.6: need_info and request_submitted MUST carry a new ticket (the old one is used up).
    const ticket = await state.tickets.issue(found);
    if (decision === 'request_submitted') return { status: 403, body: { error: 'request_submitted', ticket } };
    const hints = {
      ...(decision.required_claims ? { required_claims: decision.required_claims } : {}),
      ...(decision.redirect_user ? { redirect_user: decision.redirect_user } : {}),
    };
    return uma1
      ? { status: 403, body: { error: 'need_info', error_details: { requesting_party_claims: { ...hints, ticket } } } }
      : { status: 403, body: { error: 'need_info', ticket, ...hints } };
  }

  const now = Math.floor(Date.now() / 1000);
  let permissions = decision.map((p) => ({
    ...p,
    ...(p.exp === undefined && state.permissionTtlSeconds !== undefined ? { exp: now + state.permissionTtlSeconds } : {}),
  }));
  // §3.3.5.1 upgrade: the sent RPT (which may be expired) of this client lends its permissions and is revoked.
  let upgraded = false;
  if (request.rpt !== undefined) {
    const old = await state.provider.AccessToken.find(request.rpt, { ignoreExpiration: true });
    if (old && old.gty === UMA_TICKET_GRANT && old.clientId === request.client.clientId) {
      permissions = merge(readPermissions(old.extra), permissions);
      await old.destroy();
      upgraded = true;
    }
  }
  const { value, expiresIn } = await mintRpt(state, request.client, permissions);
  return { rpt: value, expiresIn, upgraded };
}

/** Mint an RPT: an oidc-provider AccessToken without scope, its permissions in the profile's wire format. */
async function mintRpt(state: UmaState, client: OidcClient, permissions: UmaPermission[]): Promise<{ value: string; expiresIn: number }> {
  const expiresIn = state.rptTtlSeconds;
  const token = new state.provider.AccessToken({ client, expiresIn, gty: UMA_TICKET_GRANT });
  const exp = Math.floor(Date.now() / 1000) + expiresIn;
  state.pendingExtra.set(token, { permissions: permissions.map((p) => wirePermission(state, p, exp)) });
  return { value: await token.save(), expiresIn };
}

/** One permission as introspection shows it (FedAuthz §5.1.1; Keycloak adds rsid/rsname/scopes; UMA 1.0 names). */
function wirePermission(state: UmaState, p: UmaPermission, tokenExp: number): Record<string, unknown> {
  const times = {
    ...(p.exp !== undefined ? { exp: p.exp } : {}),
    ...(p.iat !== undefined ? { iat: p.iat } : {}),
    ...(p.nbf !== undefined ? { nbf: p.nbf } : {}),
  };
  if (state.profile === 'uma1') return { resource_set_id: p.resource_id, scopes: [...p.resource_scopes], exp: tokenExp, ...times };
  if (state.profile === 'keycloak') {
    const name = state.registry.get(p.resource_id)?.name;
    return {
      rsid: p.resource_id,
      ...(name !== undefined ? { rsname: name } : {}),
      scopes: [...p.resource_scopes],
      resource_id: p.resource_id,
      resource_scopes: [...p.resource_scopes],
      ...times,
    };
  }
  return { resource_id: p.resource_id, resource_scopes: [...p.resource_scopes], ...times };
}

/** Permissions back from an RPT's extra claims (any profile's names). */
function readPermissions(extra: Record<string, unknown> | undefined): UmaPermission[] {
  const list = Array.isArray(extra?.permissions) ? extra.permissions : [];
  return list.filter(isObject).map((p) => {
    const id = p.resource_id ?? p.resource_set_id;
    const scopes = p.resource_scopes ?? p.scopes;
    return {
      resource_id: String(id),
      resource_scopes: Array.isArray(scopes) ? scopes.map(String) : [],
      ...(typeof p.exp === 'number' ? { exp: p.exp } : {}),
    };
  });
}

/** The old RPT's permissions plus the new ones (scopes of the same resource united, the new `exp` kept). */
function merge(old: UmaPermission[], fresh: UmaPermission[]): UmaPermission[] {
  const out = fresh.map((p) => ({ ...p, resource_scopes: [...p.resource_scopes] }));
  for (const o of old) {
    const same = out.find((p) => p.resource_id === o.resource_id);
    if (same) same.resource_scopes = [...new Set([...same.resource_scopes, ...o.resource_scopes])];
    else out.push(o);
  }
  return out;
}

function error(status: number, code: string, description: string): RptOutcome {
  return { status, body: { error: code, error_description: description } };
}
