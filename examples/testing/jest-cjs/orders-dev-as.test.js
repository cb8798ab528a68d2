// Jest in its default (CommonJS) mode, with a real development authorization server (oidc-provider, a dev
// dependency) on loopback: the API discovers it and fetches its keys as it would in production.
const request = require('supertest');
const { startDevAuthorizationServer } = require('oauth-resource-server/testing');
const { createApp } = require('../app.cjs');

const RESOURCE = 'https://api.example.com/orders';
let as;
let app;

beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: RESOURCE, scopes: ['read:orders', 'write:orders'] }] });
  app = createApp({ issuer: as.issuer, resource: RESOURCE });
});

afterAll(() => as.close());

test('a token minted by the AS for this API gets through', async () => {
  const token = await as.mintAccessToken({ resource: RESOURCE, scope: 'read:orders' });
  await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(200);
});

test('a token without the route scope: 403', async () => {
  const token = await as.mintAccessToken({ resource: RESOURCE, scope: 'read:orders' });
  await request(app).post('/orders').set('Authorization', `Bearer ${token}`).expect(403);
});
