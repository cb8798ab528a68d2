/**
 * RFC 9396 authorization details at the resource server: read from the JWT claim or the introspection
 * answer's top level, other types ignored (CONFORMANCE 73), and `locations` that leave this resource
 * server out denied (CONFORMANCE 74); unit level, then through the attribute provider against the real
 * development OP (JWT and introspected opaque tokens).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import {
  attributeProvider,
  authorizationDetailsFor,
  readAuthorizationDetails,
  parseChallenges,
  InsufficientScopeError,
  InvalidTokenError,
  type AttributeProviderRouterOptions,
} from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { CUSTOM_SCOPES, PROVIDER, PROVIDER_SCOPES, RP_CLIENT, findUser, providerKey } from './fixtures.js';

const CLAIMS_TYPE = 'https://claims.example.net/types/claims';
const PAYMENT = 'payment_initiation';
const policy = { types: { [CLAIMS_TYPE]: ['claims'] }, resource: PROVIDER };

describe('authorizationDetailsFor (unit)', () => {
  it('reads authorization_details from JWT claims and from an introspection answer top level (CONFORMANCE 73)', () => {
    const entry = { type: CLAIMS_TYPE, locations: [PROVIDER], claims: ['email'] };
    const jwtClaims = { iss: 'https://op.example', aud: PROVIDER, authorization_details: [entry] };
    const introspection = { active: true, iss: 'https://op.example', aud: [PROVIDER], scope: 'email', authorization_details: [entry] };
    expect(authorizationDetailsFor(jwtClaims, policy)).toEqual([entry]);
    expect(authorizationDetailsFor(introspection, policy)).toEqual([entry]);
    expect(authorizationDetailsFor({ iss: 'x' }, policy)).toEqual([]);
    expect(readAuthorizationDetails({ iss: 'x' })).toBeUndefined();
  });

  it('ignores types it does not implement, whatever their locations or fields (CONFORMANCE 73)', () => {
    const foreign = {
      type: PAYMENT,
      locations: ['https://bank.example'],
      instructedAmount: { currency: 'EUR', amount: '1' },
      actions: 'not-an-array',
    };
    const ours = { type: CLAIMS_TYPE };
    expect(authorizationDetailsFor({ authorization_details: [foreign] }, policy)).toEqual([]);
    expect(authorizationDetailsFor({ authorization_details: [foreign, ours] }, policy)).toEqual([ours]);
    // A prototype name is not an implemented type.
    expect(authorizationDetailsFor({ authorization_details: [{ type: 'constructor', locations: ['elsewhere'] }] }, policy)).toEqual([]);
  });

  it('refuses a malformed member as invalid_token: not an array, an entry without a string type (CONFORMANCE 73)', () => {
    for (const bad of [{ type: CLAIMS_TYPE }, 'x', [{ locations: [PROVIDER] }], [{ type: 7 }], [null], [[]]]) {
      expect(() => authorizationDetailsFor({ authorization_details: bad }, policy)).toThrow(InvalidTokenError);
    }
  });

  it('denies an implemented entry whose locations do not include this resource server, compared exactly (CONFORMANCE 74)', () => {
    const deny = (locations: unknown) => () =>
      authorizationDetailsFor({ authorization_details: [{ type: CLAIMS_TYPE, locations }] }, policy);
    expect(deny(['https://other.example.net/attributes'])).toThrow(InsufficientScopeError);
    expect(deny([`${PROVIDER}/`])).toThrow(InsufficientScopeError);
    expect(deny(['HTTPS://claims.example.net/attributes'])).toThrow(InsufficientScopeError);
    expect(deny([])).toThrow(InsufficientScopeError);
    expect(deny(PROVIDER)).toThrow(InsufficientScopeError);
    expect(deny(['https://other.example.net', PROVIDER])).not.toThrow();
    // One entry restricted elsewhere denies, even beside one that names this resource server.
    const mixed = {
      authorization_details: [
        { type: CLAIMS_TYPE, locations: [PROVIDER] },
        { type: CLAIMS_TYPE, locations: ['https://elsewhere.example'] },
      ],
    };
    expect(() => authorizationDetailsFor(mixed, policy)).toThrow(InsufficientScopeError);
    // Several identifiers: any of them will do.
    expect(
      authorizationDetailsFor(
        { authorization_details: [{ type: CLAIMS_TYPE, locations: ['https://b.example'] }] },
        { ...policy, resource: ['https://a.example', 'https://b.example'] },
      ),
    ).toHaveLength(1);
  });

  it('denies an implemented entry with an unknown field or a common field of the wrong type (CONFORMANCE 74)', () => {
    const check = (entry: Record<string, unknown>) => () =>
      authorizationDetailsFor({ authorization_details: [{ type: CLAIMS_TYPE, ...entry }] }, policy);
    expect(check({ surprise: true })).toThrow(InsufficientScopeError);
    expect(check({ actions: 'read' })).toThrow(InsufficientScopeError);
    expect(check({ identifier: 5 })).toThrow(InsufficientScopeError);
    expect(check({ actions: ['read'], datatypes: ['contacts'], identifier: 'x', privileges: ['admin'], claims: ['email'] })).not.toThrow();
  });
});

describe('authorization details at the claims endpoint (against oidc-provider)', () => {
  let as: DevAuthorizationServer;
  let app: express.Express;
  beforeAll(async () => {
    as = await startDevAuthorizationServer({ resources: [{ identifier: PROVIDER, scopes: PROVIDER_SCOPES, format: 'opaque' }] });
    const options: AttributeProviderRouterOptions = {
      resourceServer: {
        issuer: { issuer: as.issuer, validation: 'auto', introspection: { ...as.resourceServerClient } },
        resource: PROVIDER,
        logger: false,
      },
      signingKey: { key: (await providerKey()).privateKey, alg: 'ES256' },
      formats: ['json', 'jwt'],
      scopes: CUSTOM_SCOPES,
      authorizationDetailsType: CLAIMS_TYPE,
      findUser,
    };
    app = express();
    app.use('/attributes', attributeProvider(options));
  });
  afterAll(async () => {
    await as?.close();
  });

  const token = (authorization_details: unknown, scope = 'email profile credit') =>
    as.signToken({ claims: { sub: 'alice', scope, aud: PROVIDER, client_id: RP_CLIENT, authorization_details } });
  const get = async (t: string) => request(app).get('/attributes/claims').set('Authorization', `Bearer ${t}`);

  it('serves claims when the token carries only types the provider does not implement (CONFORMANCE 73)', async () => {
    const res = await get(
      await token([{ type: PAYMENT, locations: ['https://bank.example'], instructedAmount: { amount: '5' } }], 'email'),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sub: 'alice', email: 'alice@example.net', email_verified: true });
  });

  it('answers a malformed authorization_details member with 401 invalid_token (CONFORMANCE 73)', async () => {
    const res = await get(await token({ type: CLAIMS_TYPE }));
    expect(res.status).toBe(401);
    expect(Object.fromEntries(parseChallenges(res.headers['www-authenticate']!)[0]!.params).error).toBe('invalid_token');
  });

  it('denies with 403 when an implemented entry is restricted to other locations (CONFORMANCE 74)', async () => {
    const res = await get(await token([{ type: CLAIMS_TYPE, locations: ['https://other-provider.example.net/attributes'] }]));
    expect(res.status).toBe(403);
    expect(Object.fromEntries(parseChallenges(res.headers['www-authenticate']!)[0]!.params)).toMatchObject({ error: 'insufficient_scope' });
    expect(res.text).not.toContain('alice@example.net');
  });

  it('serves an implemented entry naming this provider, narrowed to its claims and never beyond the scopes (CONFORMANCE 74)', async () => {
    const res = await get(await token([{ type: CLAIMS_TYPE, locations: [PROVIDER], claims: ['email', 'credit_score', 'phone_number'] }]));
    expect(res.status).toBe(200);
    // phone_number is named by the details but no granted scope releases it.
    expect(res.body).toEqual({ sub: 'alice', email: 'alice@example.net', credit_score: 742 });
  });

  it('validates opaque tokens by introspection: a client-credentials token names no user and gets 401 invalid_token', async () => {
    const opaque = await as.mintAccessToken({ resource: PROVIDER, scope: 'email' });
    expect(opaque.split('.')).toHaveLength(1);
    const res = await get(opaque);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'the access token names no subject' });
  });
});
