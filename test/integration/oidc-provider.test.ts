import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { oauthResourceServer, requireScopes, getAuth, parseChallenges } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express-versions.js';

const ORDERS = 'https://api.example.com/orders';
const BILLING = 'https://api.example.com/billing';

let as: DevAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({
    resources: [
      { identifier: ORDERS, scopes: ['read:orders', 'write:orders'] },
      { identifier: BILLING, scopes: ['read:billing'] },
    ],
  });
});
afterAll(async () => {
  await as?.close();
});

describe.each(EXPRESS_VERSIONS)('against oidc-provider (%s)', (_name, express) => {
  function app() {
    const a = express();
    a.use(oauthResourceServer({ issuer: as.issuer, resource: ORDERS, logger: false }));
    a.get('/orders', requireScopes('read:orders'), (req, res) => {
      res.json({ client: getAuth(req)?.clientId });
    });
    a.post('/orders', requireScopes('write:orders'), (_req, res) => {
      res.status(201).json({ ok: true });
    });
    return a;
  }

  it('accepts a token minted for this resource (CONFORMANCE 1, 20)', async () => {
    const token = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' });
    const res = await request(app()).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ client: 'dev-jwt' });
  });

  it('refuses a token minted for another resource with 401 invalid_token (CONFORMANCE 20)', async () => {
    const token = await as.mintAccessToken({ resource: BILLING, scope: 'read:billing' });
    const res = await request(app()).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    const [c] = parseChallenges(res.headers['www-authenticate']!);
    expect(c!.scheme).toBe('Bearer');
    expect(Object.fromEntries(c!.params).error).toBe('invalid_token');
    expect(res.body.error).toBe('invalid_token');
  });

  it('answers a missing scope with 403 insufficient_scope naming the scope (CONFORMANCE 12)', async () => {
    const token = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' });
    const res = await request(app()).post('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    const params = Object.fromEntries(parseChallenges(res.headers['www-authenticate']!)[0]!.params);
    expect(params).toMatchObject({ error: 'insufficient_scope', scope: 'write:orders' });
  });
});
