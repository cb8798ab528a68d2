/** RFC 9396 authorization_details checked by the core on every request (CONFORMANCE 73, 74). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { oauthResourceServer, protectedResourceMetadata } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
let as: DevAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['pay'] }] });
});
afterAll(async () => {
  await as?.close();
});

function app() {
  const rs = oauthResourceServer({
    issuer: as.issuer,
    resource: API,
    authorizationDetails: { types: { payment_initiation: ['instructedAmount'] } },
    metadata: true,
    logger: false,
  });
  const a = express();
  a.use(protectedResourceMetadata(rs));
  a.use(rs);
  a.post('/payments', (_req, res) => {
    res.status(201).end();
  });
  return a;
}
const withDetails = (details: unknown) => as.signToken({ claims: { aud: API, authorization_details: details } });

describe('authorization_details in the core', () => {
  it('ignores entries of types it does not implement (CONFORMANCE 73)', async () => {
    const t = await withDetails([{ type: 'https://other.example/type', locations: ['https://elsewhere.example'], whatever: 1 }]);
    expect((await request(app()).post('/payments').set('Authorization', `Bearer ${t}`)).status).toBe(201);
  });

  it('denies an implemented entry whose locations do not include this resource (CONFORMANCE 74)', async () => {
    const ours = await withDetails([{ type: 'payment_initiation', locations: [API], instructedAmount: { amount: '1' } }]);
    expect((await request(app()).post('/payments').set('Authorization', `Bearer ${ours}`)).status).toBe(201);
    const elsewhere = await withDetails([{ type: 'payment_initiation', locations: ['https://bank.example.com'] }]);
    expect((await request(app()).post('/payments').set('Authorization', `Bearer ${elsewhere}`)).status).toBe(403);
    const notArray = await withDetails({ type: 'payment_initiation' });
    expect((await request(app()).post('/payments').set('Authorization', `Bearer ${notArray}`)).status).toBe(401);
  });

  it('advertises the implemented types in the metadata', async () => {
    const res = await request(app()).get('/.well-known/oauth-protected-resource');
    expect(res.body.authorization_details_types_supported).toEqual(['payment_initiation']);
  });
});
