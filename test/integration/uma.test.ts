/**
 * UMA resource registration and permission tickets against the kit's UMA test authorization server
 * (oidc-provider + the UMA 2.0 protection API, src/testing). Counts are taken from what the AS holds,
 * never from what the kit believes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, MemoryStore, ResourceServer, parseChallenges, umaProtection, type CacheStore } from '../../src/index.js';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://photos.example.com';
const dir = mkdtempSync(join(tmpdir(), 'ors-uma-'));
let as: DevUmaAuthorizationServer;

beforeAll(async () => {
  as = (await startDevAuthorizationServer({
    resources: [{ identifier: API, scopes: ['view', 'delete'] }],
    uma: true,
  })) as DevUmaAuthorizationServer;
});
afterAll(async () => {
  await as?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup(options: { store?: CacheStore; routes?: 'all' | 'view-only' | 'with-upload' | 'none'; realm?: string } = {}) {
  const rs = new ResourceServer({
    issuer: { issuer: as.issuer, validation: 'introspection', introspection: { ...as.resourceServerClient, acceptMissingAudience: true } },
    resource: API,
    // No leeway, so a permission one second from its exp can be seen to expire without a long wait.
    clockToleranceSeconds: 0,
    logger: false,
  });
  const uma = umaProtection({
    resourceServer: rs,
    issuer: as.issuer,
    clientId: as.resourceServerClient.clientId,
    clientSecret: as.resourceServerClient.clientSecret,
    store: options.store ?? new MemoryStore(),
    realm: options.realm ?? 'photos',
    logger: false,
  });
  const app = express();
  const routes = options.routes ?? 'all';
  if (routes !== 'none') {
    app.get('/albums/:id', uma.require('view'), (req, res) => {
      res.json({ album: req.params.id });
    });
    if (routes !== 'view-only') {
      app.delete('/albums/:id', uma.require('delete'), (_req, res) => {
        res.status(204).end();
      });
    }
    if (routes === 'with-upload') {
      app.post('/albums/:id', uma.require('upload'), (_req, res) => {
        res.status(201).end();
      });
    }
  }
  return { app, uma, registrar: uma.declareRoutes(app) };
}

const umaChallenge = (res: request.Response) => {
  const [c] = parseChallenges(res.headers['www-authenticate']!);
  return { scheme: c!.scheme, params: Object.fromEntries(c!.params) };
};
const held = () => as.uma.resources();
/** Remove everything the AS holds, through the protection API itself. */
async function clear() {
  const client = await setup({ routes: 'none' }).registrar.client();
  for (const r of held()) await client.delete(r._id);
}

describe('UMA resource registration (uma2 profile)', () => {
  beforeEach(clear);
  it('registers one resource per route path with resource_scopes, reading _id from the AS (CONFORMANCE 58, 59)', async () => {
    const { registrar } = setup();
    const status = await registrar.sync();
    expect(status.state).toBe('registered');
    const [r, ...rest] = held();
    expect(rest).toHaveLength(0);
    expect(r).toMatchObject({ name: '/albums/:id', resource_scopes: ['delete', 'view'] });
    expect(registrar.resourceId('route:/albums/:id')).toBe(r!._id);
  });

  it('leaves exactly one resource set after 10 restarts, with the mapping kept or lost', async () => {
    const store = new FileStore(join(dir, 'restarts.json'));
    for (let i = 0; i < 10; i++) await setup({ store }).registrar.sync();
    expect(held()).toHaveLength(1);
    for (let i = 0; i < 3; i++) await setup({ store: new MemoryStore() }).registrar.sync();
    expect(held()).toHaveLength(1);
  });

  it('updates a changed route with a complete description, and deletes a removed one (CONFORMANCE 60, 61)', async () => {
    const store = new FileStore(join(dir, 'changes.json'));
    await setup({ store }).registrar.sync();
    await setup({ store, routes: 'with-upload' }).registrar.sync();
    expect(held()).toHaveLength(1);
    expect(held()[0]!.resource_scopes).toEqual(['delete', 'upload', 'view']);
    await setup({ store, routes: 'view-only' }).registrar.sync();
    expect(held()[0]!.resource_scopes).toEqual(['view']);
    const plan = await setup({ store, routes: 'none' }).registrar.plan();
    expect(plan.delete).toHaveLength(1);
    await setup({ store, routes: 'none' }).registrar.sync();
    expect(held()).toHaveLength(0);
  });

  it('renews the PAT when the AS rejects it mid-sync (CONFORMANCE 71)', async () => {
    const store = new MemoryStore();
    const { registrar } = setup({ store });
    await registrar.sync();
    await as.uma.invalidatePats();
    const { registrar: again } = setup({ store, routes: 'with-upload' });
    await registrar.sync(); // the old registrar's PAT is now rejected: renewed once, then the sync succeeds
    expect((await again.sync()).state).toBe('registered');
    expect(held()[0]!.resource_scopes).toEqual(['delete', 'upload', 'view']);
  });

  it('registers and deregisters per-object resources at run time', async () => {
    const { registrar } = setup({ routes: 'none' });
    const id = await registrar.register({
      key: 'album:42',
      name: 'Album 42',
      scopes: ['view', 'delete'],
      type: 'https://photos.example.com/types/album',
    });
    expect(held().find((r) => r._id === id)).toMatchObject({ name: 'Album 42', type: 'https://photos.example.com/types/album' });
    await registrar.deregister('album:42');
    expect(held().find((r) => r._id === id)).toBeUndefined();
  });
});

describe('UMA routes under a parameterised mount', () => {
  beforeEach(clear);
  it('registers the declared template and tickets requests whatever the parameter (no 503 for /:tenant)', async () => {
    const rs = new ResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { ...as.resourceServerClient, acceptMissingAudience: true },
      },
      resource: API,
      logger: false,
    });
    const uma = umaProtection({
      resourceServer: rs,
      issuer: as.issuer,
      ...as.resourceServerClient,
      store: new MemoryStore(),
      logger: false,
    });
    const app = express();
    const router = express.Router();
    router.get('/albums/:id', uma.require('view'), (_req, res) => {
      res.end('ok');
    });
    app.use('/:tenant', router);
    const registrar = uma.declareRoutes(app);
    expect((await registrar.sync()).state).toBe('registered');
    expect(held().map((r) => r.name)).toEqual(['/:tenant/albums/:id']);
    for (const tenant of ['acme', 'globex']) {
      const res = await request(app).get(`/${tenant}/albums/1`);
      expect(res.status).toBe(401);
      expect(umaChallenge(res).params.ticket).toBeTruthy();
    }
  });
  it("uma.require() used as middleware (app.use('/videos', ...)) is registered by its mount template and tickets requests", async () => {
    const rs = new ResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { ...as.resourceServerClient, acceptMissingAudience: true },
      },
      resource: API,
      logger: false,
    });
    const uma = umaProtection({
      resourceServer: rs,
      issuer: as.issuer,
      ...as.resourceServerClient,
      store: new MemoryStore(),
      logger: false,
    });
    const app = express();
    app.use('/videos', uma.require('view'), (_req, res) => {
      res.end('ok');
    });
    app.route('/clips').all(uma.require('view'), (_req, res) => {
      res.end('ok');
    });
    const registrar = uma.declareRoutes(app);
    expect((await registrar.sync()).state).toBe('registered');
    expect(
      held()
        .map((r) => [r.name, r.resource_scopes])
        .sort(),
    ).toEqual([
      ['/clips', ['view']],
      ['/videos', ['view']],
    ]);
    for (const path of ['/videos/1', '/clips']) {
      const res = await request(app).get(path);
      expect(res.status).toBe(401);
      expect(umaChallenge(res).params.ticket).toBeTruthy();
    }
  });
  it('a route under a RegExp mount or a router called from a function has no declared key: a fixed 500, never a key built from the path', async () => {
    const rs = new ResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { ...as.resourceServerClient, acceptMissingAudience: true },
      },
      resource: API,
      logger: false,
    });
    const errors: string[] = [];
    const logger = { warn: () => undefined, error: (m: string) => errors.push(m) };
    const uma = umaProtection({ resourceServer: rs, issuer: as.issuer, ...as.resourceServerClient, store: new MemoryStore(), logger });
    const app = express();
    app.get('/albums/:id', uma.require('view'), (_req, res) => {
      res.end('ok');
    });
    const admin = express.Router();
    admin.delete('/:id', uma.require('delete'), (_req, res) => {
      res.end('deleted');
    });
    // Before the fix, /albums/1 through this mount was keyed route:/albums/:id, the other route's resource.
    app.use(/^\/[a-z]+/, admin);
    const wrapped = express.Router();
    wrapped.delete('/albums/:id', uma.require('delete'), (_req, res) => {
      res.end('deleted');
    });
    app.use('/:tenant', (req, res, next) => wrapped(req, res, next));
    const registrar = uma.declareRoutes(app);
    expect((await registrar.sync()).state).toBe('registered');
    expect(held().map((r) => r.name)).toEqual(['/albums/:id']);
    for (const path of ['/photos/1', '/photos/1', '/acme/albums/1']) {
      const res = await request(app).delete(path);
      expect(res.status).toBe(500);
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(res.body).toEqual({ error: 'server_error', error_description: 'the server could not process the request' });
    }
    expect(errors.filter((m) => /no declared path template/.test(m))).toHaveLength(2);
    expect((await request(app).get('/albums/1')).status).toBe(401);
  });
});

describe('run-time registration under concurrency', () => {
  beforeEach(clear);
  it('registers one resource when the same object is registered five times at once', async () => {
    const { registrar } = setup({ routes: 'none' });
    const ids = await Promise.all(
      Array.from({ length: 5 }, () => registrar.register({ key: 'album:7', name: 'Album 7', scopes: ['view'] })),
    );
    expect(new Set(ids).size).toBe(1);
    expect(held()).toHaveLength(1);
    expect(registrar.resourceId('album:7')).toBe(ids[0]);
  });

  it('registers one resource when two replicas sharing a store register the same object at once', async () => {
    const shared = new MemoryStore();
    const [a, b] = [setup({ store: shared, routes: 'none' }).registrar, setup({ store: shared, routes: 'none' }).registrar];
    const album = { key: 'album:9', name: 'Album 9', scopes: ['view'] };
    const ids = await Promise.all([a.register(album), b.register(album), a.register(album), b.register(album)]);
    expect(new Set(ids).size).toBe(1);
    expect(held()).toHaveLength(1);
  });

  it('keeps every mapping entry when ten objects are registered at once, alongside a sync of the routes', async () => {
    const { registrar } = setup({ routes: 'view-only' });
    const keys = Array.from({ length: 10 }, (_, i) => `album:${i}`);
    const [, ...ids] = await Promise.all([
      registrar.sync(),
      ...keys.map((key) => registrar.register({ key, name: `Album ${key}`, scopes: ['view'] })),
    ]);
    for (const [i, key] of keys.entries()) expect(registrar.resourceId(key)).toBe(ids[i]);
    expect(held()).toHaveLength(11); // ten albums and the route
    // A later sync (a restart with the same store) finds everything where it was: nothing created again.
    await registrar.sync();
    expect(held()).toHaveLength(11);
  });
});

describe('UMA at request time', () => {
  let app: express.Express;
  let registrar: ReturnType<typeof setup>['registrar'];
  beforeAll(async () => {
    await clear();
    ({ app, registrar } = setup({ store: new MemoryStore() }));
    await registrar.sync();
  });
  afterAll(async () => {
    as.uma.down = false;
    as.uma.permissionTtlSeconds = undefined;
    as.uma.policy = undefined;
  });

  it('answers a tokenless request with 401 and a fresh ticket in WWW-Authenticate: UMA (CONFORMANCE 65)', async () => {
    const a = await request(app).get('/albums/1');
    const b = await request(app).get('/albums/1');
    expect(a.status).toBe(401);
    const c = umaChallenge(a);
    expect(c.scheme).toBe('UMA');
    expect(c.params).toMatchObject({ realm: 'photos', as_uri: as.issuer });
    expect(c.params.ticket).toBeTruthy();
    expect(umaChallenge(b).params.ticket).not.toBe(c.params.ticket);
  });

  it('lets an RPT holding the permission through, and answers one without it with a new ticket (CONFORMANCE 67)', async () => {
    const ticket = umaChallenge(await request(app).get('/albums/1')).params.ticket!;
    const rpt = await as.uma.obtainRpt(ticket);
    const ok = await request(app).get('/albums/1').set('Authorization', `Bearer ${rpt}`);
    expect(ok.status).toBe(200);
    const denied = await request(app).delete('/albums/1').set('Authorization', `Bearer ${rpt}`);
    expect(denied.status).toBe(401);
    expect(umaChallenge(denied).params.ticket).toBeTruthy();
    const invalid = await request(app).get('/albums/1').set('Authorization', 'Bearer not-an-rpt');
    expect(invalid.status).toBe(401);
    expect(umaChallenge(invalid).scheme).toBe('UMA');
  });

  it('stops honouring a permission past its own exp (CONFORMANCE 69)', async () => {
    // A permission that lives 30 s, then a clock 60 s ahead (no sleeping: a loaded machine cannot make it flaky).
    // The RPT itself lives far longer, so the 401 is the permission's exp, not the token's.
    as.uma.permissionTtlSeconds = 30;
    const realNow = Date.now.bind(Date);
    try {
      const ticket = umaChallenge(await request(app).get('/albums/2')).params.ticket!;
      const rpt = await as.uma.obtainRpt(ticket);
      expect((await request(app).get('/albums/2').set('Authorization', `Bearer ${rpt}`)).status).toBe(200);
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 60_000);
      const late = await request(app).get('/albums/2').set('Authorization', `Bearer ${rpt}`);
      expect(late.status).toBe(401);
      expect(umaChallenge(late).params.ticket).toBeTruthy();
    } finally {
      jest.restoreAllMocks();
      as.uma.permissionTtlSeconds = undefined;
    }
  });

  it('re-registers a resource the AS lost (invalid_resource_id) and still issues a ticket (CONFORMANCE 64)', async () => {
    const before = registrar.resourceId('route:/albums/:id')!;
    await (await registrar.client()).delete(before);
    const res = await request(app).get('/albums/3');
    expect(res.status).toBe(401);
    expect(umaChallenge(res).params.ticket).toBeTruthy();
    const after = registrar.resourceId('route:/albums/:id');
    expect(after).not.toBe(before);
    expect(held().map((r) => r._id)).toContain(after);
  });

  it('answers 403 with the Warning header when no ticket can be had (CONFORMANCE 66)', async () => {
    as.uma.down = true;
    try {
      const res = await request(app).get('/albums/1');
      expect(res.status).toBe(403);
      expect(res.headers.warning).toBe('199 - "UMA Authorization Server Unreachable"');
    } finally {
      as.uma.down = false;
    }
  });
});

describe('UMA when the AS is down at start-up', () => {
  beforeEach(clear);
  it('starts anyway, answers 503 until registered, then registers by itself', async () => {
    as.uma.down = true;
    const { app, uma } = setup({ store: new MemoryStore(), routes: 'view-only' });
    const registrar = uma.registerRoutes(app);
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(registrar.status().state).toBe('failing');
      const res = await request(app).get('/albums/1');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      as.uma.down = false;
      for (let i = 0; i < 60 && registrar.status().state !== 'registered'; i++) await new Promise((r) => setTimeout(r, 100));
      expect(registrar.status().state).toBe('registered');
      expect((await request(app).get('/albums/1')).status).toBe(401);
    } finally {
      registrar.stop();
      as.uma.down = false;
    }
  });
});

describe('UMA with replicas starting together', () => {
  beforeEach(clear);
  it('registers each resource exactly once when three replicas sync at the same time through a shared store', async () => {
    const shared = new MemoryStore();
    const replicas = [setup({ store: shared }), setup({ store: shared }), setup({ store: shared })];
    const results = await Promise.all(replicas.map((r) => r.registrar.sync()));
    expect(results.every((r) => r.state === 'registered')).toBe(true);
    expect(held()).toHaveLength(1);
    const ids = replicas.map((r) => r.registrar.resourceId('route:/albums/:id'));
    expect(new Set(ids).size).toBe(1);
  });
});

describe('the PAT with replicas', () => {
  beforeEach(clear);
  it('is fetched once for three replicas sharing a store', async () => {
    const shared = new MemoryStore();
    const before = as.uma.patsIssued;
    const replicas = [setup({ store: shared }), setup({ store: shared }), setup({ store: shared })];
    await Promise.all(replicas.map((r) => r.registrar.sync()));
    expect(as.uma.patsIssued - before).toBe(1);
  });
});
