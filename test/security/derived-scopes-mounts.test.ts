/**
 * Derived scopes never come from request text (security review, part 1): every mount shape an Express app can
 * use, on Express 4 and 5. Where the route table reads the template (string mounts, sub-apps on routers, the
 * Express 4 array mount with a parameter), the attacker gets 403 and the rightful caller 200. Where no template
 * can be read (a regular-expression mount, a router called from a function), the route is misconfigured: a fixed
 * 500 server_error for everyone, one log line per route, and `{ resource }` makes it work.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { assertRouteScopes, ConfigurationError, oauthResourceServer, protectedResourceMetadata, requireScopes } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express-versions.js';

const API = 'https://api.example.com';
let as: DevAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders'] }] });
});
afterAll(async () => {
  await as?.close();
});

interface Logged {
  level: string;
  message: string;
  details?: Record<string, unknown>;
}
function kitWithLog(extra: { errorResponse?: 'json' | 'problem' } = {}) {
  const lines: Logged[] = [];
  const logger = {
    warn: (message: string, details?: Record<string, unknown>) => lines.push({ level: 'warn', message, details }),
    error: (message: string, details?: Record<string, unknown>) => lines.push({ level: 'error', message, details }),
  };
  return { kit: oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, resource: API, logger, ...extra }), lines };
}
const ok: RequestHandler = (_req: Request, res: Response) => {
  res.status(200).json({ ok: true });
};
async function hit(app: Parameters<typeof request>[0], path: string, scope: string) {
  const r = await request(app)
    .get(path)
    .set('Authorization', `Bearer ${await as.signToken({ claims: { aud: API, scope } })}`);
  return r;
}
const FIXED_500 = { error: 'server_error', error_description: 'the server could not process the request' };

describe.each(EXPRESS_VERSIONS)('%s', (_name, express) => {
  it('a RegExp mount: no template, so a fixed 500 for the attacker and the rightful caller, logged once; { resource } works', async () => {
    const { kit, lines } = kitWithLog();
    const app = express();
    app.use(kit);
    const router = express.Router();
    router.get('/orders/:id', requireScopes(), ok);
    app.use(/^\/[a-z]+/, router);
    for (const scope of ['read:reports', 'read:orders', 'read:reports']) {
      const r = await hit(app, '/reports/orders/1', scope);
      expect(r.status).toBe(500);
      expect(r.body).toEqual(FIXED_500);
    }
    const logged = lines.filter((l) => l.level === 'error');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toMatch(/cannot derive a scope/);
    expect(String(logged[0]!.details?.fix)).toMatch(/resource: 'orders'/);
    expect(JSON.stringify(logged)).not.toContain('reports');

    const app2 = express();
    app2.use(kitWithLog().kit);
    const r2 = express.Router();
    r2.get('/orders/:id', requireScopes({ resource: 'orders' }), ok);
    app2.use(/^\/[a-z]+/, r2);
    expect((await hit(app2, '/reports/orders/1', 'read:reports')).status).toBe(403);
    expect((await hit(app2, '/reports/orders/1', 'read:orders')).status).toBe(200);
  });

  it('a crafted first segment under a RegExp mount (GET /a"b/orders/1) is the same fixed 500, never an invalid scope, one log line', async () => {
    const { kit, lines } = kitWithLog();
    const app = express();
    app.use(kit);
    const router = express.Router();
    router.get('/orders/:id', requireScopes(), ok);
    app.use(/^\/[^/]+/, router);
    for (const path of ['/a%22b/orders/1', '/a"b/orders/1', '/x/orders/1']) {
      const r = await request(app)
        .get(path)
        .set('Authorization', `Bearer ${await as.signToken({ claims: { aud: API, scope: 'read:orders' } })}`);
      expect(r.status).toBe(500);
      expect(r.body).toEqual(FIXED_500);
    }
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('the fixed 500 follows the configured error format (RFC 9457)', async () => {
    const app = express();
    app.use(kitWithLog({ errorResponse: 'problem' }).kit);
    const router = express.Router();
    router.get('/orders/:id', requireScopes(), ok);
    app.use(/^\/[a-z]+/, router);
    const r = await hit(app, '/reports/orders/1', 'read:reports');
    expect(r.status).toBe(500);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(r.body)).not.toContain('reports');
  });

  it('a sub-app mounted on a router at /:tenant derives from its declared template: attacker 403, rightful caller 200', async () => {
    const app = express();
    app.use(kitWithLog().kit);
    const sub = express();
    sub.get('/orders/:id', requireScopes(), ok);
    const router = express.Router();
    router.use('/:tenant', sub);
    app.use(router);
    expect((await hit(app, '/reports/orders/1', 'read:reports')).status).toBe(403);
    expect((await hit(app, '/reports/orders/1', 'read:orders')).status).toBe(200);
  });

  it('a router called from a function at /:tenant: no template, a fixed 500 (never the tenant text); { resource } works', async () => {
    const { kit, lines } = kitWithLog();
    const app = express();
    app.use(kit);
    const router = express.Router();
    router.get('/orders/:id', requireScopes(), ok);
    app.use('/:tenant', (req: Request, res: Response, next: NextFunction) => router(req, res, next));
    expect((await hit(app, '/reports/orders/1', 'read:reports')).status).toBe(500);
    expect((await hit(app, '/reports/orders/1', 'read:orders')).status).toBe(500);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);

    const app2 = express();
    app2.use(kitWithLog().kit);
    const r2 = express.Router();
    r2.get('/orders/:id', requireScopes({ resource: 'orders' }), ok);
    app2.use('/:tenant', (req: Request, res: Response, next: NextFunction) => r2(req, res, next));
    expect((await hit(app2, '/reports/orders/1', 'read:reports')).status).toBe(403);
    expect((await hit(app2, '/reports/orders/1', 'read:orders')).status).toBe(200);
  });

  it('an array route mixing a RegExp and a string under /:tenant: the string template decides, the RegExp alternative is a fixed 500', async () => {
    const app = express();
    app.use(kitWithLog().kit);
    const router = express.Router();
    router.get([/^\/(\w+)\/list$/, '/orders/:id'], requireScopes(), ok);
    app.use('/:tenant', router);
    expect((await hit(app, '/acme/orders/1', 'read:acme')).status).toBe(403);
    expect((await hit(app, '/acme/orders/1', 'read:orders')).status).toBe(200);
    expect((await hit(app, '/acme/reports/list', 'read:acme')).status).toBe(500);
    expect((await hit(app, '/acme/reports/list', 'read:reports')).status).toBe(500);
  });

  it('an array mount with a parameter derives from the mount the request matched: rightful caller 200 at both, attacker 403', async () => {
    const app = express();
    app.use(kitWithLog().kit);
    const router = express.Router();
    router.get('/:id', requireScopes(), ok);
    app.use(['/orders', '/:tenant/orders'], router);
    expect((await hit(app, '/orders/1', 'read:orders')).status).toBe(200);
    expect((await hit(app, '/acme/orders/1', 'read:orders')).status).toBe(200);
    expect((await hit(app, '/acme/orders/1', 'read:acme')).status).toBe(403);
  });

  it('a router mounted at a string path and at a RegExp: the string mount works, the RegExp mount is a fixed 500', async () => {
    const app = express();
    app.use(kitWithLog().kit);
    const router = express.Router();
    router.get('/:id', requireScopes(), ok);
    app.use('/orders', router);
    app.use(/^\/x[a-z]*/, router);
    expect((await hit(app, '/orders/1', 'read:orders')).status).toBe(200);
    expect((await hit(app, '/orders/1', 'read:xreports')).status).toBe(403);
    expect((await hit(app, '/xreports/1', 'read:xreports')).status).toBe(500);
    expect((await hit(app, '/xreports/1', 'read:orders')).status).toBe(500);
  });

  it('a RegExp mount nested below string mounts is still no template', async () => {
    const app = express();
    app.use(kitWithLog().kit);
    const outer = express.Router();
    const inner = express.Router();
    inner.get('/orders', requireScopes(), ok);
    outer.use(/^\/v\d+/, inner);
    app.use('/api', outer);
    expect((await hit(app, '/api/v1/orders', 'read:orders')).status).toBe(500);
    expect((await hit(app, '/api/v1/orders', 'read:v1')).status).toBe(500);
  });

  it('requireScopes() used as middleware derives from its mount template only, never from the rest of the path', async () => {
    const app = express();
    app.use(kitWithLog().kit);
    app.use('/orders', requireScopes());
    app.get('/orders/:id', ok);
    app.use('/:tenant', requireScopes());
    app.get('/:tenant/reports', ok);
    expect((await hit(app, '/orders/1', 'read:orders')).status).toBe(200);
    expect((await hit(app, '/orders/1', 'read:1')).status).toBe(403);
    // The /:tenant mount names no resource: misconfigured, not "read:acme".
    expect((await hit(app, '/acme/reports', 'read:acme')).status).toBe(500);
  });

  it('case-varied paths derive from the template (read:orders), not the text (read:ORDERS)', async () => {
    const app = express();
    app.use(kitWithLog().kit);
    app.get('/orders/:id', requireScopes(), ok);
    expect((await hit(app, '/ORDERS/1', 'read:ORDERS')).status).toBe(403);
    expect((await hit(app, '/ORDERS/1', 'read:orders')).status).toBe(200);
  });
});

describe.each(EXPRESS_VERSIONS)('second review (%s)', (name, express) => {
  it('a route that called next() leaves a stale req.route: requireScopes() used as middleware after it still derives from its mount', async () => {
    const app = express();
    app.use(kitWithLog().kit);
    app.all(name === 'express 4' ? '*' : '/{*splat}', (_req: Request, _res: Response, next: NextFunction) => next());
    app.use('/orders', requireScopes(), ok);
    expect((await hit(app, '/orders/1', 'read:orders')).status).toBe(200);
    expect((await hit(app, '/orders/1', 'read:reports')).status).toBe(403);
  });

  it("a route matched by Express's own matcher: a (…) group mounted at /orders and reached through a function at /reports is a fixed 500, never read:orders", async () => {
    const app = express();
    app.use(kitWithLog().kit);
    const router = express.Router();
    router.get(name === 'express 4' ? '/(\\d+)' : /^\/(\d+)$/, requireScopes({ resource: 'orders' }), ok);
    const r2 = express.Router();
    r2.get(name === 'express 4' ? '/(\\d+)' : '/:id', requireScopes(), ok);
    app.use('/orders', r2);
    app.use('/reports', (req: Request, res: Response, next: NextFunction) => r2(req, res, next));
    expect((await hit(app, '/orders/5', 'read:orders')).status).toBe(200);
    expect((await hit(app, '/reports/5', 'read:orders')).status).toBe(500);
    expect((await hit(app, '/reports/5', 'read:reports')).status).toBe(500);
  });

  it("publicBaseUrl: the identity path comes from the kit middleware's declared mount, not the request's case or parameter text", async () => {
    const base = 'https://api.example.com';
    const mk = (o: Record<string, unknown>) =>
      oauthResourceServer({
        issuer: { issuer: as.issuer, jwksUri: as.jwksUri },
        publicBaseUrl: base,
        audienceMatching: 'path',
        logger: false,
        ...o,
      });
    const app = express();
    app.use('/api', mk({}));
    const r = express.Router();
    r.get('/orders/:id', requireScopes(), ok);
    app.use('/api', r);
    const call = async (a: Parameters<typeof request>[0], path: string, scope: string) =>
      request(a)
        .get(path)
        .set('Authorization', `Bearer ${await as.signToken({ claims: { aud: base, scope } })}`);
    expect((await call(app, '/api/orders/1', 'read:orders')).status).toBe(200);
    expect((await call(app, '/API/orders/1', 'read:api')).status).toBe(403);
    expect((await call(app, '/API/orders/1', 'read:orders')).status).toBe(200);

    const app2 = express();
    app2.use('/:tenant', mk({ scopes: { convention: 'uri:action' } }));
    app2.get('/:tenant/orders/:id', requireScopes(), ok);
    const refused = await call(app2, '/ANY-TEXT/orders/1', 'x');
    expect(refused.status).toBe(403);
    expect(refused.headers['www-authenticate']).not.toContain('ANY-TEXT');
    expect(refused.headers['www-authenticate']).toContain('scope="https://api.example.com/:tenant/orders:read"');
  });

  it("publicBaseUrl: the audience a token needs is the base URL plus the middleware's declared mount, whatever case the client sends (RFC 8707 §2)", async () => {
    const base = 'https://api.example.com';
    const lines: Logged[] = [];
    const logger = {
      warn: (message: string) => lines.push({ level: 'warn', message }),
      error: (message: string) => lines.push({ level: 'error', message }),
    };
    const rs = oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, publicBaseUrl: base, logger, metadata: {} });
    const app = express();
    app.use('/api', rs);
    app.get('/api/orders/:id', requireScopes('read:orders'), ok);
    const call = async (path: string, aud: string) =>
      request(app)
        .get(path)
        .set('Authorization', `Bearer ${await as.signToken({ claims: { aud, scope: 'read:orders' } })}`);
    expect((await call('/api/orders/1', `${base}/api`)).status).toBe(200);
    expect((await call('/API/orders/1', `${base}/api`)).status).toBe(200);
    const forged = await call('/API/orders/1', `${base}/API`);
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(forged.headers['www-authenticate']).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/api"`);
    expect(forged.headers['www-authenticate']).not.toContain('/API');
    expect((await call('/Api/orders/1', `${base}/Api`)).status).toBe(401);

    // A mount the route table cannot name as one string template: no identity, a fixed 500, logged once.
    const regexpApp = express();
    regexpApp.use(/^\/v\d+/, oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, publicBaseUrl: base, logger }));
    regexpApp.get('/v1/orders', requireScopes('read:orders'), ok);
    for (const aud of [`${base}/v1`, base]) {
      const r = await request(regexpApp)
        .get('/v1/orders')
        .set('Authorization', `Bearer ${await as.signToken({ claims: { aud, scope: 'read:orders' } })}`);
      expect(r.status).toBe(500);
      expect(r.body.error).toBe('server_error');
    }
    expect(lines.filter((l) => l.level === 'error' && l.message.includes('publicBaseUrl'))).toHaveLength(1);
  });

  it('publicBaseUrl: a mount of the middleware added after the first request is placed once the table is read again', async () => {
    const base = 'https://api.example.com';
    const rs = oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, publicBaseUrl: base, logger: false });
    const app = express();
    app.use('/v1', rs);
    app.get('/v1/orders', requireScopes('read:orders'), ok);
    const call = async (path: string, aud: string) =>
      request(app)
        .get(path)
        .set('Authorization', `Bearer ${await as.signToken({ claims: { aud, scope: 'read:orders' } })}`);
    expect((await call('/v1/orders', `${base}/v1`)).status).toBe(200);
    app.use('/v2', rs);
    app.get('/v2/orders', requireScopes('read:orders'), ok);
    await new Promise((r) => setTimeout(r, 1100)); // the table is read again at most once a second
    expect((await call('/v2/orders', `${base}/v2`)).status).toBe(200);
    expect((await call('/v2/orders', `${base}/v1`)).status).toBe(401);
  });

  it("publicBaseUrl: a kit inside a sub-app takes the sub-app's mount (…/admin), never the origin; on a router.use sub-app, a fixed 500", async () => {
    const base = 'https://api.example.com';
    const lines: Logged[] = [];
    const logger = {
      warn: (message: string) => lines.push({ level: 'warn', message }),
      error: (message: string) => lines.push({ level: 'error', message }),
    };
    const build = (mountWith: 'app' | 'router', at = '/admin') => {
      const rs = oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, publicBaseUrl: base, logger, metadata: {} });
      const admin = express();
      admin.use(rs);
      admin.get('/orders/:id', requireScopes(), ok);
      const app = express();
      // The metadata of a kit inside a sub-app: given that sub-app, it is served under the sub-app's mount.
      app.use(protectedResourceMetadata(rs, { app: admin }));
      if (mountWith === 'app') app.use(at, admin);
      else {
        // A sub-app mounted through a router: Express sets no `parent` or `mountpath`, the walk cannot place it.
        const router = express.Router();
        router.use('/admin', admin);
        app.use(router);
      }
      return app;
    };
    const call = async (app: Parameters<typeof request>[0], aud: string, scope = 'read:orders') =>
      request(app)
        .get('/admin/orders/1')
        .set('Authorization', `Bearer ${await as.signToken({ claims: { aud, scope } })}`);
    const app = build('app');
    const right = await call(app, `${base}/admin`);
    expect(right.status).toBe(200);
    // A token for another API on the same host (the origin) is not one for this sub-app.
    const origin = await call(app, base);
    expect(origin.status).toBe(401);
    expect(origin.headers['www-authenticate']).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/admin"`);
    // Derived from the sub-app's template below the kit's mount: read:orders, not read:admin.
    expect((await call(app, `${base}/admin`, 'read:admin')).status).toBe(403);
    // Mounted with a trailing slash (Express 4 compiles it away, the sub-app records it): the same identity.
    const slashed = build('app', '/admin/');
    expect((await call(slashed, `${base}/admin`)).status).toBe(200);
    expect((await call(slashed, base)).status).toBe(401);
    const doc = await request(app).get('/.well-known/oauth-protected-resource/admin');
    expect(doc.status).toBe(200);
    expect(doc.body).toMatchObject({ resource: `${base}/admin`, scopes_supported: ['read:orders'] });

    const unplaced = build('router');
    for (const aud of [`${base}/admin`, base]) {
      const r = await call(unplaced, aud);
      expect(r.status).toBe(500);
      expect(r.body.error).toBe('server_error');
    }
    expect(lines.filter((l) => l.level === 'error' && l.message.includes('publicBaseUrl'))).toHaveLength(1);
  });

  it('RFC 9728 scopes_supported lists route.all(), app.all(), middleware declarations and { resource } under a RegExp mount', async () => {
    const kit = oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, resource: API, logger: false, metadata: {} });
    const app = express();
    app.use(protectedResourceMetadata(kit, { app }));
    app.use(kit);
    app.route('/orders').all(requireScopes('orders:any'), ok);
    app.all('/invoices/:id', requireScopes(), ok);
    app.use('/carts', requireScopes(), ok);
    app.use(/^\/v\d+/, express.Router().get('/x', requireScopes({ resource: 'things' }), ok));
    const doc = await request(app).get('/.well-known/oauth-protected-resource');
    expect(doc.status).toBe(200);
    expect(doc.body.scopes_supported).toEqual(
      expect.arrayContaining(['orders:any', 'read:invoices', 'write:invoices', 'read:carts', 'write:carts', 'read:things']),
    );
  });
});

describe('express 4 only', () => {
  const express = EXPRESS_VERSIONS[1]![1];
  it.each([['/:tenant(\\w+)/orders'], ['/:tenant([a-z]+)/orders'], ['/:tenant?/orders']])(
    'a readable Express 4 mount %s with a parameter derives from its static part',
    async (mount) => {
      const app = express();
      app.use(kitWithLog().kit);
      const router = express.Router();
      router.get('/:id', requireScopes(), ok);
      app.use(mount, router);
      expect((await hit(app, '/acme/orders/1', 'read:acme')).status).toBe(403);
      expect((await hit(app, '/acme/orders/1', 'read:orders')).status).toBe(200);
    },
  );
  it("Express 4 string patterns (lines?, .:ext?, :id(\\d+)?, ab+c) are matched by Express's own matcher: rightful caller 200, others 403", async () => {
    const app = express();
    app.use(kitWithLog().kit);
    app.get('/orders/:id/lines?', requireScopes(), ok);
    app.get('/files/:name.:ext?', requireScopes(), ok);
    app.get('/users/:id(\\d+)?/x', requireScopes(), ok);
    app.get('/reports/ab+c', requireScopes(), ok);
    for (const [path, scope] of [
      ['/orders/1/lines', 'read:orders'],
      ['/orders/1/line', 'read:orders'],
      ['/files/a.txt', 'read:files'],
      ['/users/5/x', 'read:users'],
      ['/reports/abbc', 'read:reports'],
    ] as Array<[string, string]>) {
      expect([path, (await hit(app, path, scope)).status]).toEqual([path, 200]);
      expect([path, (await hit(app, path, 'read:other')).status]).toEqual([path, 403]);
    }
  });
  it("an array route ['/orders/(\\d+)', '/reports/:id'] derives from the element the request matched", async () => {
    const app = express();
    app.use(kitWithLog().kit);
    app.get(['/orders/(\\d+)', '/reports/:id'], requireScopes(), ok);
    expect((await hit(app, '/reports/5', 'read:reports')).status).toBe(200);
    expect((await hit(app, '/orders/5', 'read:orders')).status).toBe(200);
    expect((await hit(app, '/reports/5', 'read:orders')).status).toBe(403);
  });
  it('a mount Express 4 compiles from regular-expression syntax (/ab+c) is no template', async () => {
    const app = express();
    app.use(kitWithLog().kit);
    const router = express.Router();
    router.get('/:id', requireScopes(), ok);
    app.use('/ord+ers', router);
    expect((await hit(app, '/orders/1', 'read:orders')).status).toBe(500);
  });
});

describe('express 5 only', () => {
  const express = EXPRESS_VERSIONS[0]![1];
  it("Express 5 syntax (a leading {/:tenant}, escaped \\: and \\., quoted names, an optional mount) is matched by Express's own matcher", async () => {
    const app = express();
    app.use(kitWithLog().kit);
    app.get('{/:tenant}/orders/:id', requireScopes(), ok);
    app.get('/tasks/:id\\:cancel', requireScopes(), ok);
    app.get('/docs/:id\\.json', requireScopes(), ok);
    app.get('/users/:"user-id"', requireScopes(), ok);
    const r = express.Router();
    r.get('/items/:id', requireScopes(), ok);
    app.use('{/:lang}', r);
    for (const [path, scope] of [
      ['/acme/orders/1', 'read:orders'],
      ['/orders/1', 'read:orders'],
      ['/tasks/1:cancel', 'read:tasks'],
      ['/docs/1.json', 'read:docs'],
      ['/users/7', 'read:users'],
      ['/en/items/1', 'read:items'],
    ] as Array<[string, string]>) {
      expect([path, (await hit(app, path, scope)).status]).toEqual([path, 200]);
      expect([path, (await hit(app, path, 'read:acme')).status]).toEqual([path, 403]);
    }
    expect(() => assertRouteScopes(app)).not.toThrow();
  });
});

describe.each(EXPRESS_VERSIONS)('assertRouteScopes (%s)', (_name, express) => {
  it('passes for routes whose scopes can all be enforced', () => {
    const app = express();
    app.use(kitWithLog().kit);
    const router = express.Router();
    router.get('/orders/:id', requireScopes(), ok);
    router.get('/list', requireScopes('read:lists'), ok);
    app.use('/:tenant', router);
    app.use(/^\/v\d+/, express.Router().get('/x', requireScopes({ resource: 'x' }), ok));
    app.get('/orders', requireScopes('read:orders'), ok);
    expect(() => assertRouteScopes(app)).not.toThrow();
  });
  it('lists every route it cannot enforce: RegExp mounts and paths, a template without a static segment, a route before the middleware', () => {
    const app = express();
    app.get('/early', requireScopes('read:early'), ok);
    app.use(kitWithLog().kit);
    const router = express.Router();
    router.get('/orders/:id', requireScopes(), ok);
    app.use(/^\/[a-z]+/, router);
    app.get(/^\/reports$/, requireScopes(), ok);
    app.get('/:id', requireScopes(), ok);
    let thrown: unknown;
    try {
      assertRouteScopes(app);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    const message = (thrown as Error).message;
    expect(message).toMatch(/^4 route\(s\)/);
    expect(message).toMatch(/GET \/early: requireScopes\(\) needs app\.use\(oauthResourceServer/);
    expect(message).toContain('/orders/:id: requireScopes() has no string path template');
    expect(message).toContain('GET /^\\/reports$/: requireScopes() has no string path template');
    expect(message).toMatch(/GET \/:id: its path template has no static segment/);
  });
  it("checks apps mounted with app.use when given, under their mount path and the parent app's middleware", () => {
    const app = express();
    app.use(kitWithLog().kit);
    const sub = express();
    sub.get('/orders/:id', requireScopes(), ok);
    sub.get(/^\/bad$/, requireScopes(), ok);
    app.use('/shop', sub);
    expect(() => assertRouteScopes(app)).not.toThrow(); // Express hides the sub-app from its parent
    expect(() => assertRouteScopes(app, sub)).toThrow(
      /^1 route\(s\)[\s\S]*GET \/shop\/\^\\\/bad\$\/: requireScopes\(\) has no string path template/,
    );
  });
  it('the kit middleware as a handler of the route itself covers the handlers after it', () => {
    const app = express();
    const kit = kitWithLog().kit;
    app.post('/albums', kit, requireScopes('albums:create'), ok);
    app.get('/albums', requireScopes('albums:read'), kit, ok);
    expect(() => assertRouteScopes(app)).toThrow(/^1 route\(s\)[\s\S]*GET \/albums: requireScopes\(\) needs/);
  });
  it('a kit middleware at a static path does not cover a route whose segment there is a parameter', () => {
    const app = express();
    app.use('/orders', kitWithLog().kit);
    app.get('/:tenant/x', requireScopes('read:x'), ok);
    expect(() => assertRouteScopes(app)).toThrow(/GET \/:tenant\/x: requireScopes\(\) needs/);
  });
  it('a kit middleware mounted on another path does not cover a route', () => {
    const app = express();
    app.use('/api', kitWithLog().kit);
    app.get('/orders', requireScopes('read:orders'), ok);
    app.get('/api/orders', requireScopes('read:orders'), ok);
    expect(() => assertRouteScopes(app)).toThrow(/1 route\(s\)[\s\S]*GET \/orders: requireScopes\(\) needs/);
  });
});

describe('requireScopes declarations', () => {
  it.each([
    [{ anyOf: [] }],
    [{ allOf: [] }],
    [{ allOf: ['a'], anyOf: [] }],
    [{ allOf: ['a'], resource: 'orders' }],
    [{ resource: '' }],
    [{ resource: 'a b' }],
    [{ anyof: ['admin:orders'] }],
    [{ scopes: ['admin:orders'] }],
    [{}],
    [{ anyOf: undefined }],
    [{ allOf: 'admin:orders' }],
    [['admin:orders']],
    [null],
  ])('an explicit empty or contradictory declaration %j is a ConfigurationError at declaration', (d) => {
    expect(() => requireScopes(d as never)).toThrow(ConfigurationError);
  });
});
