// Jest in its default (CommonJS) mode, with supertest; no authorization server: a test issuer signs the tokens.
const request = require('supertest');
const { createTestIssuer, signTestToken } = require('oauth-resource-server/testing');
const { createApp } = require('../app.cjs');

const RESOURCE = 'https://api.example.com/orders';
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

test('no token: 401 with a Bearer challenge', async () => {
  const res = await request(app).get('/orders').expect(401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
});

test('a token for another API: 401 invalid_token', async () => {
  const token = await signTestToken(issuer, { audience: 'https://other.example.com', scope: 'read:orders' });
  const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(401);
  expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
});

test('a missing scope: 403 insufficient_scope', async () => {
  const token = await signTestToken(issuer, { audience: RESOURCE, scope: 'read:orders' });
  const res = await request(app).post('/orders').set('Authorization', `Bearer ${token}`).expect(403);
  expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
});
