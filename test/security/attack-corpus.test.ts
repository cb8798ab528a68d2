/**
 * The attack corpus: every case is refused with the right RFC 6750 answer through the Express layer, and
 * never with a 500, a stack trace, or the token in the answer.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { KeyObject, sign as cryptoSign } from 'node:crypto';
import { generateKeyPair, SignJWT, exportJWK } from 'jose';
import { oauthResourceServer, parseChallenges, requireScopes } from '../../src/index.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
let ti: TestIssuer;
let app: express.Express;
const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

beforeAll(async () => {
  ti = await createTestIssuer();
  app = express();
  app.use(oauthResourceServer({ issuer: ti.trustedIssuer, resource: API, logger: false }));
  app.get('/orders', requireScopes('read:orders'), (_req, res) => {
    res.json({ ok: true });
  });
});

const sign = (o: Parameters<typeof signTestToken>[1]) => signTestToken(ti, { scope: 'read:orders', ...o, audience: o.audience });
const now = () => Math.floor(Date.now() / 1000);
/** Sign anything, even what jose refuses to produce (crit, b64:false), with our RS256 key. */
function rawSign(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: ti.kid, ...header })}.${b64({ iss: ti.issuer, aud: API, sub: 's', client_id: 'c', iat: now(), exp: now() + 60, jti: 'j', scope: 'read:orders', ...claims })}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), KeyObject.from(ti.privateKey)).toString('base64url')}`;
}
/** A token with the given header and claims whose signature is our key's (so only the listed trick differs). */
async function crafted(header: Record<string, unknown>, claims: Record<string, unknown> = {}) {
  return sign({ audience: API, header, claims });
}

type Case = [name: string, make: () => Promise<string> | string, status: 400 | 401 | 403, error: string];
const cases: Case[] = [
  [
    'alg none',
    () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ iss: ti.issuer, aud: API, exp: now() + 60, scope: 'read:orders' })}.`,
    401,
    'invalid_token',
  ],
  [
    'alg NONE (other case)',
    () => `${b64({ alg: 'NONE', typ: 'at+jwt' })}.${b64({ iss: ti.issuer, aud: API, exp: now() + 60 })}.AAAA`,
    401,
    'invalid_token',
  ],
  [
    'alg None with a signature',
    () => `${b64({ alg: 'None', typ: 'at+jwt' })}.${b64({ iss: ti.issuer, aud: API, exp: now() + 60 })}.c2ln`,
    401,
    'invalid_token',
  ],
  [
    'HS256 signed with the public key',
    async () =>
      new SignJWT({ iss: ti.issuer, aud: API, sub: 's', client_id: 'c', iat: now(), exp: now() + 60, jti: 'j', scope: 'read:orders' })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: ti.kid })
        .sign(new TextEncoder().encode(JSON.stringify(ti.jwks.keys[0]))),
    401,
    'invalid_token',
  ],
  ['unknown kid', () => crafted({ kid: 'nope' }), 401, 'invalid_token'],
  ['kid with path tricks', () => crafted({ kid: '../../../../etc/passwd' }), 401, 'invalid_token'],
  ['kid with SQL', () => crafted({ kid: "' OR '1'='1" }), 401, 'invalid_token'],
  [
    'jku pointing elsewhere',
    async () => {
      const { privateKey } = await generateKeyPair('RS256');
      return new SignJWT({
        iss: ti.issuer,
        aud: API,
        sub: 's',
        client_id: 'c',
        iat: now(),
        exp: now() + 60,
        jti: 'j',
        scope: 'read:orders',
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', jku: 'https://evil.example/jwks', kid: 'evil' })
        .sign(privateKey);
    },
    401,
    'invalid_token',
  ],
  [
    'embedded jwk of the attacker',
    async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS256');
      return new SignJWT({
        iss: ti.issuer,
        aud: API,
        sub: 's',
        client_id: 'c',
        iat: now(),
        exp: now() + 60,
        jti: 'j',
        scope: 'read:orders',
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', jwk: await exportJWK(publicKey) })
        .sign(privateKey);
    },
    401,
    'invalid_token',
  ],
  [
    'x5u pointing elsewhere, our kid',
    () =>
      crafted({ x5u: 'https://evil.example/cert.pem' }).then(
        (t) => `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'x', x5u: 'https://evil.example' })}.${t.split('.')[1]}.${t.split('.')[2]}`,
      ),
    401,
    'invalid_token',
  ],
  ['unknown crit', () => rawSign({ crit: ['exp-ext'], 'exp-ext': 1 }, {}), 401, 'invalid_token'],
  ['b64 false', () => rawSign({ b64: false, crit: ['b64'] }, {}), 401, 'invalid_token'],
  ['JWE where JWS is expected', () => `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.AAAA.AAAA.AAAA.AAAA`, 401, 'invalid_token'],
  [
    'nested JWT (cty JWT, payload a JWT)',
    async () => {
      const inner = await sign({ audience: API });
      return new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', cty: 'JWT', kid: ti.kid })
        .sign(ti.privateKey)
        .then(() => `${b64({ alg: 'RS256', typ: 'at+jwt', cty: 'JWT', kid: ti.kid })}.${b64(inner)}.AAAA`);
    },
    401,
    'invalid_token',
  ],
  ['expired', () => sign({ audience: API, claims: { exp: now() - 3600 } }), 401, 'invalid_token'],
  ['nbf in the future', () => sign({ audience: API, claims: { nbf: now() + 3600 } }), 401, 'invalid_token'],
  ['iat far in the future', () => sign({ audience: API, claims: { iat: now() + 86400 } }), 401, 'invalid_token'],
  ['wrong iss', () => sign({ audience: API, claims: { iss: 'https://evil.example' } }), 401, 'invalid_token'],
  ['iss with a trailing slash', () => sign({ audience: API, claims: { iss: `${ti.issuer}/` } }), 401, 'invalid_token'],
  ['aud missing', () => sign({ audience: API, claims: { aud: undefined } }), 401, 'invalid_token'],
  ['aud of another resource', () => sign({ audience: 'https://other.example.com' }), 401, 'invalid_token'],
  ['aud array without ours', () => sign({ audience: ['https://a.example', 'https://b.example'] }), 401, 'invalid_token'],
  ['aud a prefix of ours', () => sign({ audience: 'https://api.example.co' }), 401, 'invalid_token'],
  ['typ JWT (an ID token)', () => crafted({ typ: 'JWT' }), 401, 'invalid_token'],
  ['no typ', () => crafted({ typ: undefined }).then((t) => t), 401, 'invalid_token'],
  ['scope read:ordersx', () => sign({ audience: API, scope: 'read:ordersx' }), 403, 'insufficient_scope'],
  ['scope as an object', () => sign({ audience: API, claims: { scope: { 'read:orders': true } } }), 401, 'invalid_token'],
  ['scope as an array', () => sign({ audience: API, claims: { scope: ['read:orders'] } }), 401, 'invalid_token'],
  ['bad base64url', () => 'eyJ!!!.eyJ???.sig', 400, 'invalid_request'],
  ['extra segments', async () => `${await sign({ audience: API })}.extra`, 401, 'invalid_token'],
  ['empty segments', () => '..', 401, 'invalid_token'],
  ['oversized token', () => 'a'.repeat(10_000), 400, 'invalid_request'],
];

describe('attack corpus', () => {
  it('the controls pass: the tricks below are refused for the trick, not for how the tokens are made', async () => {
    for (const token of [rawSign({}, {}), await crafted({}), await sign({ audience: API })]) {
      expect((await request(app).get('/orders').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    }
  });

  it.each(cases)('%s is refused with the right answer', async (_name, make, status, error) => {
    const token = await make();
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(status);
    const [c] = parseChallenges(res.headers['www-authenticate']!);
    expect(Object.fromEntries(c!.params).error).toBe(error);
    expect(res.text).not.toContain(token.slice(0, 30));
    expect(res.text).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('duplicated claims: the lexically last wins (RFC 7519 §4), so a second aud cannot smuggle ours past the signature', async () => {
    const good = await sign({ audience: 'https://other.example.com' });
    const [h, , s] = good.split('.');
    const tampered = `${h}.${b64(`{"aud":"${API}","aud":"https://other.example.com","iss":"${ti.issuer}"}`)}.${s}`;
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${tampered}`);
    expect(res.status).toBe(401);
  });

  it('an oversized header, many Authorization headers, or a token in two places are 400, never 500', async () => {
    const t = await sign({ audience: API });
    expect(
      (
        await request(app)
          .get('/orders')
          .set('Authorization', `Bearer ${'x'.repeat(9000)}`)
      ).status,
    ).toBe(400);
    expect((await request(app).get(`/orders?access_token=${t}`).set('Authorization', `Bearer ${t}`)).status).toBe(400);
  });

  it('a valid token of another issuer that shares the JWKS is refused: trust is per issuer', async () => {
    const twin = { ...ti, issuer: 'https://twin.example', trustedIssuer: { issuer: 'https://twin.example', jwks: ti.jwks } };
    const res = await request(app)
      .get('/orders')
      .set('Authorization', `Bearer ${await signTestToken(twin, { audience: API, scope: 'read:orders' })}`);
    expect(res.status).toBe(401);
  });
});
