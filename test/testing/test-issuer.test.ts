/** The server-less test issuer: static JWKS in the resource server, tokens signed without any AS. */
import { describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { ConfigurationError, oauthResourceServer, requireScopes, ResourceServer } from '../../src/index.js';
import { createTestIssuer, signTestToken } from '../../src/testing/index.js';

const API = 'https://api.example.com';

describe('createTestIssuer + signTestToken', () => {
  it('gives tokens a resource server with the static jwks accepts, and refuses what it should', async () => {
    const ti = await createTestIssuer();
    const app = express();
    app.use(oauthResourceServer({ issuer: ti.trustedIssuer, resource: API, logger: false }));
    app.get('/r', requireScopes('read'), (_req, res) => {
      res.end('ok');
    });
    expect(
      (
        await request(app)
          .get('/r')
          .set('Authorization', `Bearer ${await signTestToken(ti, { audience: API, scope: 'read' })}`)
      ).status,
    ).toBe(200);
    expect(
      (
        await request(app)
          .get('/r')
          .set('Authorization', `Bearer ${await signTestToken(ti, { audience: 'https://other.example', scope: 'read' })}`)
      ).status,
    ).toBe(401);
    expect(
      (
        await request(app)
          .get('/r')
          .set('Authorization', `Bearer ${await signTestToken(ti, { audience: API })}`)
      ).status,
    ).toBe(403);
    expect(
      (
        await request(app)
          .get('/r')
          .set('Authorization', `Bearer ${await signTestToken(ti, { audience: API, scope: 'read', header: { kid: 'unknown' } })}`)
      ).status,
    ).toBe(401);
    const other = await createTestIssuer();
    expect(
      (
        await request(app)
          .get('/r')
          .set('Authorization', `Bearer ${await signTestToken(other, { audience: API, scope: 'read' })}`)
      ).status,
    ).toBe(401);
  });

  it('refuses an unusable static jwks at start-up', () => {
    expect(
      () => new ResourceServer({ issuer: { issuer: 'https://issuer.test', jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] } }, resource: API }),
    ).toThrow(ConfigurationError);
  });
});
