/** DPoP (RFC 9449) at the resource server, with proofs made by jose and tokens signed by the dev AS. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { normalizeHtu } from '../../src/sender/dpop.js';
import {
  MemoryStore,
  requireDpop,
  oauthResourceServer,
  parseChallenges,
  protectedResourceMetadata,
  requireScopes,
  type AtomicStore,
  type ResourceServerOptions,
} from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
const HTU = `${API}/orders`;
let as: DevAuthorizationServer;
let key: { privateKey: CryptoKey; jwk: JWK; jkt: string };
let other: { privateKey: CryptoKey; jwk: JWK; jkt: string };

async function makeKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders'] }] });
  key = await makeKey();
  other = await makeKey();
});
afterAll(async () => {
  await as?.close();
});

function app(extra: Partial<ResourceServerOptions> = {}) {
  const a = express();
  const rs = oauthResourceServer({ issuer: as.issuer, resource: API, dpop: { baseUrl: API }, logger: false, metadata: true, ...extra });
  a.use(protectedResourceMetadata(rs));
  a.use(rs);
  a.get('/orders', requireScopes('read:orders'), (_req, res) => {
    res.json({ ok: true });
  });
  return a;
}
const boundToken = (jkt = key.jkt) => as.signToken({ claims: { aud: API, scope: 'read:orders', cnf: { jkt } } });
const ath = (t: string) => createHash('sha256').update(t).digest('base64url');
async function proof(
  token: string,
  o: {
    htm?: string;
    htu?: string;
    iat?: number;
    jti?: string;
    ath?: string;
    nonce?: string;
    typ?: string;
    k?: typeof key;
    header?: Record<string, unknown>;
  } = {},
) {
  const k = o.k ?? key;
  const payload: Record<string, unknown> = {
    htm: o.htm ?? 'GET',
    htu: o.htu ?? HTU,
    iat: o.iat ?? Math.floor(Date.now() / 1000),
    jti: o.jti ?? randomBytes(12).toString('base64url'),
    ath: o.ath ?? ath(token),
  };
  if (o.nonce) payload.nonce = o.nonce;
  return new SignJWT(payload).setProtectedHeader({ typ: o.typ ?? 'dpop+jwt', alg: 'ES256', jwk: k.jwk, ...o.header }).sign(k.privateKey);
}
const challenge = (res: request.Response) =>
  parseChallenges(res.headers['www-authenticate']!).map((c) => ({ scheme: c.scheme, params: Object.fromEntries(c.params) }));
const call = async (a: express.Express, token: string, p: string) =>
  request(a).get('/orders').set('Authorization', `DPoP ${token}`).set('DPoP', p);

describe('DPoP proofs (RFC 9449)', () => {
  it('accepts a DPoP-bound token with a valid proof', async () => {
    const t = await boundToken();
    expect((await call(app(), t, await proof(t))).status).toBe(200);
  });

  it('refuses a DPoP-bound token presented as Bearer (CONFORMANCE 35)', async () => {
    const res = await request(app())
      .get('/orders')
      .set('Authorization', `Bearer ${await boundToken()}`);
    expect(res.status).toBe(401);
    expect(challenge(res)[0]!.params.error).toBe('invalid_token');
  });

  it('requires exactly one DPoP header with typ dpop+jwt, an asymmetric alg and a public jwk (CONFORMANCE 36)', async () => {
    const a = app();
    const t = await boundToken();
    expect((await request(a).get('/orders').set('Authorization', `DPoP ${t}`)).status).toBe(401);
    expect((await call(a, t, await proof(t, { typ: 'JWT' }))).status).toBe(401);
    const withPrivate = await proof(t, { header: { jwk: { ...key.jwk, d: 'AAAA' } } });
    expect((await call(a, t, withPrivate)).status).toBe(401);
    const hmac = await new SignJWT({ htm: 'GET', htu: HTU, iat: Math.floor(Date.now() / 1000), jti: 'h', ath: ath(t) })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: key.jwk })
      .sign(randomBytes(32));
    const res = await call(a, t, hmac);
    expect(res.status).toBe(401);
    expect(challenge(res)[0]).toMatchObject({ scheme: 'DPoP', params: { error: 'invalid_dpop_proof' } });
    // Two DPoP headers, sent raw (Node keeps both in rawHeaders).
    const server = a.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const p1 = await proof(t);
      const p2 = await proof(t);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/orders' }, (r) => {
          r.resume();
          resolve(r.statusCode!);
        });
        req.setHeader('Authorization', `DPoP ${t}`);
        req.setHeader('DPoP', [p1, p2]);
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(401);
    } finally {
      server.close();
    }
  });

  it('refuses a proof for another method or URI, and ignores the query (CONFORMANCE 37)', async () => {
    const a = app();
    const t = await boundToken();
    expect((await call(a, t, await proof(t, { htm: 'POST' }))).status).toBe(401);
    expect((await call(a, t, await proof(t, { htu: 'https://other.example.com/orders' }))).status).toBe(401);
    expect((await call(a, t, await proof(t, { htu: `${API}/orders/1` }))).status).toBe(401);
    const withQuery = await request(a)
      .get('/orders?page=2')
      .set('Authorization', `DPoP ${t}`)
      .set('DPoP', await proof(t, { htu: `${HTU}?page=2#x` }));
    expect(withQuery.status).toBe(200);
  });

  it('compares htu after RFC 3986 normalisation: unreserved escapes decoded, others upper-cased, reserved ones kept (§4.3 check 9)', () => {
    expect(normalizeHtu('https://API.example.com:443/files/%7eab')).toBe(normalizeHtu('https://api.example.com/files/~ab'));
    expect(normalizeHtu('https://api.example.com/files/%41b')).toBe('https://api.example.com/files/Ab');
    expect(normalizeHtu('https://api.example.com/a%2fb')).toBe('https://api.example.com/a%2Fb');
    expect(normalizeHtu('https://api.example.com/a%2Fb')).not.toBe(normalizeHtu('https://api.example.com/a/b'));
    expect(normalizeHtu('https://api.example.com/x/../orders?q=1#f')).toBe('https://api.example.com/orders');
  });

  it('never lets a hostile Host header make a proof for another URL pass', async () => {
    const t = await boundToken();
    const res = await request(app())
      .get('/orders')
      .set('Host', 'evil.example')
      .set('Authorization', `DPoP ${t}`)
      .set('DPoP', await proof(t, { htu: 'https://evil.example/orders' }));
    expect(res.status).toBe(401);
  });

  it('refuses a proof whose ath is not the hash of the presented token (CONFORMANCE 38)', async () => {
    const t = await boundToken();
    expect((await call(app(), t, await proof(t, { ath: ath('another-token') }))).status).toBe(401);
  });

  it('refuses a proof signed by a key other than the one the token is bound to (CONFORMANCE 39)', async () => {
    const t = await boundToken();
    const res = await call(app(), t, await proof(t, { k: other }));
    expect(res.status).toBe(401);
    expect(challenge(res)[0]).toMatchObject({ scheme: 'DPoP', params: { error: 'invalid_token' } });
  });

  it('checks every signature although a seen proof key is imported once: a known header over a foreign signature is refused', async () => {
    const a = app();
    const t = await boundToken();
    expect((await call(a, t, await proof(t))).status).toBe(200); // key.jwk is now imported and remembered
    // The same protected header (key.jwk) signed by another key: the remembered key must still verify it.
    const forged = await proof(t, { k: { ...other, jwk: key.jwk } });
    const res = await call(a, t, forged);
    expect(res.status).toBe(401);
    expect(challenge(res)[0]).toMatchObject({ scheme: 'DPoP', params: { error: 'invalid_dpop_proof' } });
    // And another client's key in a header never seen is imported and bound on its own.
    const t2 = await boundToken(other.jkt);
    expect((await call(a, t2, await proof(t2, { k: other }))).status).toBe(200);
    expect((await call(a, t, await proof(t, { k: other }))).status).toBe(401);
  });

  it('refuses a reused jti and an iat outside the window (CONFORMANCE 40)', async () => {
    const a = app();
    const t = await boundToken();
    const p = await proof(t, { jti: 'once' });
    expect((await call(a, t, p)).status).toBe(200);
    expect((await call(a, t, p)).status).toBe(401);
    expect((await call(a, t, await proof(t, { iat: Math.floor(Date.now() / 1000) - 600 }))).status).toBe(401);
    expect((await call(a, t, await proof(t, { iat: Math.floor(Date.now() / 1000) + 600 }))).status).toBe(401);
  });

  it('uses the DPoP scheme with algs in challenges, invalid_dpop_proof for a bad proof (CONFORMANCE 41)', async () => {
    const t = await boundToken();
    const res = await call(app(), t, 'not.a.proof');
    expect(res.status).toBe(401);
    const [c] = challenge(res);
    expect(c!.scheme).toBe('DPoP');
    expect(c!.params.error).toBe('invalid_dpop_proof');
    expect(c!.params.algs).toContain('ES256');
  });

  it('demands the server nonce when nonces are on, and never downgrades (CONFORMANCE 42)', async () => {
    const a = app({ dpop: { baseUrl: API, nonce: { secret: randomBytes(32) } } });
    const t = await boundToken();
    const first = await call(a, t, await proof(t));
    expect(first.status).toBe(401);
    expect(challenge(first)[0]).toMatchObject({ scheme: 'DPoP', params: { error: 'use_dpop_nonce' } });
    const nonce = first.headers['dpop-nonce']!;
    expect(nonce).toBeTruthy();
    expect((await call(a, t, await proof(t, { nonce }))).status).toBe(200);
    expect((await call(a, t, await proof(t, { nonce: 'made-up' }))).status).toBe(401);
    expect((await call(a, t, await proof(t))).status).toBe(401);
  });

  it('answers a request without credentials with both Bearer and DPoP challenges, without error (CONFORMANCE 43)', async () => {
    const res = await request(app()).get('/orders');
    expect(res.status).toBe(401);
    const cs = challenge(res);
    expect(cs.map((c) => c.scheme)).toEqual(['Bearer', 'DPoP']);
    expect(cs.every((c) => c.params.error === undefined)).toBe(true);
    expect(cs[1]!.params.algs).toContain('ES256');
  });

  it('refuses plain bearer tokens when DPoP is required, and says so in the metadata (CONFORMANCE 53)', async () => {
    const required = app({ dpop: { baseUrl: API, mode: 'required' } });
    const plain = await as.signToken({ claims: { aud: API, scope: 'read:orders' } });
    const res = await request(required).get('/orders').set('Authorization', `Bearer ${plain}`);
    expect(res.status).toBe(401);
    expect(challenge(res)[0]!.scheme).toBe('DPoP');
    expect((await request(required).get('/.well-known/oauth-protected-resource')).body.dpop_bound_access_tokens_required).toBe(true);
    expect((await request(app()).get('/.well-known/oauth-protected-resource')).body.dpop_bound_access_tokens_required).toBeUndefined();
    expect((await request(app()).get('/orders').set('Authorization', `Bearer ${plain}`)).status).toBe(200);
  });

  it('refuses at replica B a proof already used at replica A when they share a replay store (RFC 9449 §11.1)', async () => {
    const shared = new MemoryStore();
    const a = app({ dpop: { baseUrl: API, replayStore: shared } });
    const b = app({ dpop: { baseUrl: API, replayStore: shared } });
    const t = await boundToken();
    const p = await proof(t);
    expect((await call(a, t, p)).status).toBe(200);
    expect((await call(b, t, p)).status).toBe(401);
    const unshared = app();
    expect((await call(unshared, t, p)).status).toBe(200);
  });

  it('fails closed (503) when the replay store fails, unless told to fall back to the local set', async () => {
    const broken: AtomicStore = {
      get: () => Promise.reject(new Error('down')),
      set: () => Promise.reject(new Error('down')),
      delete: () => Promise.reject(new Error('down')),
      setIfAbsent: () => Promise.reject(new Error('down')),
      withLock: () => Promise.reject(new Error('down')),
    };
    const t = await boundToken();
    const closed = await call(app({ dpop: { baseUrl: API, replayStore: broken } }), t, await proof(t));
    expect(closed.status).toBe(503);
    expect(closed.headers['retry-after']).toMatch(/^\d+$/);
    expect((await call(app({ dpop: { baseUrl: API, replayStore: broken, replayStoreFailure: 'local' } }), t, await proof(t))).status).toBe(
      200,
    );
  });

  it('requires DPoP on one route while the app allows Bearer (per-route policy)', async () => {
    const a = express();
    a.use(oauthResourceServer({ issuer: as.issuer, resource: API, dpop: { baseUrl: API }, logger: false }));
    a.get('/orders', requireDpop(), requireScopes('read:orders'), (_req, res) => {
      res.json({ ok: true });
    });
    a.get('/public-ish', requireScopes('read:orders'), (_req, res) => {
      res.json({ ok: true });
    });
    const plain = await as.signToken({ claims: { aud: API, scope: 'read:orders' } });
    const refused = await request(a).get('/orders').set('Authorization', `Bearer ${plain}`);
    expect(refused.status).toBe(401);
    expect(challenge(refused)[0]).toMatchObject({ scheme: 'DPoP', params: { error: 'invalid_token' } });
    expect((await request(a).get('/public-ish').set('Authorization', `Bearer ${plain}`)).status).toBe(200);
    const t = await boundToken();
    expect((await call(a, t, await proof(t))).status).toBe(200);
  });
});

describe('DPoP and other token locations', () => {
  it('answers a DPoP token plus a query access_token with 400 invalid_request, as for Bearer', async () => {
    const t = await boundToken();
    const res = await request(app())
      .get(`/orders?access_token=${t}`)
      .set('Authorization', `DPoP ${t}`)
      .set('DPoP', await proof(t));
    expect(res.status).toBe(400);
    expect(challenge(res)[0]!.params.error).toBe('invalid_request');
  });
});
