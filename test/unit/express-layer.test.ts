/**
 * The Express layer on Express 4 and 5: derived scopes per convention (also under a mounted router),
 * all-of/any-of, `authRequired: false`, the three `errorResponse` modes, wiring mistakes, `getAuth`,
 * an unreachable authorization server (503, never 200), and that no answer ever echoes the token.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { EncryptJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import {
  oauthResourceServer,
  requireScopes,
  requireAuthentication,
  requireDpop,
  getAuth,
  parseChallenges,
  ResourceServerError,
  type ResourceServerOptions,
  type ScopeConvention,
} from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express-versions.js';

const API = 'https://api.example.com';
const V1 = 'https://api.example.com/api/v1';
const ORDERS = 'https://api.example.com/orders';

let as: DevAuthorizationServer;
let deadIssuer: string;

beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders', 'write:orders'] }] });
  // A port that was just free and is now closed: an authorization server that cannot be reached.
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  deadIssuer = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => s.close(() => resolve()));
});
afterAll(async () => {
  await as?.close();
});

function params(header: unknown): Record<string, string> {
  expect(typeof header).toBe('string');
  const cs = parseChallenges(header as string);
  expect(cs).toHaveLength(1);
  expect(cs[0]!.scheme).toBe('Bearer');
  return Object.fromEntries(cs[0]!.params);
}

function token(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return as.signToken({ claims: { aud: API, ...claims }, header });
}

function kit(options: Partial<ResourceServerOptions> = {}) {
  return oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, resource: API, logger: false, ...options });
}

const ok: RequestHandler = (req: Request, res: Response) => {
  res.status(req.method === 'POST' ? 201 : 200).json({ ok: true });
};

describe.each(EXPRESS_VERSIONS)('express layer (%s)', (_name, express) => {
  describe('derived scopes: requireScopes()', () => {
    it.each([
      ['verb:resource', 'read:orders', 'write:orders'],
      ['resource:verb', 'orders:read', 'orders:write'],
      ['uri:action', 'https://api.example.com/orders:read', 'https://api.example.com/orders:write'],
      ['verb', 'read', 'write'],
    ] as Array<[ScopeConvention, string, string]>)(
      'under %s: GET /orders/:id needs %s, POST /orders needs %s',
      async (convention, read, write) => {
        const app = express();
        app.use(kit({ scopes: { convention } }));
        app.get('/orders/:id', requireScopes(), ok);
        app.post('/orders', requireScopes(), ok);
        app.delete('/orders/:id', requireScopes(), ok);

        const reader = await token({ scope: read });
        const writer = await token({ scope: write });
        expect((await request(app).get('/orders/42').set('Authorization', `Bearer ${reader}`)).status).toBe(200);
        expect((await request(app).post('/orders').set('Authorization', `Bearer ${writer}`)).status).toBe(201);
        expect((await request(app).delete('/orders/42').set('Authorization', `Bearer ${writer}`)).status).toBe(200);

        const denied = await request(app).post('/orders').set('Authorization', `Bearer ${reader}`);
        expect(denied.status).toBe(403);
        expect(params(denied.headers['www-authenticate'])).toMatchObject({ error: 'insufficient_scope', scope: write });
        const denied2 = await request(app).get('/orders/42').set('Authorization', `Bearer ${writer}`);
        expect(denied2.status).toBe(403);
        expect(params(denied2.headers['www-authenticate'])).toMatchObject({ error: 'insufficient_scope', scope: read });
      },
    );

    it.each([
      ['verb:resource', 'read:orders'],
      ['uri:action', 'https://api.example.com/api/v1/orders:read'],
    ] as Array<[ScopeConvention, string]>)(
      'in a router mounted at /api/v1 (identifier …/api/v1) under %s: needs %s',
      async (convention, read) => {
        const app = express();
        app.use(kit({ resource: V1, scopes: { convention } }));
        const router = express.Router();
        router.get('/orders/:id', requireScopes(), ok);
        app.use('/api/v1', router);

        const good = await request(app)
          .get('/api/v1/orders/1')
          .set('Authorization', `Bearer ${await token({ aud: V1, scope: read })}`);
        expect(good.status).toBe(200);
        const bad = await request(app)
          .get('/api/v1/orders/1')
          .set('Authorization', `Bearer ${await token({ aud: V1, scope: 'read:api' })}`);
        expect(bad.status).toBe(403);
        expect(params(bad.headers['www-authenticate']).scope).toBe(read);
      },
    );

    it('with publicBaseUrl and the middleware inside a router at /api/v1: identifier and scope follow the mount path', async () => {
      const app = express();
      const router = express.Router();
      router.use(oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, publicBaseUrl: API, logger: false }));
      router.get('/orders/:id', requireScopes(), ok);
      app.use('/api/v1', router);

      const good = await request(app)
        .get('/api/v1/orders/1')
        .set('Authorization', `Bearer ${await token({ aud: V1, scope: 'read:orders' })}`);
      expect(good.status).toBe(200);
      // A token for the bare host is not a token for /api/v1.
      const wrongAud = await request(app)
        .get('/api/v1/orders/1')
        .set('Authorization', `Bearer ${await token({ aud: API, scope: 'read:orders' })}`);
      expect(wrongAud.status).toBe(401);
      expect(params(wrongAud.headers['www-authenticate']).error).toBe('invalid_token');
      const denied = await request(app)
        .get('/api/v1/orders/1')
        .set('Authorization', `Bearer ${await token({ aud: V1, scope: 'read:api' })}`);
      expect(denied.status).toBe(403);
      expect(params(denied.headers['www-authenticate']).scope).toBe('read:orders');
    });

    it('when the identifier already ends in the resource (…/orders), GET /orders/:id derives read:orders (README quick start)', async () => {
      const app = express();
      app.use(kit({ resource: ORDERS }));
      app.get('/orders', requireScopes(), ok);
      app.get('/orders/:id', requireScopes(), ok);
      const reader = await token({ aud: ORDERS, scope: 'read:orders' });
      expect((await request(app).get('/orders').set('Authorization', `Bearer ${reader}`)).status).toBe(200);
      expect((await request(app).get('/orders/7').set('Authorization', `Bearer ${reader}`)).status).toBe(200);
      const denied = await request(app)
        .get('/orders/7')
        .set('Authorization', `Bearer ${await token({ aud: ORDERS, scope: 'write:orders' })}`);
      expect(denied.status).toBe(403);
      expect(params(denied.headers['www-authenticate']).scope).toBe('read:orders');
    });

    it('derives from the mount template, not the request path, under a router mounted at /:tenant', async () => {
      const app = express();
      app.use(kit());
      const router = express.Router();
      router.get('/orders', requireScopes(), ok);
      app.use('/:tenant', router);
      // The client chooses /reports: a read:reports token must not open the orders route.
      const sneaky = await request(app)
        .get('/reports/orders')
        .set('Authorization', `Bearer ${await token({ scope: 'read:reports' })}`);
      expect(sneaky.status).toBe(403);
      expect(params(sneaky.headers['www-authenticate']).scope).toBe('read:orders');
      expect(
        (
          await request(app)
            .get('/acme/orders')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`)
        ).status,
      ).toBe(200);
    });

    it('picks the template the request matched when one handler sits under two static mounts', async () => {
      const app = express();
      app.use(kit());
      const router = express.Router();
      router.get('/:id', requireScopes(), ok);
      app.use('/orders', router);
      app.use('/invoices', router);
      expect(
        (
          await request(app)
            .get('/orders/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`)
        ).status,
      ).toBe(200);
      const wrong = await request(app)
        .get('/invoices/1')
        .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`);
      expect(wrong.status).toBe(403);
      expect(params(wrong.headers['www-authenticate']).scope).toBe('read:invoices');
    });

    it('derives through a sub-app mounted at /shop: its mount path is part of the template', async () => {
      const app = express();
      app.use(kit());
      const shop = express();
      shop.get('/:id', requireScopes(), ok);
      app.use('/carts', shop);
      expect(
        (
          await request(app)
            .get('/carts/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:carts' })}`)
        ).status,
      ).toBe(200);
      const denied = await request(app)
        .get('/carts/1')
        .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`);
      expect(denied.status).toBe(403);
      expect(params(denied.headers['www-authenticate']).scope).toBe('read:carts');
    });

    it('derives as before where the route table cannot tell: an array mount, a use-level requireScopes()', async () => {
      const app = express();
      app.use(kit());
      const router = express.Router();
      router.get('/:id', requireScopes(), ok);
      app.use(['/orders', '/invoices'], router);
      app.use('/carts', requireScopes(), ok);
      expect(
        (
          await request(app)
            .get('/orders/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`)
        ).status,
      ).toBe(200);
      expect(
        (
          await request(app)
            .get('/invoices/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`)
        ).status,
      ).toBe(403);
      expect(
        (
          await request(app)
            .get('/carts/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:carts' })}`)
        ).status,
      ).toBe(200);
    });

    it('derives for a handler reused on a route added after the first request from that route', async () => {
      const app = express();
      app.use(kit());
      const rs = requireScopes();
      app.get('/orders/:id', rs, ok);
      expect(
        (
          await request(app)
            .get('/orders/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`)
        ).status,
      ).toBe(200);
      app.get('/invoices/:id', rs, ok);
      const res = await request(app)
        .get('/invoices/1')
        .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`);
      expect(res.status).toBe(403);
      expect(params(res.headers['www-authenticate']).scope).toBe('read:invoices');
    });

    it('derives through a sub-app mounted on a router from the whole path', async () => {
      const app = express();
      app.use(kit());
      const shop = express();
      shop.get('/items/:id', requireScopes(), ok);
      const router = express.Router();
      router.use('/carts', shop);
      app.use(router);
      expect(
        (
          await request(app)
            .get('/carts/items/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:carts' })}`)
        ).status,
      ).toBe(200);
      expect(
        (
          await request(app)
            .get('/carts/items/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:items' })}`)
        ).status,
      ).toBe(403);
    });

    it('derives from the template under /:tenant also for optional parts and wildcards (never the tenant text)', async () => {
      const app = express();
      app.use(kit());
      const router = express.Router();
      const optional = _name === 'express 4' ? '/orders/:id?' : '/orders{/:id}';
      const wildcard = _name === 'express 4' ? '/files/*' : '/files/*rest';
      router.get(optional, requireScopes(), ok);
      router.get(wildcard, requireScopes(), ok);
      app.use('/:tenant', router);
      const sneaky = `Bearer ${await token({ scope: 'read:reports' })}`;
      for (const path of ['/reports/orders/5', '/reports/orders', '/reports/files/a/b']) {
        const res = await request(app).get(path).set('Authorization', sneaky);
        expect([path, res.status]).toEqual([path, 403]);
      }
      expect(
        (
          await request(app)
            .get('/acme/orders/5')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`)
        ).status,
      ).toBe(200);
      expect(
        (
          await request(app)
            .get('/acme/files/a/b')
            .set('Authorization', `Bearer ${await token({ scope: 'read:files' })}`)
        ).status,
      ).toBe(200);
    });

    it('needs every fitting scope, never a 500, when one handler sits on routes that overlap for a path', async () => {
      const app = express();
      app.use(kit());
      const d = requireScopes();
      app.get(['/:tenant/orders', '/reports/:id'], d, ok);
      const res = await request(app)
        .get('/reports/orders')
        .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`);
      expect(res.status).toBe(403);
      expect(params(res.headers['www-authenticate']).scope).toBe('read:orders read:reports');
      expect(
        (
          await request(app)
            .get('/reports/orders')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders read:reports' })}`)
        ).status,
      ).toBe(200);
      expect(
        (
          await request(app)
            .get('/acme/orders')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`)
        ).status,
      ).toBe(200);
    });

    it('answers a method without a scope verb (OPTIONS on app.all) with 403, never 500', async () => {
      const app = express();
      app.use(kit());
      app.all('/orders/:id', requireScopes(), ok);
      const res = await request(app)
        .options('/orders/1')
        .set('Authorization', `Bearer ${await token({ scope: 'read:orders write:orders' })}`);
      expect(res.status).toBe(403);
      expect(params(res.headers['www-authenticate']).error).toBe('insufficient_scope');
      expect(
        (
          await request(app)
            .get('/orders/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`)
        ).status,
      ).toBe(200);
    });

    it('requireScopes({ resource }) derives with an explicit resource name', async () => {
      const app = express();
      app.use(kit());
      app.get('/:id', requireScopes({ resource: 'orders' }), ok);
      expect(
        (
          await request(app)
            .get('/1')
            .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`)
        ).status,
      ).toBe(200);
      const denied = await request(app)
        .get('/1')
        .set('Authorization', `Bearer ${await token({ scope: 'read:other' })}`);
      expect(denied.status).toBe(403);
      expect(params(denied.headers['www-authenticate']).scope).toBe('read:orders');
    });
  });

  describe('all-of and any-of', () => {
    function app() {
      const a = express();
      a.use(kit());
      a.get('/all', requireScopes('read:orders', 'read:customers'), ok);
      a.get('/any', requireScopes({ anyOf: ['orders:read', 'orders:admin'] }), ok);
      a.get('/both', requireScopes({ allOf: ['read:orders'], anyOf: ['tier:gold', 'tier:silver'] }), ok);
      return a;
    }
    const call = async (path: string, scope: string) =>
      request(app())
        .get(path)
        .set('Authorization', `Bearer ${await token({ scope })}`);

    it('all-of needs every scope and a 403 names them all', async () => {
      expect((await call('/all', 'read:orders read:customers')).status).toBe(200);
      const res = await call('/all', 'read:orders');
      expect(res.status).toBe(403);
      expect(params(res.headers['www-authenticate'])).toMatchObject({ error: 'insufficient_scope', scope: 'read:orders read:customers' });
    });

    it('any-of needs one and a 403 names the first alternative', async () => {
      expect((await call('/any', 'orders:admin')).status).toBe(200);
      expect((await call('/any', 'orders:read')).status).toBe(200);
      const res = await call('/any', 'orders:write');
      expect(res.status).toBe(403);
      expect(params(res.headers['www-authenticate']).scope).toBe('orders:read');
    });

    it('all-of and any-of combine', async () => {
      expect((await call('/both', 'read:orders tier:silver')).status).toBe(200);
      expect((await call('/both', 'tier:silver')).status).toBe(403);
      const res = await call('/both', 'read:orders');
      expect(res.status).toBe(403);
      expect(params(res.headers['www-authenticate']).scope).toBe('read:orders tier:gold');
    });
  });

  describe('authRequired: false', () => {
    function app() {
      const a = express();
      a.use(kit({ authRequired: false }));
      a.get('/public', (req: Request, res: Response) => {
        res.json({ authenticated: getAuth(req) !== undefined });
      });
      a.get('/orders', requireScopes('read:orders'), ok);
      return a;
    }

    it('lets a tokenless request through the app-wide middleware (getAuth is undefined)', async () => {
      const res = await request(app()).get('/public');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ authenticated: false });
    });

    it('requireScopes refuses a tokenless request with 401 and a challenge without error (CONFORMANCE 4)', async () => {
      const res = await request(app()).get('/orders');
      expect(res.status).toBe(401);
      const p = params(res.headers['www-authenticate']);
      expect(p.error).toBeUndefined();
      expect(p.error_description).toBeUndefined();
    });

    it("requireScopes' 401 names the route's written scopes (RFC 6750 §3 scope, no error); a derived scope is not named", async () => {
      const a = app();
      a.get('/orders/:id', requireScopes(), ok);
      const written = await request(a).get('/orders');
      expect(written.status).toBe(401);
      expect(params(written.headers['www-authenticate'])).toEqual({ scope: 'read:orders' });
      const derived = await request(a).get('/orders/1');
      expect(derived.status).toBe(401);
      expect(params(derived.headers['www-authenticate'])).toEqual({});
    });

    it('still refuses an invalid token with 401 invalid_token, even on a route without requireScopes', async () => {
      const expired = await token({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 });
      const res = await request(app()).get('/public').set('Authorization', `Bearer ${expired}`);
      expect(res.status).toBe(401);
      expect(params(res.headers['www-authenticate']).error).toBe('invalid_token');
    });

    it('a valid token is authenticated on a public route', async () => {
      const res = await request(app())
        .get('/public')
        .set('Authorization', `Bearer ${await token()}`);
      expect(res.body).toEqual({ authenticated: true });
    });
  });

  describe('errorResponse', () => {
    it("'problem' answers with application/problem+json and the challenge", async () => {
      const app = express();
      app.use(kit({ errorResponse: 'problem' }));
      app.get('/orders', requireScopes('read:orders'), ok);

      const expired = await token({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 });
      const res = await request(app).get('/orders').set('Authorization', `Bearer ${expired}`);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.text)).toMatchObject({ type: 'about:blank', status: 401, title: 'Unauthorized', error: 'invalid_token' });
      expect(params(res.headers['www-authenticate']).error).toBe('invalid_token');

      const forbidden = await request(app)
        .get('/orders')
        .set('Authorization', `Bearer ${await token({ scope: 'x' })}`);
      expect(forbidden.status).toBe(403);
      expect(forbidden.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(forbidden.text)).toMatchObject({ status: 403, error: 'insufficient_scope' });

      const none = await request(app).get('/orders');
      expect(none.status).toBe(401);
      expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(none.text).error).toBeUndefined();
    });

    it("'next' passes a ResourceServerError with status, code and the challenge header to the app's error handler", async () => {
      const seen: ResourceServerError[] = [];
      const app = express();
      app.use(kit({ errorResponse: 'next' }));
      app.get('/orders', requireScopes('read:orders'), ok);
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        expect(err).toBeInstanceOf(ResourceServerError);
        const e = err as ResourceServerError;
        seen.push(e);
        res.status(e.status).set(e.headers).json({ mine: e.code });
      });

      const expired = await token({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 });
      const r1 = await request(app).get('/orders').set('Authorization', `Bearer ${expired}`);
      const r2 = await request(app)
        .get('/orders')
        .set('Authorization', `Bearer ${await token({ scope: 'x' })}`);
      const r3 = await request(app).get('/orders');
      const r4 = await request(app).get('/orders').set('Authorization', 'Bearer a,b');

      expect(seen.map((e) => [e.status, e.code])).toEqual([
        [401, 'ERR_TOKEN_EXPIRED'],
        [403, 'ERR_INSUFFICIENT_SCOPE'],
        [401, 'ERR_CREDENTIALS_MISSING'],
        [400, 'ERR_REQUEST_MALFORMED'],
      ]);
      expect(params(seen[0]!.headers['www-authenticate']).error).toBe('invalid_token');
      expect(params(seen[1]!.headers['www-authenticate'])).toMatchObject({ error: 'insufficient_scope', scope: 'read:orders' });
      expect(params(seen[2]!.headers['www-authenticate']).error).toBeUndefined();
      expect(params(seen[3]!.headers['www-authenticate']).error).toBe('invalid_request');
      expect([r1.status, r2.status, r3.status, r4.status]).toEqual([401, 403, 401, 400]);
      expect(r1.body).toEqual({ mine: 'ERR_TOKEN_EXPIRED' });
      expect(params(r1.headers['www-authenticate']).error).toBe('invalid_token');
    });
  });

  it('requireScopes without the app-wide middleware is answered by the kit: 500 server_error, no stack, one warning', async () => {
    let seen: unknown;
    const emitted = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const app = express();
    app.get('/orders', requireScopes('read:orders'), ok);
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      seen = err;
      res.status(500).json({ wired: 'wrong' });
    });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await request(app)
          .get('/orders')
          .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`);
        expect(res.status).toBe(500);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.body).toEqual({ error: 'server_error', error_description: 'the server could not process the request' });
        expect(res.text).not.toMatch(/require-scopes|at |Error/);
      }
      expect(seen).toBeUndefined();
      expect(emitted.mock.calls.filter((c) => (c[1] as { code?: string } | undefined)?.code === 'OAUTH_RS_NOT_AUTHENTICATED')).toHaveLength(
        1,
      );
    } finally {
      emitted.mockRestore();
    }
  });

  it.each([
    ['requireAuthentication', () => requireAuthentication({ acrValues: ['mfa'] })],
    ['requireDpop', () => requireDpop()],
  ])('%s without the app-wide middleware is answered by the kit (500 JSON, no stack), never passed to Express', async (_n, make) => {
    let seen: unknown;
    const emitted = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const app = express();
    app.get('/x', make(), ok);
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      seen = err;
      res.status(500).json({ wired: 'wrong' });
    });
    try {
      const res = await request(app).get('/x');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: 'server_error', error_description: 'the server could not process the request' });
      expect(seen).toBeUndefined();
      expect(emitted).toHaveBeenCalledTimes(1);
    } finally {
      emitted.mockRestore();
    }
  });

  it('requireDpop on an app without dpop answers in the configured format (RFC 9457) and logs once', async () => {
    const errors: string[] = [];
    const app = express();
    app.use(kit({ errorResponse: 'problem', logger: { warn: () => undefined, error: (m: string) => errors.push(m) } }));
    app.get('/x', requireDpop(), ok);
    for (let i = 0; i < 2; i++) {
      const res = await request(app)
        .get('/x')
        .set('Authorization', `Bearer ${await token({ scope: 'read:orders' })}`);
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect(errors.filter((m) => /requireDpop/.test(m))).toHaveLength(1);
  });

  it('getAuth(req) returns the validated context', async () => {
    const app = express();
    app.use(kit());
    app.get('/me', requireScopes('read:orders'), (req: Request, res: Response) => {
      const auth = getAuth(req)!;
      res.json({
        issuer: auth.issuer,
        subject: auth.subject,
        clientId: auth.clientId,
        audience: auth.audience,
        scopes: [...auth.scopes].sort(),
        hasWrite: auth.hasScope('write:orders'),
        hasAdmin: auth.hasScope('admin:orders'),
        validatedBy: auth.validatedBy,
        jti: auth.claims.jti,
        frozen: Object.isFrozen(auth) && Object.isFrozen(auth.claims),
        expiresAtIsNumber: typeof auth.expiresAt === 'number',
        hasReqAuth: 'auth' in req,
      });
    });
    const t = await token({ sub: 'user-42', client_id: 'client-7', scope: 'write:orders read:orders', jti: 'jti-1' });
    const res = await request(app).get('/me').set('Authorization', `Bearer ${t}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      issuer: as.issuer,
      subject: 'user-42',
      clientId: 'client-7',
      audience: [API],
      scopes: ['read:orders', 'write:orders'],
      hasWrite: true,
      hasAdmin: false,
      validatedBy: 'jwt',
      jti: 'jti-1',
      frozen: true,
      expiresAtIsNumber: true,
      hasReqAuth: false,
    });
  });

  describe('an unreachable authorization server', () => {
    it.each([
      ['a jwksUri on a closed port', () => ({ issuer: deadIssuer, jwksUri: `${deadIssuer}/jwks` })],
      ['discovery on a closed port', () => deadIssuer],
    ])('%s answers 503 with Retry-After, never 200', async (_what, issuerOf) => {
      const app = express();
      app.use(oauthResourceServer({ issuer: issuerOf(), resource: API, logger: false, http: { timeoutMs: 1000 } }));
      app.get('/orders', requireScopes('read:orders'), ok);
      // Signed by a real AS key, with the unreachable issuer as iss: the kit cannot know whether it is valid.
      const t = await token({ iss: deadIssuer, scope: 'read:orders' });
      for (let i = 0; i < 3; i++) {
        const res = await request(app).get('/orders').set('Authorization', `Bearer ${t}`);
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
        expect(res.body.error).toBe('temporarily_unavailable');
        expect(res.text).not.toContain(t);
      }
    });
  });

  it('no response body or header ever contains the token', async () => {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(kit({ maxTokenLength: 4000 }));
    app.get('/orders', requireScopes('read:orders'), ok);
    const problemApp = express();
    problemApp.use(kit({ errorResponse: 'problem', realm: 'orders' }));
    problemApp.get('/orders', requireScopes('read:orders'), ok);

    const t = Math.floor(Date.now() / 1000);
    const valid = await token({ scope: 'read:orders' });
    const [h, p, s] = valid.split('.') as [string, string, string];
    const cases: Array<[string, string, (a: typeof app) => request.Test]> = [
      ['valid', valid, (a) => request(a).get('/orders').set('Authorization', `Bearer ${valid}`)],
      ['insufficient scope', await token({ scope: 'x' }), (a) => request(a).get('/orders')],
      ['expired', await token({ iat: t - 600, exp: t - 300 }), (a) => request(a).get('/orders')],
      ['wrong audience', await token({ aud: 'https://other.example.com' }), (a) => request(a).get('/orders')],
      ['wrong typ', await token({}, { typ: 'JWT' }), (a) => request(a).get('/orders')],
      ['bad signature', `${h}.${p}.${s.split('').reverse().join('')}`, (a) => request(a).get('/orders')],
      ['not a JWT', `${randomBytes(40).toString('base64url')}`, (a) => request(a).get('/orders')],
      [
        'JWE',
        await new EncryptJWT({ iss: as.issuer }).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(randomBytes(32)),
        (a) => request(a).get('/orders'),
      ],
      ['too large', `${valid}${'A'.repeat(4000)}`, (a) => request(a).get('/orders')],
    ];
    for (const [what, tok, make] of cases) {
      for (const a of [app, problemApp]) {
        let r = make(a);
        if (what !== 'valid') r = r.set('Authorization', `Bearer ${tok}`);
        const res = await r;
        expect(res.status).toBeGreaterThanOrEqual(what === 'valid' ? 200 : 400);
        const headers = JSON.stringify(res.headers);
        for (const part of [tok, ...tok.split('.').filter((x) => x.length >= 8)]) {
          expect({ what, inBody: res.text.includes(part), inHeaders: headers.includes(part) }).toEqual({
            what,
            inBody: false,
            inHeaders: false,
          });
        }
      }
    }
    // Header + query, header + body: the 400 does not echo either copy.
    for (const res of [
      await request(app).get(`/orders?access_token=${valid}`).set('Authorization', `Bearer ${valid}`),
      await request(app).post('/orders').type('form').send({ access_token: valid }).set('Authorization', `Bearer ${valid}`),
    ]) {
      expect(res.status).toBe(400);
      expect(res.text.includes(p) || JSON.stringify(res.headers).includes(p)).toBe(false);
    }
  });
});
