// ts-jest in Jest's default (CommonJS) mode, with supertest and a test issuer (no server).
import request from 'supertest';
import { createTestIssuer, signTestToken, type TestIssuer } from 'oauth-resource-server/testing';
import { createApp } from './app';

const RESOURCE = 'https://api.example.com/orders';
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await createTestIssuer();
});

test('a token with the route scope gets through', async () => {
  const app = createApp({ issuer: issuer.trustedIssuer, resource: RESOURCE });
  const token = await signTestToken(issuer, { audience: RESOURCE, scope: 'read:orders profile', claims: { sub: 'alice' } });
  const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(200);
  expect(res.body).toEqual({ for: 'alice', scopes: ['read:orders', 'profile'] });
});

test('an expired token: 401 invalid_token', async () => {
  const app = createApp({ issuer: issuer.trustedIssuer, resource: RESOURCE });
  const token = await signTestToken(issuer, { audience: RESOURCE, scope: 'read:orders', expiresIn: -3600 });
  const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`).expect(401);
  expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
});
