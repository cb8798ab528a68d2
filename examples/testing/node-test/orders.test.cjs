// node:test (CommonJS), with supertest and a test issuer.
const { before, test } = require('node:test');
const request = require('supertest');
const { createTestIssuer, signTestToken } = require('oauth-resource-server/testing');
const { createApp } = require('../app.cjs');

const RESOURCE = 'https://api.example.com/orders';
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

test('a token without the route scope: 403', async () => {
  const token = await signTestToken(issuer, { audience: RESOURCE, scope: 'profile' });
  await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(403);
});
