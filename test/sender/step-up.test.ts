/** Step-up challenges (RFC 9470) with tokens signed by the real dev AS. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { oauthResourceServer, parseChallenges, requireAuthentication, requireScopes } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
let as: DevAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['transfer'] }] });
});
afterAll(async () => {
  await as?.close();
});

function app() {
  const a = express();
  a.use(oauthResourceServer({ issuer: as.issuer, resource: API, clockToleranceSeconds: 0, logger: false }));
  a.post(
    '/transfers',
    requireScopes('transfer'),
    requireAuthentication({ acrValues: ['urn:example:mfa', 'urn:example:hwk'] }),
    (_req, res) => {
      res.status(201).end();
    },
  );
  a.get('/profile', requireAuthentication({ maxAgeSeconds: 300 }), (_req, res) => {
    res.end('ok');
  });
  return a;
}
const token = (claims: Record<string, unknown>) => as.signToken({ claims: { aud: API, scope: 'transfer', ...claims } });
const challenge = (res: request.Response) => {
  const [c] = parseChallenges(res.headers['www-authenticate']!);
  return { scheme: c!.scheme, params: Object.fromEntries(c!.params) };
};
const now = () => Math.floor(Date.now() / 1000);

describe('step-up (RFC 9470)', () => {
  it('lets a token with an accepted acr through', async () => {
    expect(
      (
        await request(app())
          .post('/transfers')
          .set('Authorization', `Bearer ${await token({ acr: 'urn:example:mfa' })}`)
      ).status,
    ).toBe(201);
  });

  it('answers an acr outside the required set with 401 insufficient_user_authentication and acr_values (CONFORMANCE 46)', async () => {
    const res = await request(app())
      .post('/transfers')
      .set('Authorization', `Bearer ${await token({ acr: 'urn:example:pwd' })}`);
    expect(res.status).toBe(401);
    expect(challenge(res)).toEqual({
      scheme: 'Bearer',
      params: expect.objectContaining({ error: 'insufficient_user_authentication', acr_values: 'urn:example:mfa urn:example:hwk' }),
    });
  });

  it('answers an authentication older than max_age with max_age in integer seconds (CONFORMANCE 47)', async () => {
    const ok = await request(app())
      .get('/profile')
      .set('Authorization', `Bearer ${await token({ auth_time: now() - 60 })}`);
    expect(ok.status).toBe(200);
    const res = await request(app())
      .get('/profile')
      .set('Authorization', `Bearer ${await token({ auth_time: now() - 3600 })}`);
    expect(res.status).toBe(401);
    expect(challenge(res).params).toMatchObject({ error: 'insufficient_user_authentication', max_age: '300' });
  });

  it('challenges a token that carries no acr or auth_time where one is required (CONFORMANCE 48)', async () => {
    const noAcr = await request(app())
      .post('/transfers')
      .set('Authorization', `Bearer ${await token({})}`);
    expect(noAcr.status).toBe(401);
    expect(challenge(noAcr).params.error).toBe('insufficient_user_authentication');
    const noAuthTime = await request(app())
      .get('/profile')
      .set('Authorization', `Bearer ${await token({})}`);
    expect(noAuthTime.status).toBe(401);
    expect(challenge(noAuthTime).params.max_age).toBe('300');
  });

  it('still answers an expired token with invalid_token, not a step-up challenge', async () => {
    const res = await request(app())
      .get('/profile')
      .set('Authorization', `Bearer ${await token({ exp: now() - 10, auth_time: now() - 3600 })}`);
    expect(challenge(res).params.error).toBe('invalid_token');
  });
});
