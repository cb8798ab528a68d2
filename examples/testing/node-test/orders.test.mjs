// node:test (ES module), with supertest: a test issuer, and the development authorization server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestIssuer, signTestToken, startDevAuthorizationServer } from 'oauth-resource-server/testing';
import { createApp } from '../app.mjs';

const RESOURCE = 'https://api.example.com/orders';

describe('with a test issuer', () => {
  let issuer;
  let app;
  before(async () => {
    issuer = await createTestIssuer();
    app = createApp({ issuer: issuer.trustedIssuer, resource: RESOURCE });
  });

  test('a token with the route scope gets through', async () => {
    const token = await signTestToken(issuer, { audience: RESOURCE, scope: 'read:orders', claims: { sub: 'alice' } });
    await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(200, { for: 'alice' });
  });

  test('a token for another API: 401 invalid_token', async () => {
    const token = await signTestToken(issuer, { audience: 'https://other.example.com', scope: 'read:orders' });
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(401);
    assert.match(res.headers['www-authenticate'], /error="invalid_token"/);
  });
});

describe('with the development authorization server', () => {
  let as;
  let app;
  before(async () => {
    as = await startDevAuthorizationServer({ resources: [{ identifier: RESOURCE, scopes: ['read:orders'] }] });
    app = createApp({ issuer: as.issuer, resource: RESOURCE });
  });
  after(() => as.close());

  test('a token minted by the AS for this API gets through', async () => {
    const token = await as.mintAccessToken({ resource: RESOURCE, scope: 'read:orders' });
    await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(200);
  });
});
