/**
 * Plumbing of the development UMA authorization server: the part of oidc-provider it uses (typed here,
 * since oidc-provider ships no types), JSON bodies and answers, and the PAT check of the protection API
 * (FedAuthz §1.3: the PAT is an RFC 6750 bearer token whose scope includes `uma_protection`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UmaProfileName } from './uma-types.js';

/** An oidc-provider client (what the UMA code reads of it). */
export interface OidcClient {
  clientId: string;
}

/** An oidc-provider token model instance (AccessToken, ClientCredentials). */
export interface OidcToken {
  jti: string;
  clientId: string;
  accountId?: string;
  scope?: string;
  exp: number;
  iat: number;
  gty?: string;
  extra?: Record<string, unknown>;
  readonly isValid: boolean;
  readonly scopes: Set<string>;
  save(): Promise<string>;
  destroy(): Promise<void>;
}

/** An oidc-provider token model (class). */
export interface OidcTokenModel {
  new (init: { client: OidcClient; expiresIn?: number; gty?: string; accountId?: string }): OidcToken;
  find(value: string, options?: { ignoreExpiration?: boolean }): Promise<OidcToken | undefined>;
}

/** The oidc-provider Koa context, as a grant handler sees it. */
export interface OidcGrantContext {
  oidc: { params: Record<string, string | undefined>; client: OidcClient };
  status: number;
  body: unknown;
}

/** The oidc-provider instance, as the UMA code uses it. */
export interface UmaProvider {
  AccessToken: OidcTokenModel;
  ClientCredentials: OidcTokenModel;
  Client: { find(id: string): Promise<OidcClient | undefined> };
  registerGrantType(name: string, handler: (ctx: OidcGrantContext) => Promise<void>, params?: string[]): void;
  on(event: string, listener: (token: OidcToken) => void): void;
}

/** The `uma-ticket` grant type (Grant §3.3.1). */
export const UMA_TICKET_GRANT = 'urn:ietf:params:oauth:grant-type:uma-ticket';
/** The PAT scope (FedAuthz §1.3). */
export const PAT_SCOPE = 'uma_protection';
/** The UMA 1.0 AAT scope (OAuth Resource Set Registration draft, UMA 1.0). */
export const AAT_SCOPE = 'uma_authorization';

/** Read a request body (at most 256 KiB). */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > 262_144) throw new Error('request body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON body, or `undefined` when it is not JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  try {
    const text = await readBody(req);
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/** Answer with JSON (errors and protection-API bodies are never cached: FedAuthz §6 examples). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Answer without a body. */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'cache-control': 'no-store', ...headers });
  res.end();
}

/** A FedAuthz §6 error body: `error`, optional `error_description`. */
export function sendError(
  res: ServerResponse,
  status: number,
  error: string,
  description?: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, description === undefined ? { error } : { error, error_description: description }, headers);
}

/** The bearer token of a request (RFC 6750 §2.1, scheme case-insensitive), `undefined` if none. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** What the PAT check needs. */
export interface PatCheckSettings {
  provider: UmaProvider;
  profile: UmaProfileName;
  /** Client ids of resource servers (the clients that may hold `uma_protection`). */
  resourceServers: ReadonlySet<string>;
  /** PATs made invalid by `invalidatePats()`. */
  revoked: ReadonlySet<string>;
}

/** A valid PAT's facts: who the resource server is, and on whose (resource owner's) behalf. */
export interface PatInfo {
  clientId: string;
  /** The resource owner the PAT represents (FedAuthz §1.3): the end user, or the resource server itself. */
  owner: string;
}

/** Find an unexpired oidc-provider token (client-credentials or user access token) by value. */
export async function findAccessToken(provider: UmaProvider, value: string): Promise<OidcToken | undefined> {
  const token = (await provider.ClientCredentials.find(value)) ?? (await provider.AccessToken.find(value));
  return token?.isValid ? token : undefined;
}

/**
 * Check the PAT of a protection-API request (FedAuthz §1.3; RFC 6750 §3.1 answers). Returns its facts, or
 * answers the request and returns `undefined`.
 * - no token: 401 `Bearer` challenge without an error code (RFC 6750 §3.1);
 * - unknown, expired or revoked token: 401 `error="invalid_token"`;
 * - no `uma_protection` scope: 403 `insufficient_scope` (Keycloak: 403 `invalid_scope`, "Requires
 *   uma_protection scope.", Keycloak Authorization Services). Keycloak's permission endpoint only wants a token
 *   of a resource-server client (`requireScope: false`).
 */
export async function checkPat(
  req: IncomingMessage,
  res: ServerResponse,
  settings: PatCheckSettings,
  requireScope = true,
): Promise<PatInfo | undefined> {
  const value = bearerToken(req);
  if (!value) {
    sendEmpty(res, 401, { 'www-authenticate': 'Bearer realm="uma_protection"' });
    return undefined;
  }
  const token = settings.revoked.has(value) ? undefined : await findAccessToken(settings.provider, value);
  if (!token) {
    sendError(res, 401, 'invalid_token', 'the PAT is unknown, expired or revoked', {
      'www-authenticate': 'Bearer realm="uma_protection", error="invalid_token"',
    });
    return undefined;
  }
  if (settings.profile === 'keycloak' && !settings.resourceServers.has(token.clientId)) {
    sendError(res, 403, 'invalid_clientId', `Client application [${token.clientId}] is not registered as a resource server.`);
    return undefined;
  }
  if (requireScope && !token.scopes.has(PAT_SCOPE)) {
    if (settings.profile === 'keycloak') sendError(res, 403, 'invalid_scope', 'Requires uma_protection scope.');
    else
      sendError(res, 403, 'insufficient_scope', 'the token lacks the uma_protection scope', {
        'www-authenticate': `Bearer realm="uma_protection", error="insufficient_scope", scope="${PAT_SCOPE}"`,
      });
    return undefined;
  }
  return { clientId: token.clientId, owner: token.accountId ?? token.clientId };
}

/** Whether a value is an array of strings. */
export function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Whether a value is a plain JSON object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
