/**
 * RFC 6750 §3 challenges and error codes: CONFORMANCE rules 11–14.
 * (Rule 15, `resource_metadata`, arrives with RFC 9728 metadata and is not tested yet.)
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import express from 'express';
import type { Request, Response } from 'express';
import {
  oauthResourceServer,
  requireScopes,
  parseChallenges,
  formatChallenge,
  InvalidTokenError,
  InsufficientScopeError,
  InvalidRequestError,
  type ResourceServerOptions,
} from '../../src/index.js';
import { answerFor } from '../../src/answers/error-answer.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { challengeOf } from '../helpers/challenge.js';

const API = 'https://api.example.com';
const ERROR_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/; // RFC 6750 §3: printable ASCII without " and \
const CHALLENGE_PARAMS = ['realm', 'scope', 'error', 'error_description', 'error_uri'];

let as: DevAuthorizationServer;
let readToken: string;

beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders', 'write:orders'] }] });
  readToken = await as.mintAccessToken({ resource: API, scope: 'read:orders' });
});
afterAll(async () => {
  await as?.close();
});

function app(opts: Partial<ResourceServerOptions> = {}) {
  const a = express();
  a.use(oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, resource: API, logger: false, ...opts }));
  const ok = (_req: Request, res: Response) => {
    res.json({ ok: true });
  };
  a.get('/orders', requireScopes('read:orders'), ok);
  a.post('/orders', requireScopes('write:orders'), ok);
  a.delete('/orders', requireScopes('read:orders', 'write:orders'), ok);
  return a;
}

function expectInvalidToken(res: { status: number; headers: Record<string, unknown>; body: { error?: string } }): void {
  expect(res.status).toBe(401);
  const c = challengeOf(res.headers['www-authenticate']);
  expect(c.scheme).toBe('Bearer');
  expect(c.params.error).toBe('invalid_token');
  expect(res.body.error).toBe('invalid_token');
}

describe('invalid tokens (CONFORMANCE 11)', () => {
  it('control: a valid token is accepted (CONFORMANCE 11)', async () => {
    const res = await request(app()).get('/orders').set('Authorization', `Bearer ${readToken}`);
    expect(res.status).toBe(200);
  });

  it('answers an expired token with 401 invalid_token (CONFORMANCE 11)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await as.signToken({ claims: { iat: now - 7200, exp: now - 3600, scope: 'read:orders' } });
    expectInvalidToken(await request(app()).get('/orders').set('Authorization', `Bearer ${expired}`));
  });

  it.each([
    ['not a JWT', 'abcdef'],
    ['two segments', 'abc.def'],
    ['segments that are not JSON', 'abc.def.ghi'],
    ['an empty signature', 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.'],
  ])('answers a malformed token (%s) with 401 invalid_token (CONFORMANCE 11)', async (_what, bad) => {
    expectInvalidToken(await request(app()).get('/orders').set('Authorization', `Bearer ${bad}`));
  });

  it('answers a token whose signature does not verify with 401 invalid_token (CONFORMANCE 11)', async () => {
    const [h, p, s] = readToken.split('.') as [string, string, string];
    const flipped = `${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expectInvalidToken(await request(app()).get('/orders').set('Authorization', `Bearer ${h}.${p}.${flipped}`));
  });

  it('answers a token whose payload was altered with 401 invalid_token (CONFORMANCE 11)', async () => {
    const [h, p, s] = readToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    claims.scope = 'read:orders write:orders';
    const altered = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const res = await request(app()).post('/orders').set('Authorization', `Bearer ${h}.${altered}.${s}`);
    expectInvalidToken(res);
  });
});

describe('insufficient scope (CONFORMANCE 12)', () => {
  it('answers a valid token lacking the scope with 403 insufficient_scope naming the scope (CONFORMANCE 12)', async () => {
    const res = await request(app()).post('/orders').set('Authorization', `Bearer ${readToken}`);
    expect(res.status).toBe(403);
    const c = challengeOf(res.headers['www-authenticate']);
    expect(c.scheme).toBe('Bearer');
    expect(c.params.error).toBe('insufficient_scope');
    expect(c.params.scope).toBe('write:orders');
    expect(res.body.error).toBe('insufficient_scope');
  });

  it('names every needed scope, space-delimited (CONFORMANCE 12)', async () => {
    const res = await request(app()).delete('/orders').set('Authorization', `Bearer ${readToken}`);
    expect(res.status).toBe(403);
    const c = challengeOf(res.headers['www-authenticate']);
    expect(c.params.error).toBe('insufficient_scope');
    expect(c.params.scope!.split(' ').sort()).toEqual(['read:orders', 'write:orders']);
  });

  it('leaves the scope attribute out when configured not to name scopes (CONFORMANCE 12)', async () => {
    const res = await request(app({ scopes: { includeInChallenge: false } }))
      .post('/orders')
      .set('Authorization', `Bearer ${readToken}`);
    expect(res.status).toBe(403);
    const c = challengeOf(res.headers['www-authenticate']);
    expect(c.params.error).toBe('insufficient_scope');
    expect(c.names).not.toContain('scope');
  });
});

describe('challenge parameters (CONFORMANCE 13, 14)', () => {
  /** Requests that produce each kind of challenge. */
  async function everyChallenge(
    realm: string | undefined,
  ): Promise<Array<{ what: string; header: string; body: string; token: string | undefined }>> {
    const a = app(realm === undefined ? {} : { realm });
    const now = Math.floor(Date.now() / 1000);
    const expired = await as.signToken({ claims: { iat: now - 7200, exp: now - 3600 } });
    const wrongTyp = await as.signToken({ header: { typ: 'JWT' } });
    const out: Array<{ what: string; header: string; body: string; token: string | undefined }> = [];
    const cases: Array<[string, string | undefined, 'get' | 'post']> = [
      ['no credentials', undefined, 'get'],
      ['malformed header', `${readToken},x`, 'get'],
      ['expired', expired, 'get'],
      ['wrong typ', wrongTyp, 'get'],
      ['insufficient scope', readToken, 'post'],
    ];
    for (const [what, token, method] of cases) {
      let r = request(a)[method]('/orders');
      if (token !== undefined) r = r.set('Authorization', `Bearer ${token}`);
      const res = await r;
      expect([400, 401, 403]).toContain(res.status);
      out.push({ what, header: res.headers['www-authenticate'] as string, body: res.text, token });
    }
    return out;
  }

  it.each([undefined, 'orders "api" \\ v1'])(
    'writes realm, scope, error, error_description, error_uri at most once (realm %p) (CONFORMANCE 13)',
    async (realm) => {
      for (const { what, header } of await everyChallenge(realm)) {
        const challenges = parseChallenges(header);
        expect({ what, count: challenges.length }).toEqual({ what, count: 1 });
        const names = challenges[0]!.params.map(([n]) => n);
        for (const p of CHALLENGE_PARAMS) expect({ what, p, n: names.filter((n) => n === p).length <= 1 }).toEqual({ what, p, n: true });
        expect(new Set(names).size).toBe(names.length);
        if (realm !== undefined) expect(Object.fromEntries(challenges[0]!.params).realm).toBe(realm);
      }
    },
  );

  it('the challenge writer drops a repeated parameter (CONFORMANCE 13)', () => {
    const header = formatChallenge({
      scheme: 'Bearer',
      params: [
        ['realm', 'a'],
        ['error', 'invalid_token'],
        ['Error', 'insufficient_scope'],
        ['scope', 'x'],
        ['scope', 'y'],
        ['error_description', 'one'],
        ['error_description', 'two'],
        ['error_uri', 'https://e/1'],
        ['error_uri', 'https://e/2'],
        ['realm', 'b'],
      ],
    });
    const params = parseChallenges(header)[0]!.params;
    expect(params).toEqual([
      ['realm', 'a'],
      ['error', 'invalid_token'],
      ['scope', 'x'],
      ['error_description', 'one'],
      ['error_uri', 'https://e/1'],
    ]);
  });

  it('error_description of every challenge has no " or \\ and no token material (CONFORMANCE 14)', async () => {
    for (const { what, header, body, token } of await everyChallenge('orders')) {
      const params = Object.fromEntries(parseChallenges(header)[0]!.params);
      if (params.error_description !== undefined)
        expect({ what, ok: ERROR_CHARS.test(params.error_description) }).toEqual({ what, ok: true });
      if (params.error !== undefined) expect(ERROR_CHARS.test(params.error)).toBe(true);
      if (token !== undefined) {
        for (const part of [token, ...token.split(/[.,]/).filter((s) => s.length >= 8)]) {
          expect({ what, inHeader: header.includes(part), inBody: body.includes(part) }).toEqual({ what, inHeader: false, inBody: false });
        }
      }
    }
  });

  it('an error message with " and \\ becomes a legal error_description (CONFORMANCE 14)', () => {
    const settings = { realm: undefined, includeScopeInChallenge: true, format: 'json' as const };
    for (const err of [
      new InvalidTokenError('ERR_TOKEN_CLAIM', 'bad "claim" \\ here\r\nX-Injected: 1'),
      new InsufficientScopeError(['read:orders'], 'needs "read:orders" \\'),
      new InvalidRequestError('ERR_REQUEST_MALFORMED', '"\\"'),
    ]) {
      const answer = answerFor(err, settings);
      const header = answer.headers['www-authenticate']!;
      expect(header).not.toMatch(/[\r\n]/);
      const params = Object.fromEntries(parseChallenges(header)[0]!.params);
      expect(params.error_description).toBeDefined();
      expect(ERROR_CHARS.test(params.error_description!)).toBe(true);
    }
  });
});
