/**
 * examples/mcp-server as written (an MCP server on the official SDK, protected by the kit), driven by the
 * official SDK's own client (`Client` + `StreamableHTTPClientTransport` with its OAuth providers) against the
 * development AS (oidc-provider: resource indicators, open dynamic registration). Nobody here wrote that
 * client: what it discovers, requests and presents is the proof that the kit's answers are the ones the MCP
 * authorization spec describes. Every HTTP exchange of the client goes through a recording fetch.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Express } from 'express';
import { decodeJwt } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
  UnauthorizedError,
  type OAuthClientProvider,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { parseChallenges } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';

const OTHER_MCP_SERVER = 'https://other-mcp.example.com/mcp';
const exampleDir = new URL('../../examples/mcp-server/', import.meta.url);

let as: DevAuthorizationServer;
let http: Server;
/** The MCP endpoint's canonical URI: the resource the tokens are for. */
let url: string;
let metadataUrl: string;

beforeAll(async () => {
  // The canonical URI has the port in it, and the AS must know the resource before it starts: listen first.
  http = createServer();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  url = `${origin}/mcp`;
  metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
  as = await startDevAuthorizationServer({
    resources: [
      { identifier: url, scopes: ['mcp:tools', 'notes:admin'] },
      { identifier: OTHER_MCP_SERVER, scopes: ['mcp:tools', 'notes:admin'] },
    ],
    registration: { open: true },
  });
  // The example as written; under jest its `oauth-resource-server` import is the sources (jest.config.js).
  const { createMcpApp } = (await import(new URL('app.mjs', exampleDir).href)) as {
    createMcpApp: (config: { issuer: string; url: string }) => Express;
  };
  http.on('request', createMcpApp({ issuer: as.issuer, url }));
});

afterAll(async () => {
  http?.closeAllConnections();
  await new Promise((resolve) => http?.close(resolve));
  await as?.close();
});

interface Exchange {
  method: string;
  url: string;
  status: number;
  /** The request's Authorization header, when it had one. */
  authorization: string | undefined;
  /** The request body as text (JSON-RPC, a form, a registration). */
  body: string;
  challenge: string | null;
}

/** A fetch for the SDK client that records every exchange (the SDK's discovery and token calls included). */
function recorder() {
  const exchanges: Exchange[] = [];
  const record: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const headers = new Headers(init?.headers);
    const body = init?.body;
    exchanges.push({
      method: init?.method ?? 'GET',
      url: String(input instanceof Request ? input.url : input),
      status: res.status,
      authorization: headers.get('authorization') ?? undefined,
      body: typeof body === 'string' ? body : body instanceof URLSearchParams ? body.toString() : '',
      challenge: res.headers.get('www-authenticate'),
    });
    return res;
  };
  return { exchanges, fetch: record };
}

/** The MCP exchanges (to the MCP endpoint), by JSON-RPC method. */
const mcpCalls = (exchanges: Exchange[]) => exchanges.filter((e) => e.url === url);
const rpcMethod = (e: Exchange) => (e.body ? (JSON.parse(e.body) as { method?: string }).method : undefined);
const tokenRequests = (exchanges: Exchange[]) =>
  exchanges.filter((e) => e.url === `${as.issuer}/token`).map((e) => new URLSearchParams(e.body));
const challengeParams = (challenge: string | null) => Object.fromEntries(parseChallenges(challenge ?? '')[0]!.params);

function connect(provider: OAuthClientProvider) {
  const rec = recorder();
  const client = new Client({ name: 'kit-test-agent', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: rec.fetch });
  return { client, transport, exchanges: rec.exchanges, connected: () => client.connect(transport) };
}

function clientCredentials(scope: string) {
  const { clientId, clientSecret } = as.resourceServerClient;
  return new ClientCredentialsProvider({ clientId, clientSecret, expectedIssuer: as.issuer, scope });
}

const textOf = (result: unknown) => JSON.parse((result as { content: Array<{ text: string }> }).content[0]!.text) as unknown;

/** A raw MCP POST, for what the SDK client never sends. */
function post(target: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
}
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

describe('the MCP authorization flow, with the SDK client', () => {
  it('Protected Resource Metadata Discovery: the 401 names the metadata, which names this server and its AS; the SDK reads it', async () => {
    const unauthenticated = await post(url, INITIALIZE);
    expect(unauthenticated.status).toBe(401);
    // RFC 6750 §3: no token, no error code; RFC 9728 §5.1: where the metadata is; the scope to ask for.
    const challenge = unauthenticated.headers.get('www-authenticate');
    expect(challenge).toBe(`Bearer resource_metadata="${metadataUrl}", scope="mcp:tools"`);
    expect(extractWWWAuthenticateParams(new Response(null, { headers: { 'www-authenticate': challenge! } }))).toEqual({
      resourceMetadataUrl: new URL(metadataUrl),
      scope: 'mcp:tools',
    });

    // The path-aware well-known URL of the canonical URI (RFC 9728 §3.1), read by the SDK's own parser.
    const metadata = await discoverOAuthProtectedResourceMetadata(url);
    expect(metadata).toEqual({
      resource: url,
      authorization_servers: [as.issuer],
      // Only what basic use needs: notes:admin is asked for by step-up (MCP "Scope Selection Strategy").
      scopes_supported: ['mcp:tools'],
      bearer_methods_supported: ['header'],
      resource_name: 'Notes MCP server',
    });
  });

  it('client credentials (ClientCredentialsProvider): 401 → metadata → AS metadata → a token for this server → tools listed and called', async () => {
    const { client, exchanges, connected } = connect(clientCredentials('mcp:tools'));
    await connected();
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['clear_notes', 'list_notes', 'whoami']);
    const me = await client.callTool({ name: 'whoami' });
    await client.close();

    const clientId = as.resourceServerClient.clientId;
    expect(textOf(me)).toEqual({ subject: clientId, client: clientId, scopes: ['mcp:tools'] });
    // What the SDK did, in order: the kit's 401, the metadata it named, the AS's metadata, the token request.
    expect(exchanges.slice(0, 5).map((e) => `${e.method} ${e.url} ${e.status}`)).toEqual([
      `POST ${url} 401`,
      `GET ${metadataUrl} 200`,
      `GET ${as.issuer}/.well-known/oauth-authorization-server 200`,
      `POST ${as.issuer}/token 200`,
      `POST ${url} 200`,
    ]);
    // MCP "Resource Parameter Implementation": the canonical URI as `resource` (RFC 8707), from the metadata.
    const [tokenRequest] = tokenRequests(exchanges);
    expect(Object.fromEntries(tokenRequest!)).toEqual({ grant_type: 'client_credentials', scope: 'mcp:tools', resource: url });
    // MCP "Access Token Usage": the token in the Authorization header of every request after it.
    const after = mcpCalls(exchanges).slice(1);
    expect(after.map(rpcMethod)).toEqual(expect.arrayContaining(['initialize', 'tools/list', 'tools/call']));
    for (const e of after) expect(e.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(after.every((e) => e.status < 300 || (e.method === 'GET' && e.status === 405))).toBe(true);
  });

  it('the token the SDK got is bound to this server: aud is the canonical URI (RFC 8707 §2, MCP "Token Handling")', async () => {
    const provider = clientCredentials('mcp:tools');
    const { client, connected } = connect(provider);
    await connected();
    await client.close();
    const claims = decodeJwt((await provider.tokens())!.access_token);
    expect(claims.aud).toBe(url);
    expect(claims.scope).toBe('mcp:tools');
  });

  it('dynamic client registration (RFC 7591): the SDK registers itself with the scope of the 401, then gets its token', async () => {
    const provider = new RegisteringAgent();
    const { client, exchanges, connected } = connect(provider);
    await connected();
    const me = textOf(await client.callTool({ name: 'whoami' })) as { client: string; scopes: string[] };
    await client.close();

    const registration = exchanges.find((e) => e.url === `${as.issuer}/reg`)!;
    expect(registration).toMatchObject({ method: 'POST', status: 201, authorization: undefined });
    // MCP "Scope Selection Strategy": the scope of the 401.
    expect(JSON.parse(registration.body)).toMatchObject({ grant_types: ['client_credentials'], scope: 'mcp:tools' });
    const registered = provider.registered!;
    expect(me).toEqual({ subject: registered.client_id, client: registered.client_id, scopes: ['mcp:tools'] });
    const tokenRequest = exchanges.find((e) => e.url === `${as.issuer}/token`)!;
    expect(tokenRequest.authorization).toBe(`Basic ${btoa(`${registered.client_id}:${registered.client_secret}`)}`);
    expect(new URLSearchParams(tokenRequest.body).get('resource')).toBe(url);
  });

  it('a token minted for another MCP server is refused (401 invalid_token), and the SDK then gets one for this server', async () => {
    const provider = clientCredentials('mcp:tools');
    const elsewhere = await as.mintAccessToken({ resource: OTHER_MCP_SERVER, scope: 'mcp:tools notes:admin' });
    provider.saveTokens({ access_token: elsewhere, token_type: 'Bearer' });
    const { client, exchanges, connected } = connect(provider);
    await connected();
    await client.listTools();
    await client.close();

    const [refused] = mcpCalls(exchanges);
    expect(refused).toMatchObject({ status: 401, authorization: `Bearer ${elsewhere}` });
    expect(challengeParams(refused!.challenge)).toMatchObject({ error: 'invalid_token', resource_metadata: metadataUrl });
    expect(tokenRequests(exchanges).map((p) => p.get('resource'))).toEqual([url]);
    expect(
      mcpCalls(exchanges)
        .slice(1)
        .every((e) => e.authorization !== `Bearer ${elsewhere}`),
    ).toBe(true);

    // The same token on its own (MCP "Token Handling": only tokens valid for this server's resources).
    const raw = await post(url, INITIALIZE, { authorization: `Bearer ${elsewhere}` });
    expect(raw.status).toBe(401);
    expect(await raw.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('a token in the query string is refused (MCP "Token Requirements": never in the URI)', async () => {
    const token = await as.mintAccessToken({ resource: url, scope: 'mcp:tools' });
    const alone = await post(`${url}?access_token=${token}`, INITIALIZE);
    // Not read at all: the request has no token (RFC 6750 §3, no error code).
    expect(alone.status).toBe(401);
    expect(alone.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}", scope="mcp:tools"`);
    const both = await post(`${url}?access_token=${token}`, INITIALIZE, { authorization: `Bearer ${token}` });
    expect(both.status).toBe(400);
    expect(challengeParams(both.headers.get('www-authenticate'))).toMatchObject({ error: 'invalid_request' });
    // The header alone is accepted: the refusals above are about the query.
    expect((await post(url, INITIALIZE, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('a body that is not JSON, with a valid token: a JSON-RPC parse error, never an error page', async () => {
    const token = await as.mintAccessToken({ resource: url, scope: 'mcp:tools' });
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc":',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
  });

  it('a tool that needs a scope the token lacks: 403 insufficient_scope naming the scopes; the SDK re-authorizes once and stops', async () => {
    const { client, exchanges, connected } = connect(clientCredentials('mcp:tools'));
    await connected();
    const before = exchanges.length;
    const error = await client.callTool({ name: 'clear_notes' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const notes = textOf(await client.callTool({ name: 'list_notes' }));
    await client.close();

    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(403);
    expect(notes).toEqual(['buy tea']); // the tool never ran
    const stepUp = exchanges.slice(before);
    const refusals = stepUp.filter((e) => e.url === url && e.status === 403);
    expect(refusals).toHaveLength(2);
    // MCP "Runtime Insufficient Scope Errors": the scopes the call needs, the metadata URL, as the SDK reads them.
    expect(challengeParams(refusals[0]!.challenge)).toMatchObject({
      error: 'insufficient_scope',
      scope: 'mcp:tools notes:admin',
      resource_metadata: metadataUrl,
    });
    const read = extractWWWAuthenticateParams(new Response(null, { headers: { 'www-authenticate': refusals[0]!.challenge! } }));
    expect(read).toEqual({ error: 'insufficient_scope', scope: 'mcp:tools notes:admin', resourceMetadataUrl: new URL(metadataUrl) });
    // SDK 1.32.2's step-up for client credentials: one new token request, with the provider's own scope (its
    // token request never takes the challenged one), then the same 403 ends it (its retry limit).
    expect(tokenRequests(stepUp).map((p) => Object.fromEntries(p))).toEqual([
      { grant_type: 'client_credentials', scope: 'mcp:tools', resource: url },
    ]);
  });

  it("the SDK's interactive step-up asks the AS for exactly the challenged scopes, for this server (authorization code + PKCE)", async () => {
    const provider = new InteractiveAgent(await as.mintAccessToken({ resource: url, scope: 'mcp:tools' }));
    const { client, connected } = connect(provider);
    await connected();
    expect(textOf(await client.callTool({ name: 'list_notes' }))).toEqual(['buy tea']);
    await expect(client.callTool({ name: 'clear_notes' })).rejects.toBeInstanceOf(UnauthorizedError);
    await client.close();

    // The browser would be sent here: the AS's authorization endpoint, from its metadata.
    const authorization = provider.sentTo!;
    expect(`${authorization.origin}${authorization.pathname}`).toBe(`${as.issuer}/auth`);
    const q = Object.fromEntries(authorization.searchParams);
    expect(q).toMatchObject({
      response_type: 'code',
      client_id: 'interactive-agent',
      scope: 'mcp:tools notes:admin',
      resource: url,
      code_challenge_method: 'S256',
    });
  });

  it('with the scope, the tool runs (200)', async () => {
    const { client, exchanges, connected } = connect(clientCredentials('mcp:tools notes:admin'));
    await connected();
    expect(textOf(await client.callTool({ name: 'clear_notes' }))).toEqual([]);
    await client.close();
    expect(
      mcpCalls(exchanges)
        .filter((e) => rpcMethod(e) === 'tools/call')
        .map((e) => e.status),
    ).toEqual([200]);
  });
});

describe('the README', () => {
  it("shows the example's code as written", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## MCP servers'));
    const block = /```js\n([\s\S]*?)```/.exec(section)![1]!;
    const app = readFileSync(new URL('app.mjs', exampleDir), 'utf8');
    const lines = (text: string) =>
      text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && l !== '// …');
    const code = lines(app);
    // Every line of the README's block, in order, is a line of the example.
    let at = 0;
    for (const line of lines(block)) {
      const found = code.indexOf(line, at);
      expect({ line, found: found >= 0 }).toEqual({ line, found: true });
      at = found + 1;
    }
  });
});

/**
 * A machine client that registers itself (RFC 7591) and then uses client credentials: the SDK's `auth()`
 * registers it when it has no client information, with the scope the spec's strategy chose.
 */
class RegisteringAgent implements OAuthClientProvider {
  registered: (OAuthClientInformationMixed & { client_secret?: string; scope?: string }) | undefined;
  #tokens: OAuthTokens | undefined;
  get redirectUrl(): undefined {
    return undefined;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'kit-test-agent',
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  }
  clientInformation() {
    return this.registered;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.registered = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
  }
  // The scopes it was registered with (RFC 7591 §2).
  prepareTokenRequest() {
    const params = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.registered?.scope) params.set('scope', this.registered.scope);
    return params;
  }
  redirectToAuthorization(): never {
    throw new Error('not an interactive client');
  }
  saveCodeVerifier() {}
  codeVerifier(): never {
    throw new Error('not an interactive client');
  }
}

/** A client acting for a user, already holding a token: the SDK sends its browser to the AS for more. */
class InteractiveAgent implements OAuthClientProvider {
  sentTo: URL | undefined;
  #verifier = '';
  constructor(private readonly accessToken: string) {}
  get redirectUrl() {
    return 'http://127.0.0.1/callback';
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'interactive-agent', redirect_uris: ['http://127.0.0.1/callback'] };
  }
  clientInformation() {
    return { client_id: 'interactive-agent' };
  }
  tokens(): OAuthTokens {
    return { access_token: this.accessToken, token_type: 'Bearer' };
  }
  saveTokens() {}
  redirectToAuthorization(authorizationUrl: URL) {
    this.sentTo = authorizationUrl;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
}
