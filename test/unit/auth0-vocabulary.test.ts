/**
 * What users of express-oauth2-jwt-bearer reach for, on Express 4 and 5: `requireScopes('a b')` as all-of,
 * `requireClaims` (equals / includes / a check; 401 invalid_token, RFC 6750 §3.1), the token's protected
 * header on the auth context and the raw token through `getAccessToken(req)` (never in the context), and
 * `errorResponse: 'next'` errors carrying `status`, `statusCode`, `headers` and the OAuth error code.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import request from 'supertest';
import { inspect } from 'node:util';
import {
  ConfigurationError,
  getAccessToken,
  getAuth,
  oauthResourceServer,
  parseChallenges,
  requireClaims,
  requireScopes,
  ResourceServerError,
  ROUTE_SCOPES,
  type ResourceServerOptions,
} from '../../src/index.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express-versions.js';

const API = 'https://api.example.com';
let ti: TestIssuer;
beforeAll(async () => {
  ti = await createTestIssuer();
});

const kit = (options: Partial<ResourceServerOptions> = {}) =>
  oauthResourceServer({ issuer: ti.trustedIssuer, resource: API, logger: false, ...options });
const token = (claims: Record<string, unknown> = {}, scope?: string) =>
  signTestToken(ti, { audience: API, claims, ...(scope ? { scope } : {}) });
const ok: RequestHandler = (_req, res) => {
  res.json({ ok: true });
};
const challenge = (header: unknown) => Object.fromEntries(parseChallenges(header as string)[0]!.params);

describe('requireScopes with a space-separated list', () => {
  it('is all-of, like requireScopes(a, b)', () => {
    const spaced = requireScopes('read:msg write:msg');
    const listed = requireScopes('read:msg', 'write:msg');
    expect(spaced[ROUTE_SCOPES]).toEqual({ kind: 'static', requirement: { allOf: ['read:msg', 'write:msg'], anyOf: [] } });
    expect(spaced[ROUTE_SCOPES]).toEqual(listed[ROUTE_SCOPES]);
  });

  it.each([['read:msg  write:msg'], [' read:msg'], ['read:msg '], ['read:msg\twrite:msg']])(
    '%j (not single spaces between scope-tokens) is a ConfigurationError at declaration',
    (s) => {
      expect(() => requireScopes(s)).toThrow(ConfigurationError);
    },
  );

  it('stays a string-form shape only: a declaration object with a spaced scope is still refused', () => {
    expect(() => requireScopes({ allOf: ['read:msg write:msg'] })).toThrow(ConfigurationError);
    expect(() => requireScopes({ anyOf: ['read:msg write:msg'] })).toThrow(ConfigurationError);
  });
});

describe.each(EXPRESS_VERSIONS)('on %s', (_name, express) => {
  it('requireScopes("read:msg write:msg") needs both, and a 403 names both', async () => {
    const app = express();
    app.use(kit());
    app.get('/m', requireScopes('read:msg write:msg'), ok);
    expect(
      (
        await request(app)
          .get('/m')
          .set('Authorization', `Bearer ${await token({}, 'read:msg write:msg')}`)
      ).status,
    ).toBe(200);
    const res = await request(app)
      .get('/m')
      .set('Authorization', `Bearer ${await token({}, 'read:msg')}`);
    expect(res.status).toBe(403);
    expect(challenge(res.headers['www-authenticate'])).toMatchObject({ error: 'insufficient_scope', scope: 'read:msg write:msg' });
  });

  describe('requireClaims', () => {
    function app() {
      const a = express();
      a.use(kit());
      a.get('/equals', requireClaims({ tenant: 'acme', email_verified: true }), ok);
      a.get('/equals-member', requireClaims({ tenant: { equals: 'acme' } }), ok);
      a.get('/includes', requireClaims<{ roles: string[] }>({ roles: { includes: ['admin', 'billing'] } }), ok);
      a.get('/includes-string', requireClaims({ permissions: { includes: 'delete:msg' } }), ok);
      a.get('/claim-fn', requireClaims<{ amr: string[] }>({ amr: (amr) => Array.isArray(amr) && amr.includes('mfa') }), ok);
      a.get(
        '/predicate',
        requireClaims<{ org: { id: string } }>((claims) => claims.org.id === 'o1', { description: 'only members of o1' }),
        ok,
      );
      a.get(
        '/async',
        requireClaims(async (claims) => claims.sub === 'alice'),
        ok,
      );
      a.get('/truthy', requireClaims(((claims: { sub?: string }) => claims.sub) as never), ok);
      return a;
    }
    const call = async (path: string, claims: Record<string, unknown>) =>
      request(app())
        .get(path)
        .set('Authorization', `Bearer ${await token(claims)}`);

    it.each([
      ['/equals', { tenant: 'acme', email_verified: true }],
      ['/equals-member', { tenant: 'acme' }],
      ['/includes', { roles: ['user', 'admin', 'billing'] }],
      // A space-delimited string claim is read like scope.
      ['/includes', { roles: 'admin billing' }],
      ['/includes-string', { permissions: 'read:msg delete:msg' }],
      ['/claim-fn', { amr: ['pwd', 'mfa'] }],
      ['/predicate', { org: { id: 'o1' } }],
      ['/async', { sub: 'alice' }],
    ])('%s lets a token whose claims pass through', async (path, claims) => {
      expect((await call(path, claims)).status).toBe(200);
    });

    it.each([
      ['/equals', { tenant: 'acme', email_verified: 'true' }, 'email_verified'],
      ['/equals', { email_verified: true }, 'tenant'],
      ['/equals-member', { tenant: 'ACME' }, 'tenant'],
      ['/includes', { roles: ['admin'] }, 'roles'],
      ['/includes', { roles: { admin: true, billing: true } }, 'roles'],
      ['/includes-string', { permissions: 'read:msg delete:msgs' }, 'permissions'],
      ['/claim-fn', { amr: 'mfa' }, 'amr'],
      ['/predicate', { org: { id: 'o2' } }, undefined],
      ['/predicate', {}, undefined],
      ['/async', { sub: 'bob' }, undefined],
      ['/truthy', { sub: 'someone' }, undefined],
    ])('%s refuses %j with 401 invalid_token naming the claim, never its value', async (path, claims, named) => {
      const res = await call(path, claims);
      expect(res.status).toBe(401);
      const c = challenge(res.headers['www-authenticate']);
      expect(c.error).toBe('invalid_token');
      if (named) expect(c.error_description).toBe(`the access token's claim ${named} does not have the required value`);
      if (path === '/predicate') expect(c.error_description).toBe('only members of o1');
      for (const v of Object.values(claims)) if (typeof v === 'string') expect(JSON.stringify(res.headers) + res.text).not.toContain(v);
    });

    it('a request without a token is a 401 without error (authRequired: false), and no middleware is a 500', async () => {
      const a = express();
      a.use(kit({ authRequired: false }));
      a.get('/x', requireClaims({ tenant: 'acme' }), ok);
      const res = await request(a).get('/x');
      expect(res.status).toBe(401);
      expect(challenge(res.headers['www-authenticate']).error).toBeUndefined();
      const bare = express();
      bare.get('/x', requireClaims({ tenant: 'acme' }), ok);
      expect((await request(bare).get('/x')).status).toBe(500);
    });
  });

  it('the auth context carries the protected header; the raw token comes from getAccessToken(req) only', async () => {
    const a = express();
    a.use(kit());
    let seen: { header: unknown; token: string | undefined; printed: string; json: string } | undefined;
    a.get('/t', (req: Request, res: Response) => {
      const auth = getAuth(req)!;
      seen = { header: auth.header, token: getAccessToken(req), printed: inspect(auth, { depth: 10 }), json: JSON.stringify(auth) };
      res.end();
    });
    const t = await token({ sub: 'alice' });
    await request(a).get('/t').set('Authorization', `Bearer ${t}`).expect(200);
    expect(seen!.header).toEqual({ alg: ti.alg, typ: 'at+jwt', kid: ti.kid });
    expect(Object.isFrozen(seen!.header)).toBe(true);
    expect(seen!.token).toBe(t);
    // Neither printing nor serializing the context shows the token.
    expect(seen!.printed).not.toContain(t.split('.')[2]);
    expect(seen!.json).not.toContain(t.split('.')[2]);
    expect(getAccessToken({ headers: { authorization: `Bearer ${t}` } })).toBeUndefined();
  });
});

describe("errorResponse: 'next' errors read like express-oauth2-jwt-bearer's", () => {
  it('carry status, statusCode, headers (with the challenge), expose, and the OAuth error code as oauthError', async () => {
    const express = EXPRESS_VERSIONS[0]![1];
    const seen: ResourceServerError[] = [];
    const a = express();
    a.use(kit({ errorResponse: 'next' }));
    a.get('/c', requireClaims({ tenant: 'acme' }), ok);
    a.get('/s', requireScopes('read:msg write:msg'), ok);
    a.use((err: ResourceServerError, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(err);
      res.status(err.statusCode).set(err.headers).json({ code: err.oauthError });
    });
    await request(a)
      .get('/c')
      .set('Authorization', `Bearer ${await token({ tenant: 'other' })}`)
      .expect(401, { code: 'invalid_token' });
    await request(a)
      .get('/s')
      .set('Authorization', `Bearer ${await token({}, 'read:msg')}`)
      .expect(403, { code: 'insufficient_scope' });
    await request(a).get('/s').expect(401);
    expect(seen.map((e) => [e.status, e.statusCode, e.oauthError, e.code, e.expose])).toEqual([
      [401, 401, 'invalid_token', 'ERR_TOKEN_CLAIM', true],
      [403, 403, 'insufficient_scope', 'ERR_INSUFFICIENT_SCOPE', true],
      [401, 401, undefined, 'ERR_CREDENTIALS_MISSING', true],
    ]);
    for (const e of seen) expect(e.headers['www-authenticate']).toMatch(/^Bearer\b/);
  });
});

describe('requireClaims declarations are read strictly', () => {
  it.each([
    [{}],
    [{ tenant: undefined }],
    [{ tenant: { equal: 'acme' } }],
    [{ tenant: { equals: 'acme', includes: 'a' } }],
    [{ tenant: { equals: { id: 1 } } }],
    [{ roles: { includes: [] } }],
    [{ roles: { includes: '' } }],
    [{ roles: { includes: [1] } }],
    [{ roles: ['admin'] }],
    [null],
    ['tenant'],
    [['tenant']],
  ])('%j is a ConfigurationError at declaration', (d) => {
    expect(() => requireClaims(d as never)).toThrow(ConfigurationError);
  });

  it('a description goes with a function only, and must be text', () => {
    expect(() => requireClaims({ tenant: 'acme' } as never, { description: 'x' })).toThrow(ConfigurationError);
    expect(() => requireClaims(() => true, { description: '' })).toThrow(ConfigurationError);
  });
});
