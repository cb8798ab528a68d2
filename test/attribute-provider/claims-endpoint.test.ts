/**
 * The attribute provider's claims endpoint against the real development OP (oidc-provider), on Express 4
 * and 5: every scope-to-claim rule, JWT and JSON answers, the claims JWT verified by a separate verifier
 * against the served JWKS, tokens for another resource refused, missing scopes, unknown users, and the
 * RFC 6750 token methods (CONFORMANCE 75).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type CryptoKey, type JSONWebKeySet } from 'jose';
import { attributeProvider, parseChallenges, STANDARD_SCOPE_CLAIMS, type AttributeProviderRouterOptions } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express-versions.js';
import { ALICE, BOB, CUSTOM_SCOPES, OTHER, PROVIDER, PROVIDER_SCOPES, RP_CLIENT, findUser, providerKey } from './fixtures.js';

let as: DevAuthorizationServer;
let key: CryptoKey;

beforeAll(async () => {
  as = await startDevAuthorizationServer({
    resources: [
      { identifier: PROVIDER, scopes: PROVIDER_SCOPES },
      { identifier: OTHER, scopes: ['profile', 'read:orders'] },
    ],
  });
  key = (await providerKey()).privateKey;
});
afterAll(async () => {
  await as?.close();
});

/** A token the OP signs for a user of the provider (its real signing key; RFC 9068 shape). */
const userToken = (sub: string, scope: string, extra: Record<string, unknown> = {}) =>
  as.signToken({ claims: { sub, scope, aud: PROVIDER, client_id: RP_CLIENT, ...extra } });

const challenge = (res: request.Response) => {
  const [c] = parseChallenges(res.headers['www-authenticate']!);
  return { scheme: c!.scheme, params: Object.fromEntries(c!.params) };
};

describe.each(EXPRESS_VERSIONS)('attribute provider claims endpoint (%s)', (_name, express: ExpressFactory) => {
  function app(extra: Partial<AttributeProviderRouterOptions> = {}) {
    const a = express();
    a.use(
      '/attributes',
      attributeProvider({
        resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false },
        signingKey: { key, alg: 'ES256' },
        formats: ['jwt', 'json'],
        scopes: CUSTOM_SCOPES,
        findUser,
        ...extra,
      }),
    );
    return a;
  }
  const json = (a: ReturnType<typeof app>, token: string) =>
    request(a).get('/attributes/claims').set('Authorization', `Bearer ${token}`).set('Accept', 'application/json');

  it.each(Object.entries(STANDARD_SCOPE_CLAIMS))('scope %s releases exactly its OpenID Connect Core §5.4 claims', async (scope, claims) => {
    const res = await json(app(), await userToken('alice', `openid ${scope}`));
    expect(res.status).toBe(200);
    const expected = Object.fromEntries(claims.map((c) => [c, ALICE[c as keyof typeof ALICE]]));
    expect(res.body).toEqual({ sub: 'alice', ...expected });
  });

  it.each(Object.entries(CUSTOM_SCOPES))('custom scope %s releases exactly its claims', async (scope, claims) => {
    const res = await json(app(), await userToken('alice', scope));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sub: 'alice', ...Object.fromEntries(claims.map((c) => [c, ALICE[c as keyof typeof ALICE]])) });
  });

  it('releases the union of several scopes, never an attribute no scope maps, and omits absent or null claims', async () => {
    const res = await json(app(), await userToken('alice', 'email phone credit'));
    expect(Object.keys(res.body).sort()).toEqual([
      'credit_score',
      'email',
      'email_verified',
      'phone_number',
      'phone_number_verified',
      'sub',
    ]);
    expect(JSON.stringify(res.body)).not.toContain('never-released');
    const bob = await json(app(), await userToken('bob', 'profile email phone'));
    expect(bob.body).toEqual({ sub: 'bob', name: 'Bob', email: 'bob@example.net' });
  });

  it('a scope named in options replaces the standard one; standardScopes: false drops them', async () => {
    const token = await userToken('alice', 'email profile');
    const replaced = await json(app({ scopes: { email: ['email'] } }), token);
    expect(Object.keys(replaced.body).sort()).toEqual(
      [
        'email',
        'family_name',
        'gender',
        'given_name',
        'locale',
        'middle_name',
        'name',
        'nickname',
        'picture',
        'preferred_username',
        'profile',
        'sub',
        'updated_at',
        'website',
        'zoneinfo',
        'birthdate',
      ].sort(),
    );
    const custom = await json(app({ standardScopes: false, scopes: { email: ['email'] } }), await userToken('alice', 'profile'));
    expect(custom.status).toBe(403);
  });

  it('answers a JWT signed with the provider key: iss, aud = the client, iat, exp, the allowed claims, and no sub of the OP (CONFORMANCE 75, OIDC Core §5.6.2)', async () => {
    const res = await request(app())
      .get('/attributes/claims')
      .set('Authorization', `Bearer ${await userToken('alice', 'openid email credit')}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/jwt/);
    expect(res.headers['cache-control']).toBe('no-store');
    const jwt = res.text;
    const jwks = (await request(app()).get('/attributes/.well-known/jwks.json')).body as JSONWebKeySet;
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks), {
      issuer: PROVIDER,
      audience: RP_CLIENT,
      algorithms: ['ES256'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: jwks.keys[0]!.kid });
    expect(payload).toMatchObject({ iss: PROVIDER, aud: RP_CLIENT, email: ALICE.email, email_verified: true, credit_score: 742 });
    expect(payload.exp! - payload.iat!).toBe(300);
    // The token's sub ('alice') is the OP's identifier for the user: a claims JWT SHOULD NOT carry it (§5.6.2).
    expect(Object.keys(payload).sort()).toEqual(['aud', 'credit_score', 'email', 'email_verified', 'exp', 'iat', 'iss']);
  });

  it('takes aud from azp when the token has no client_id', async () => {
    const token = await userToken('bob', 'email', { client_id: undefined, azp: 'other-rp' });
    const res = await request(
      app({
        resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false, requiredClaims: ['iss', 'exp', 'aud', 'sub', 'iat'] },
      }),
    )
      .get('/attributes/claims')
      .set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    const { payload } = await jwtVerify(
      res.text,
      createLocalJWKSet((await request(app()).get('/attributes/.well-known/jwks.json')).body as JSONWebKeySet),
      { audience: 'other-rp' },
    );
    expect(payload.email).toBe('bob@example.net');
  });

  it('serves a public JWKS without private members; JSON when Accept asks for it, JWT otherwise', async () => {
    const res = await request(app()).get('/attributes/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['cache-control']).toMatch(/public, max-age=\d+/);
    const [k] = JSON.parse(res.text).keys;
    expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(k.d).toBeUndefined();
    const token = await userToken('alice', 'email');
    const preferJwt = await request(app())
      .get('/attributes/claims')
      .set('Authorization', `Bearer ${token}`)
      .set('Accept', 'application/json;q=0.5, application/jwt');
    expect(preferJwt.headers['content-type']).toMatch(/^application\/jwt/);
    expect(preferJwt.headers.vary).toMatch(/accept/i);
    const onlyJson = await request(app({ formats: ['json'], signingKey: undefined }))
      .get('/attributes/claims')
      .set('Authorization', `Bearer ${token}`);
    expect(onlyJson.body).toEqual({ sub: 'alice', email: ALICE.email, email_verified: true });
  });

  it("puts the provider's own user identifier in the JWT sub with claimsProviderSubject; JSON keeps the token sub", async () => {
    const ids = new Map([['alice', 'cp-000042']]);
    const a = app({ claimsProviderSubject: (_user, sub) => ids.get(sub) });
    const jwks = createLocalJWKSet((await request(a).get('/attributes/.well-known/jwks.json')).body as JSONWebKeySet);
    const alice = await request(a)
      .get('/attributes/claims')
      .set('Authorization', `Bearer ${await userToken('alice', 'email')}`);
    expect((await jwtVerify(alice.text, jwks, { issuer: PROVIDER, audience: RP_CLIENT })).payload).toMatchObject({
      sub: 'cp-000042',
      email: ALICE.email,
    });
    // No identifier of this provider for bob: no sub at all, never the OP's.
    const bob = await request(a)
      .get('/attributes/claims')
      .set('Authorization', `Bearer ${await userToken('bob', 'email')}`);
    expect((await jwtVerify(bob.text, jwks)).payload.sub).toBeUndefined();
    expect((await json(a, await userToken('alice', 'email'))).body).toEqual({ sub: 'alice', email: ALICE.email, email_verified: true });
  });

  it('a claimsProviderSubject that returns something other than a string is a 500 server_error, never a JWT', async () => {
    const res = await request(app({ claimsProviderSubject: () => 42 as unknown as string }))
      .get('/attributes/claims')
      .set('Authorization', `Bearer ${await userToken('alice', 'email')}`);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error', error_description: 'the server could not process the request' });
  });

  describe('Accept negotiation', () => {
    const claims = async (a: ReturnType<typeof app>, accept?: string) => {
      const r = request(a)
        .get('/attributes/claims')
        .set('Authorization', `Bearer ${await userToken('alice', 'email')}`);
      return accept === undefined ? r : r.set('Accept', accept);
    };

    it.each([undefined, '*/*', 'text/html', 'application/xml, text/plain;q=0.5', 'application/*'])(
      'a client that accepts neither format (Accept %s) gets the default: the JWT, with Vary: Accept',
      async (accept) => {
        const res = await claims(app(), accept);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/jwt/);
        expect(res.headers.vary).toMatch(/^accept$/i);
      },
    );

    it('Accept: application/json gets JSON, also with Vary: Accept', async () => {
      const res = await claims(app(), 'application/json');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers.vary).toMatch(/^accept$/i);
    });

    it('a client that refuses the JWT (q=0) gets JSON', async () => {
      const res = await claims(app(), 'application/jwt;q=0');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('with one format offered, Accept changes nothing and there is no Vary', async () => {
      const res = await claims(app({ formats: ['jwt'] }), 'application/json');
      expect(res.headers['content-type']).toMatch(/^application\/jwt/);
      expect(res.headers.vary).toBeUndefined();
    });

    it('adds Accept to a Vary set before the router (CORS: Vary: Origin), not replacing it', async () => {
      const a = express();
      a.use((_req, res, next) => {
        res.setHeader('vary', 'Origin');
        next();
      });
      a.use(
        '/attributes',
        attributeProvider({
          resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false },
          signingKey: { key, alg: 'ES256' },
          formats: ['jwt', 'json'],
          findUser,
        }),
      );
      const res = await claims(a);
      expect(res.status).toBe(200);
      expect(res.headers.vary).toMatch(/^Origin, accept$/i);
    });
  });

  it('refuses a token minted for another resource of the same OP with 401 invalid_token (RFC 8707)', async () => {
    const token = await as.mintAccessToken({ resource: OTHER, scope: 'profile' });
    const res = await request(app()).get('/attributes/claims').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatchObject({ scheme: 'Bearer', params: { error: 'invalid_token' } });
    expect(res.body.error).toBe('invalid_token');
  });

  it('refuses a token without any claim scope with 403 insufficient_scope', async () => {
    const token = await as.mintAccessToken({ resource: PROVIDER, scope: 'openid' });
    const res = await request(app()).get('/attributes/claims').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(challenge(res).params).toMatchObject({ error: 'insufficient_scope', scope: 'profile' });
  });

  it('answers an unknown sub with 404 and the same body for every subject (nothing about other users)', async () => {
    const a = app();
    const first = await request(a)
      .get('/attributes/claims')
      .set('Authorization', `Bearer ${await userToken('nobody-1', 'email')}`);
    const second = await request(a)
      .get('/attributes/claims')
      .set('Authorization', `Bearer ${await userToken('someone-else', 'profile credit')}`);
    expect(first.status).toBe(404);
    expect(second.status).toBe(404);
    expect(first.text).toBe(second.text);
    expect(first.text).not.toContain('nobody');
    expect(first.headers['www-authenticate']).toBeUndefined();
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.body).toEqual({ error: 'not_found', error_description: 'no claims are available for this access token' });
  });

  it('serves users of real minted tokens (the client-credentials sub) as a JWT', async () => {
    const token = await as.mintAccessToken({ resource: PROVIDER, scope: 'email' });
    const res = await request(app()).get('/attributes/claims').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(decodeProtectedHeader(res.text).typ).toBe('JWT');
  });

  describe('token methods (CONFORMANCE 75)', () => {
    it('accepts the token in the Authorization header on GET and POST, any scheme case', async () => {
      const token = await userToken('alice', 'email');
      for (const [method, scheme] of [
        ['get', 'Bearer'],
        ['post', 'bearer'],
        ['get', 'BEARER'],
      ] as const) {
        const res = await request(app())[method]('/attributes/claims').set('Authorization', `${scheme} ${token}`);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/jwt/);
      }
    });

    it('accepts no token elsewhere by default: query, form body, cookie → 401 without error', async () => {
      const token = await userToken('alice', 'email');
      const a = app();
      const answers = [
        await request(a).get(`/attributes/claims?access_token=${token}`),
        await request(a).post('/attributes/claims').type('form').send({ access_token: token }),
        await request(a).get('/attributes/claims').set('Cookie', `access_token=${token}`),
      ];
      for (const res of answers) {
        expect(res.status).toBe(401);
        expect(challenge(res).params.error).toBeUndefined();
      }
    });

    it('accepts a form-body token on POST when the resource server enables that RFC 6750 method, never on GET', async () => {
      const token = await userToken('alice', 'email');
      const a = app({ resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false, tokenLocations: { body: true } } });
      const post = await request(a).post('/attributes/claims').type('form').send({ access_token: token });
      expect(post.status).toBe(200);
      expect(post.headers['content-type']).toMatch(/^application\/jwt/);
      const onGet = await request(a).get('/attributes/claims').type('form').send(`access_token=${token}`);
      expect(onGet.status).toBe(401);
      const both = await request(a)
        .post('/attributes/claims')
        .set('Authorization', `Bearer ${token}`)
        .type('form')
        .send({ access_token: token });
      expect(both.status).toBe(400);
    });
  });
});

describe('verification by a separate verifier against the served JWKS', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const { default: express } = await import('express');
    const a = express();
    a.use(
      '/attributes',
      attributeProvider({
        resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false },
        signingKey: { key, alg: 'ES256', kid: 'claims-2026' },
        scopes: CUSTOM_SCOPES,
        findUser,
      }),
    );
    server = a.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('createRemoteJWKSet on <iss>/.well-known/jwks.json verifies the claims JWT; the OP keys do not', async () => {
    const res = await fetch(`${base}/attributes/claims`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await userToken('alice', 'address credit')}` },
    });
    expect(res.status).toBe(200);
    const jwt = await res.text();
    const remote = createRemoteJWKSet(new URL(`${base}/attributes/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(jwt, remote, { issuer: PROVIDER, audience: RP_CLIENT });
    expect(protectedHeader.kid).toBe('claims-2026');
    expect(payload).toMatchObject({ address: ALICE.address, credit_score: 742 });
    expect(payload.sub).toBeUndefined();
    await expect(jwtVerify(jwt, createRemoteJWKSet(new URL(as.jwksUri)))).rejects.toThrow();
  });

  it('the JWT answer is refused by a verifier expecting another audience or issuer', async () => {
    const res = await fetch(`${base}/attributes/claims`, { headers: { authorization: `Bearer ${await userToken('bob', 'email')}` } });
    const jwt = await res.text();
    const remote = createRemoteJWKSet(new URL(`${base}/attributes/.well-known/jwks.json`));
    await expect(jwtVerify(jwt, remote, { audience: 'someone-else' })).rejects.toThrow();
    await expect(jwtVerify(jwt, remote, { issuer: 'https://evil.example' })).rejects.toThrow();
    expect(BOB.email).toBe((await jwtVerify(jwt, remote)).payload.email);
  });
});
