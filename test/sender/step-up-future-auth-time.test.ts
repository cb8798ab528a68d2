/** RFC 9470 §3 max_age: an auth_time in the future (or in milliseconds) proves no recent authentication. */
import { beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { InsufficientUserAuthenticationError, oauthResourceServer, parseChallenges, requireAuthentication } from '../../src/index.js';
import { checkAuthentication } from '../../src/claims/step-up.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
const TOLERANCE = 5;
let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});

function app() {
  const a = express();
  a.use(oauthResourceServer({ issuer: issuer.trustedIssuer, resource: API, clockToleranceSeconds: TOLERANCE, logger: false }));
  a.get('/profile', requireAuthentication({ maxAgeSeconds: 60 }), (_req, res) => {
    res.end('ok');
  });
  return a;
}
const now = () => Math.floor(Date.now() / 1000);
const call = async (authTime: number) => {
  const token = await signTestToken(issuer, { audience: API, claims: { auth_time: authTime } });
  return request(app()).get('/profile').set('Authorization', `Bearer ${token}`);
};

describe('step-up max_age with an auth_time from the future', () => {
  it.each([
    ['an hour ahead', () => now() + 3600],
    ['in milliseconds', () => Date.now()],
    ['just beyond the clock tolerance', () => now() + TOLERANCE + 30],
  ])('answers 401 insufficient_user_authentication with max_age for auth_time %s', async (_label, authTime) => {
    const res = await call(authTime());
    expect(res.status).toBe(401);
    const [c] = parseChallenges(res.headers['www-authenticate']!);
    expect(Object.fromEntries(c!.params)).toMatchObject({ error: 'insufficient_user_authentication', max_age: '60' });
  });

  it('checkAuthentication refuses auth_time > now + tolerance, and still accepts it at the bound', async () => {
    expect((await call(now() - 10)).status).toBe(200);
    expect((await call(now() + 2)).status).toBe(200);
    const t = 1_700_000_000;
    const at = { nowSeconds: t, toleranceSeconds: 5 };
    expect(() => checkAuthentication({ auth_time: t + 6 }, { maxAgeSeconds: 60 }, at)).toThrow(InsufficientUserAuthenticationError);
    expect(() => checkAuthentication({ auth_time: t * 1000 }, { maxAgeSeconds: 60 }, at)).toThrow(InsufficientUserAuthenticationError);
    expect(() => checkAuthentication({ auth_time: t + 5 }, { maxAgeSeconds: 60 }, at)).not.toThrow();
    expect(() => checkAuthentication({ auth_time: t - 65 }, { maxAgeSeconds: 60 }, at)).not.toThrow();
  });
});
