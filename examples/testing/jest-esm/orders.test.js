// Jest with ES modules (`node --experimental-vm-modules`), with supertest: a test issuer for unit-level tests,
// a development authorization server (oidc-provider, a dev dependency) for end-to-end ones.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { createTestIssuer, signTestToken, startDevAuthorizationServer } from 'oauth-resource-server/testing';
import { createApp } from '../app.mjs';

const RESOURCE = 'https://api.example.com/orders';

describe('with a test issuer', () => {
  let issuer;
  let app;
  beforeAll(async () => {
    issuer = await createTestIssuer();
    app = createApp({ issuer: issuer.trustedIssuer, resource: RESOURCE });
  });

  test('a token with the route scope gets through', async () => {
    const token = await signTestToken(issuer, { audience: RESOURCE, scope: 'read:orders', claims: { sub: 'alice' } });
    await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(200, { for: 'alice' });
  });

  test('a missing scope: 403 insufficient_scope', async () => {
    const token = await signTestToken(issuer, { audience: RESOURCE, scope: 'read:orders' });
    const res = await request(app).post('/orders').set('Authorization', `Bearer ${token}`).expect(403);
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
  });
});

describe('with the development authorization server', () => {
  let as;
  let app;
  beforeAll(async () => {
    as = await startDevAuthorizationServer({ resources: [{ identifier: RESOURCE, scopes: ['read:orders'] }] });
    app = createApp({ issuer: as.issuer, resource: RESOURCE });
  });
  afterAll(() => as.close());

  test('a token minted by the AS for this API gets through', async () => {
    const token = await as.mintAccessToken({ resource: RESOURCE, scope: 'read:orders' });
    await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(200);
  });
});
