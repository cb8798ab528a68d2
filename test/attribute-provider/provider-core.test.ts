/**
 * The framework-agnostic attribute provider: start-up validation of its options, the signing-key forms
 * (WebCrypto key, private JWK, Node KeyObject), the JWKS, `Accept` negotiation, the 404 forms, and the
 * router's wiring mistakes and failures (never a leak).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  AttributeProvider,
  ConfigurationError,
  STANDARD_SCOPE_CLAIMS,
  attributeProvider,
  negotiateClaimsFormat,
  type AuthContext,
  type ClaimsFormat,
} from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { PROVIDER, PROVIDER_SCOPES, RP_CLIENT, findUser, providerKey } from './fixtures.js';

/** A validated token as route code sees it (what the verifier hands the provider). */
function context(scopes: string[], claims: Record<string, unknown> = {}): AuthContext {
  const set = new Set(scopes);
  return {
    issuer: 'https://op.example',
    subject: 'alice',
    clientId: RP_CLIENT,
    audience: [PROVIDER],
    scopes: set,
    expiresAt: undefined,
    validatedBy: 'jwt',
    claims: { iss: 'https://op.example', aud: PROVIDER, sub: 'alice', client_id: RP_CLIENT, ...claims },
    hasScope: (s) => set.has(s),
  };
}

describe('AttributeProvider options', () => {
  it('fails at construction for a wiring mistake, with a ConfigurationError', async () => {
    const key = (await providerKey()).privateKey;
    const bad: Array<Record<string, unknown>> = [
      {},
      { findUser, scopes: { 'bad scope': ['x'] } },
      { findUser, scopes: { s: 'email' } },
      { findUser, scopes: { s: ['sub'] } },
      { findUser, scopes: { s: ['iss'] } },
      { findUser, standardScopes: false },
      { findUser, formats: ['jwt'] },
      { findUser, formats: ['jwt'], signingKey: { key, alg: 'ES256' } },
      { findUser, formats: ['xml'] },
      { findUser, issuer: PROVIDER, signingKey: { key, alg: 'HS256' } },
      { findUser, issuer: PROVIDER, signingKey: { key, alg: 'none' } },
      { findUser, issuer: PROVIDER, signingKey: { key, alg: 'ES256', publicJwk: await exportJWK(key) } },
      { findUser, ttlSeconds: 0 },
      { findUser, claimsProviderSubject: 'id' },
    ];
    for (const options of bad) expect(() => new AttributeProvider(options as never)).toThrow(ConfigurationError);
  });

  it('answers JSON without a signing key and JWT with one, by default', async () => {
    expect(new AttributeProvider({ findUser }).formats).toEqual(['json']);
    expect(
      new AttributeProvider({ findUser, issuer: PROVIDER, signingKey: { key: (await providerKey()).privateKey, alg: 'ES256' } }).formats,
    ).toEqual(['jwt']);
    expect([...new AttributeProvider({ findUser }).scopeClaims.keys()]).toEqual(Object.keys(STANDARD_SCOPE_CLAIMS));
  });

  it('rejects ready() for a key that does not fit the algorithm, or a non-extractable key without publicJwk', async () => {
    const rsa = (await generateKeyPair('RS256')).privateKey;
    await expect(new AttributeProvider({ findUser, issuer: PROVIDER, signingKey: { key: rsa, alg: 'ES256' } }).ready()).rejects.toThrow(
      ConfigurationError,
    );
    const sealed = await generateKeyPair('ES256', { extractable: false });
    await expect(
      new AttributeProvider({ findUser, issuer: PROVIDER, signingKey: { key: sealed.privateKey, alg: 'ES256' } }).ready(),
    ).rejects.toThrow(ConfigurationError);
    const ok = new AttributeProvider({
      findUser,
      issuer: PROVIDER,
      signingKey: { key: sealed.privateKey, alg: 'ES256', publicJwk: await exportJWK(sealed.publicKey) },
    });
    await expect(ok.ready()).resolves.toBeUndefined();
  });

  it.each([
    [
      'a private JWK',
      async () => ({
        key: { ...(await exportJWK((await generateKeyPair('PS256', { extractable: true })).privateKey)), kid: 'jwk-1' },
        alg: 'PS256',
      }),
    ],
    ['a Node KeyObject', async () => ({ key: generateKeyPairSync('ed25519').privateKey, alg: 'EdDSA' })],
  ])('signs with %s and publishes only its public part, plus additional public keys', async (_name, make) => {
    const signingKey = await make();
    const old = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    const provider = new AttributeProvider({ findUser, issuer: PROVIDER, signingKey, additionalPublicKeys: [{ ...old, kid: 'old' }] });
    const jwks = (await provider.jwks()) as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(2);
    for (const k of jwks.keys) for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(k).not.toHaveProperty(m);
    expect(jwks.keys[0]).toMatchObject({ alg: signingKey.alg, use: 'sig' });
    const answer = await provider.answer({ token: context(['email']), resource: PROVIDER });
    const { payload } = await jwtVerify(answer.body, createLocalJWKSet(jwks), { issuer: PROVIDER, audience: RP_CLIENT });
    expect(payload).toMatchObject({ email: 'alice@example.net' });
    expect(payload.sub).toBeUndefined();
  });
});

describe('negotiation and answers', () => {
  const cases: Array<[string | undefined, ClaimsFormat[], ClaimsFormat]> = [
    [undefined, ['jwt', 'json'], 'jwt'],
    ['application/json', ['jwt', 'json'], 'json'],
    ['application/json', ['jwt'], 'jwt'],
    ['*/*', ['json', 'jwt'], 'json'],
    ['application/jwt;q=0.4, application/json;q=0.9', ['jwt', 'json'], 'json'],
    ['application/json;q=0, text/html', ['jwt', 'json'], 'jwt'],
    ['APPLICATION/JSON', ['jwt', 'json'], 'json'],
    ['text/html', ['jwt', 'json'], 'jwt'],
    ['application/json, application/jwt', ['jwt', 'json'], 'json'],
    // RFC 9110 §12.4.2: q=0 is "not acceptable": a refused default gives way to the other format.
    ['application/jwt;q=0', ['jwt', 'json'], 'json'],
    ['application/json;q=0', ['json', 'jwt'], 'jwt'],
    ['application/jwt;q=0, application/json;q=0', ['jwt', 'json'], 'jwt'],
  ];
  it.each(cases)('Accept %s with formats %j → %s', (accept, formats, expected) => {
    expect(negotiateClaimsFormat(accept, formats)).toBe(expected);
  });

  it('answers 404 as problem+json when asked, with the same text for every subject', async () => {
    const provider = new AttributeProvider({ findUser: async () => undefined });
    const a = await provider.answer({ token: context(['email']), resource: PROVIDER, errorFormat: 'problem' });
    expect(a).toMatchObject({ status: 404, headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' } });
    expect(JSON.parse(a.body)).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'no claims are available for this access token',
      error: 'not_found',
    });
    expect(a.body).not.toContain('alice');
  });

  it('honours the resource server scope rules (implications) through AuthContext.hasScope', async () => {
    const token = { ...context(['admin']), hasScope: (s: string) => s === 'admin' || s === 'email' };
    const a = await new AttributeProvider({ findUser }).answer({ token, resource: PROVIDER });
    expect(JSON.parse(a.body)).toEqual({ sub: 'alice', email: 'alice@example.net', email_verified: true });
  });
});

describe('the router: wiring and failures', () => {
  let as: DevAuthorizationServer;
  beforeAll(async () => {
    as = await startDevAuthorizationServer({ resources: [{ identifier: PROVIDER, scopes: PROVIDER_SCOPES }] });
  });
  afterAll(async () => {
    await as?.close();
  });

  it('takes iss from the resource identifier by default, and needs one for JWT answers', async () => {
    const key = (await providerKey()).privateKey;
    const router = attributeProvider({
      resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false },
      signingKey: { key, alg: 'ES256' },
      findUser,
    });
    expect(router.provider.issuer).toBe(PROVIDER);
    expect(() =>
      attributeProvider({
        resourceServer: { issuer: as.issuer, publicBaseUrl: 'https://claims.example.net', logger: false },
        signingKey: { key, alg: 'ES256' },
        findUser,
      }),
    ).toThrow(ConfigurationError);
    expect(() => attributeProvider({ resourceServer: { issuer: as.issuer, resource: PROVIDER }, findUser, claimsPath: 'claims' })).toThrow(
      ConfigurationError,
    );
  });

  it('serves the endpoints at configured paths', async () => {
    const app = express();
    app.use(
      attributeProvider({
        resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false },
        signingKey: { key: (await providerKey()).privateKey, alg: 'ES256' },
        findUser,
        claimsPath: '/userinfo-extra',
        jwksPath: '/keys',
      }),
    );
    const token = await as.signToken({ claims: { sub: 'bob', scope: 'email', aud: PROVIDER, client_id: RP_CLIENT } });
    expect((await request(app).get('/userinfo-extra').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    expect((await request(app).get('/keys')).body.keys).toHaveLength(1);
    expect((await request(app).get('/claims').set('Authorization', `Bearer ${token}`)).status).toBe(404);
  });

  it('answers a failing user lookup with a 500 that leaks nothing, and logs it', async () => {
    const logged: string[] = [];
    const app = express();
    app.use(
      attributeProvider({
        resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: { warn: () => undefined, error: (m) => logged.push(m) } },
        findUser: async () => {
          throw new Error('database password is hunter2');
        },
      }),
    );
    const token = await as.signToken({ claims: { sub: 'alice', scope: 'email', aud: PROVIDER, client_id: RP_CLIENT } });
    const res = await request(app).get('/claims').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('hunter2');
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join(' ')).not.toContain('hunter2');
  });

  it('answers a request without a token with 401 and no error attribute', async () => {
    const app = express();
    app.use(attributeProvider({ resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false }, findUser }));
    const res = await request(app).post('/claims');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });
});
