/**
 * Opaque tokens against a real authorization server (oidc-provider on loopback): introspection
 * (RFC 7662), signed introspection responses (RFC 9701), JWT-or-introspection per issuer, the cache
 * and coalescing, counted at the AS.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { oauthResourceServer, requireScopes, getAuth, parseChallenges, type ResourceServerOptions } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';

const ORDERS = 'https://api.example.com/orders';
const BILLING = 'https://api.example.com/billing';

let as: DevAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({
    resources: [
      { identifier: ORDERS, scopes: ['read:orders', 'write:orders'], format: 'opaque' },
      { identifier: BILLING, scopes: ['read:billing'], format: 'opaque' },
    ],
  });
});
afterAll(async () => {
  await as?.close();
});

function app(introspection: Record<string, unknown> = {}, extra: Partial<ResourceServerOptions> = {}) {
  const a = express();
  a.use(
    oauthResourceServer({
      issuer: {
        issuer: as.issuer,
        introspection: { clientId: as.resourceServerClient.clientId, clientSecret: as.resourceServerClient.clientSecret, ...introspection },
      },
      resource: ORDERS,
      logger: false,
      ...extra,
    }),
  );
  a.get('/orders', requireScopes('read:orders'), (req, res) => {
    const auth = getAuth(req)!;
    res.json({ validatedBy: auth.validatedBy, client: auth.clientId, scopes: [...auth.scopes] });
  });
  a.post('/orders', requireScopes('write:orders'), (_req, res) => {
    res.status(201).end();
  });
  return a;
}
const errorOf = (res: request.Response) => Object.fromEntries(parseChallenges(res.headers['www-authenticate']!)[0]!.params).error;

describe('introspection against oidc-provider', () => {
  it('accepts an active opaque token for this resource (CONFORMANCE 26, 28)', async () => {
    const token = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' });
    const res = await request(app()).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ validatedBy: 'introspection', client: 'dev-opaque', scopes: ['read:orders'] });
  });

  it('refuses an opaque token issued for another resource (CONFORMANCE 31)', async () => {
    const token = await as.mintAccessToken({ resource: BILLING, scope: 'read:billing' });
    const res = await request(app()).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(errorOf(res)).toBe('invalid_token');
  });

  it('answers a missing scope with 403 insufficient_scope, as on the JWT path', async () => {
    const token = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' });
    const res = await request(app()).post('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(errorOf(res)).toBe('insufficient_scope');
  });

  it('refuses an unknown token with 401 invalid_token (the AS says inactive) (CONFORMANCE 29)', async () => {
    const res = await request(app()).get('/orders').set('Authorization', 'Bearer not-a-token-the-as-knows');
    expect(res.status).toBe(401);
    expect(errorOf(res)).toBe('invalid_token');
  });

  it('refuses a revoked token once the cache entry has lived its (short) life (CONFORMANCE 32)', async () => {
    const a = app({ cacheTtlSeconds: 1 });
    const token = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' });
    expect((await request(a).get('/orders').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    await as.revoke(token);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await request(a).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(errorOf(res)).toBe('invalid_token');
  });

  it('verifies JWTs of the same issuer locally in automatic mode (oidc-provider refuses to introspect its JWTs)', async () => {
    const jwtAs = await startDevAuthorizationServer({ resources: [{ identifier: ORDERS, scopes: ['read:orders'], format: 'jwt' }] });
    try {
      const a = express();
      a.use(
        oauthResourceServer({
          issuer: {
            issuer: jwtAs.issuer,
            introspection: { clientId: jwtAs.resourceServerClient.clientId, clientSecret: jwtAs.resourceServerClient.clientSecret },
          },
          resource: ORDERS,
          logger: false,
        }),
      );
      a.get('/orders', requireScopes('read:orders'), (req, res) => {
        res.json({ validatedBy: getAuth(req)!.validatedBy });
      });
      const jwt = await jwtAs.mintAccessToken({ resource: ORDERS, scope: 'read:orders', format: 'jwt' });
      const opaque = await jwtAs.mintAccessToken({ resource: ORDERS, scope: 'read:orders', format: 'opaque' });
      expect((await request(a).get('/orders').set('Authorization', `Bearer ${jwt}`)).body).toEqual({ validatedBy: 'jwt' });
      expect((await request(a).get('/orders').set('Authorization', `Bearer ${opaque}`)).body).toEqual({ validatedBy: 'introspection' });
      expect(jwtAs.requests.introspection).toBe(1);
    } finally {
      await jwtAs.close();
    }
  });

  it('makes exactly one AS call for 100 concurrent requests with the same uncached token', async () => {
    const a = app();
    const server = a.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const token = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' });
      const before = as.requests.introspection;
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/orders`;
      const statuses = await Promise.all(
        Array.from({ length: 100 }, () => fetch(url, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status)),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(as.requests.introspection - before).toBe(1);
    } finally {
      server.close();
    }
  });

  it('remembers an inactive answer briefly: 20 requests with one bad token cost one AS call', async () => {
    const a = app();
    const before = as.requests.introspection;
    for (let i = 0; i < 20; i++) expect((await request(a).get('/orders').set('Authorization', 'Bearer bogus-token-123')).status).toBe(401);
    expect(as.requests.introspection - before).toBe(1);
  });

  it('verifies an RFC 9701 signed introspection response (CONFORMANCE 34)', async () => {
    const a = express();
    a.use(
      oauthResourceServer({
        issuer: {
          issuer: as.issuer,
          introspection: {
            clientId: as.resourceServerJwtClient.clientId,
            clientSecret: as.resourceServerJwtClient.clientSecret,
            jwtResponse: true,
          },
        },
        resource: ORDERS,
        logger: false,
      }),
    );
    a.get('/orders', requireScopes('read:orders'), (req, res) => {
      res.json({ validatedBy: getAuth(req)!.validatedBy, scopes: [...getAuth(req)!.scopes] });
    });
    const token = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' });
    const res = await request(a).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ validatedBy: 'introspection', scopes: ['read:orders'] });
    const other = await as.mintAccessToken({ resource: BILLING, scope: 'read:billing' });
    expect((await request(a).get('/orders').set('Authorization', `Bearer ${other}`)).status).toBe(401);
  });
});
