/**
 * The development AS's dynamic client registration (RFC 7591): gated by an initial access token, or open
 * (`{ open: true }`, as MCP clients expect); the resources' scopes may be registered as a client's `scope`
 * (§2) and bound what that client gets; the pre-configured clients keep every resource scope.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import type { DevAuthorizationServerOptions } from '../../src/testing/index.js';

const MCP = 'https://mcp.example.com/mcp';
const resources = [{ identifier: MCP, scopes: ['mcp:tools', 'notes:admin'] }];
const machine = (scope?: string) => ({
  client_name: 'agent',
  redirect_uris: [],
  response_types: [],
  grant_types: ['client_credentials'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...(scope ? { scope } : {}),
});

async function register(as: DevAuthorizationServer, metadata: object, headers: Record<string, string> = {}) {
  const res = await fetch(`${as.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(metadata),
  });
  return { status: res.status, body: (await res.json()) as { client_id: string; client_secret: string; scope?: string; error?: string } };
}

async function token(as: DevAuthorizationServer, client: { client_id: string; client_secret: string }, scope: string) {
  const res = await fetch(`${as.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: MCP, scope }),
  });
  return { status: res.status, body: (await res.json()) as { access_token?: string; scope?: string; error?: string } };
}

describe('open registration', () => {
  let as: DevAuthorizationServer;
  beforeAll(async () => {
    as = await startDevAuthorizationServer({ resources, registration: { open: true } });
  });
  afterAll(async () => {
    await as?.close();
  });

  it('registers without an initial access token, and the registration endpoint is in the discovery document', async () => {
    const discovery = (await (await fetch(`${as.issuer}/.well-known/oauth-authorization-server`)).json()) as {
      registration_endpoint?: string;
    };
    expect(discovery.registration_endpoint).toBe(`${as.issuer}/reg`);
    const { status, body } = await register(as, machine('mcp:tools'));
    expect(status).toBe(201);
    expect(body.scope).toBe('mcp:tools');
  });

  it("a client registered with a scope gets tokens for it, bound to the resource, and not the resource's other scopes", async () => {
    const { body: client } = await register(as, machine('mcp:tools'));
    const ok = await token(as, client, 'mcp:tools');
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token!)).toMatchObject({ aud: MCP, scope: 'mcp:tools', client_id: client.client_id });
    const more = await token(as, client, 'mcp:tools notes:admin');
    expect(more).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
  });

  it('a scope no resource has cannot be registered', async () => {
    const { status, body } = await register(as, machine('mcp:tools write:everything'));
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_client_metadata');
  });

  it('the pre-configured clients still get every scope of a resource', async () => {
    expect(decodeJwt(await as.mintAccessToken({ resource: MCP, scope: 'mcp:tools notes:admin' })).scope).toBe('mcp:tools notes:admin');
  });
});

describe('registration gated by an initial access token', () => {
  it('refuses a registration without it and accepts one with it', async () => {
    const as = await startDevAuthorizationServer({ resources, registration: { initialAccessToken: 'iat-secret' } });
    try {
      expect((await register(as, machine())).status).toBe(401);
      expect((await register(as, machine('mcp:tools'), { authorization: 'Bearer iat-secret' })).status).toBe(201);
    } finally {
      await as.close();
    }
  });

  it.each([
    ['{}', {}],
    ['an unset token', { initialAccessToken: undefined }],
    ['an empty token', { initialAccessToken: '' }],
    ['both', { initialAccessToken: 'x', open: true }],
    ['open: false', { open: false }],
  ])('%s is refused at start (never an open endpoint by accident)', async (_what, registration) => {
    await expect(startDevAuthorizationServer({ resources, registration } as unknown as DevAuthorizationServerOptions)).rejects.toThrow(
      /initialAccessToken|open: true/,
    );
  });
});

describe('registration with UMA on', () => {
  it('the pre-configured clients keep the resource scopes next to their UMA scopes', async () => {
    const as = await startDevAuthorizationServer({ resources, uma: true, registration: { open: true } });
    try {
      expect(decodeJwt(await as.mintAccessToken({ resource: MCP, scope: 'mcp:tools' })).scope).toBe('mcp:tools');
      expect(await as.uma.obtainPat()).toEqual(expect.any(String));
    } finally {
      await as.close();
    }
  });
});
