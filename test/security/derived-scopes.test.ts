/**
 * Derived scopes (`requireScopes()`) against every way a client could steer them (a second review's cases):
 * the scope comes from the route's declared template, mount paths included, never from the text a client
 * puts where a parameter goes. Array and optional paths, wildcards, routes and mounts added after the first
 * request, a sub-app mounted twice, `route().all()`, Express 4 regular-expression parameters in mounts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { Request, Response, RequestHandler } from 'express';
import { oauthResourceServer, requireScopes, parseChallenges } from '../../src/index.js';
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
const tok = (scope: string) => as.signToken({ claims: { aud: API, scope } });
const kit = () => oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, resource: API, logger: false });
const ok: RequestHandler = (_req: Request, res: Response) => {
  res.status(200).json({ ok: true });
};
const scopeOf = (h: unknown) => (typeof h === 'string' ? Object.fromEntries(parseChallenges(h)[0]!.params).scope : undefined);
async function hit(app: Parameters<typeof request>[0], method: 'get' | 'put', path: string, scope: string) {
  const r = await request(app)
    [method](path)
    .set('Authorization', `Bearer ${await tok(scope)}`);
  return { status: r.status, need: scopeOf(r.headers['www-authenticate']) };
}

describe.each(EXPRESS_VERSIONS)('%s', (name, express) => {
  it('A: an array route path with optional parts under /:tenant derives from the route, not the tenant', async () => {
    const app = express();
    app.use(kit());
    const router = express.Router();
    const p = name === 'express 4' ? ['/orders/:id?', '/orders-archive/:id?'] : ['/orders{/:id}', '/orders-archive{/:id}'];
    router.get(p, requireScopes(), ok);
    app.use('/:tenant', router);
    const r = await hit(app, 'get', '/reports/orders', 'read:reports');
    expect(r.status).toBe(403);
  });
  it('A2: an array route path with wildcards under /:tenant derives from the route, not the tenant', async () => {
    const app = express();
    app.use(kit());
    const router = express.Router();
    const p = name === 'express 4' ? ['/files/*', '/docs/*'] : ['/files/*rest', '/docs/*rest'];
    router.get(p, requireScopes(), ok);
    app.use('/:tenant', router);
    const r = await hit(app, 'get', '/reports/files/a/b', 'read:reports');
    expect(r.status).toBe(403);
  });
  it('C1: a route added just after the first request, under /:tenant, derives from its template', async () => {
    const app = express();
    app.use(kit());
    app.get('/health', requireScopes('x'), ok);
    app.get('/orders', requireScopes(), ok);
    await hit(app, 'get', '/orders', 'read:orders'); // scans the table
    const router = express.Router();
    router.get('/orders', requireScopes(), ok);
    app.use('/:tenant', router);
    const r = await hit(app, 'get', '/reports/orders', 'read:reports');
    expect(r.status).toBe(403);
  });
  it('C2: a handler reused under a mount added after the first request derives from that mount', async () => {
    const app = express();
    app.use(kit());
    const d = requireScopes();
    const r1 = express.Router();
    r1.get('/:id', d, ok);
    app.use('/orders', r1);
    expect((await hit(app, 'get', '/orders/1', 'read:orders')).status).toBe(200);
    const r2 = express.Router();
    r2.get('/:id', d, ok);
    app.use('/invoices', r2);
    await new Promise((res) => setTimeout(res, 1100));
    const r = await hit(app, 'get', '/invoices/1', 'read:orders');
    expect(r.status).toBe(403);
  });
  it('D1: a router mounted at /orders and at an array mount derives from the mount a request came through', async () => {
    const app = express();
    app.use(kit());
    const router = express.Router();
    router.get('/:id', requireScopes(), ok);
    app.use('/orders', router);
    app.use(['/invoices', '/bills'], router);
    const r = await hit(app, 'get', '/invoices/1', 'read:orders');
    expect(r.status).toBe(403);
  });
  it('D2: a sub-app mounted twice (Express keeps only its last mount path) is refused with a fixed 500 at the other mount, never derived from the request', async () => {
    const app = express();
    app.use(kit());
    const shop = express();
    shop.get('/:id', requireScopes(), ok);
    app.use('/carts', shop);
    app.use('/wishlists', shop);
    expect((await hit(app, 'get', '/carts/1', 'read:carts')).status).toBe(500);
    expect((await hit(app, 'get', '/wishlists/1', 'read:wishlists')).status).toBe(200);
    expect((await hit(app, 'get', '/wishlists/1', 'read:carts')).status).toBe(403);
  });
  it('E: route().all(requireScopes()) next to .get() derives from the template for every method', async () => {
    const app = express();
    app.use(kit());
    const router = express.Router();
    router.route('/orders').get(ok).all(requireScopes(), ok);
    app.use('/:tenant', router);
    const r = await hit(app, 'put', '/reports/orders', 'write:reports');
    expect(r.status).toBe(403);
  });
});

describe('express 4 only', () => {
  const express = EXPRESS_VERSIONS[1]![1];
  it.each([['/:tenant(\\w+)'], ['/:tenant?'], ['/:tenant([a-z]+)']])('B: an Express 4 mount %s never names the resource', async (mount) => {
    const app = express();
    app.use(kit());
    const router = express.Router();
    router.get('/orders', requireScopes(), ok);
    app.use(mount, router);
    const r = await hit(app, 'get', '/reports/orders', 'read:reports');
    expect(r.status).toBe(403);
  });
  it('F: a regexp route under /:tenant has no template to derive from: a configuration error, never the tenant text', async () => {
    const app = express();
    app.use(kit());
    const router = express.Router();
    router.get(/^\/orders$/, requireScopes(), ok);
    app.use('/:tenant', router);
    const r = await hit(app, 'get', '/reports/orders', 'read:reports');
    expect(r.status).toBe(500);
  });
});
