/**
 * Objects registered at run time (`registrar.register({ key: 'album:1', ... })`) survive a restart: a new
 * `umaProtection` on the same store runs `declareRoutes` + `sync` (or `registerRoutes`) and neither plans
 * nor performs their deletion; the per-object route keeps answering with tickets. With the file and the Redis
 * store, in every profile, against the kit's UMA test AS (counts read from what the AS holds).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileStore, RedisStore, ResourceServer, umaProtection, type CacheStore } from '../../src/index.js';
import { useUmaAs } from '../helpers/uma-as.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

const API = 'https://photos.example.com';
const dir = mkdtempSync(join(tmpdir(), 'ors-uma-runtime-'));
let redis: RedisServerHandle;
const redisStores: RedisStore[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  for (const s of redisStores) await s.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const stores: Record<'file' | 'redis', () => Promise<CacheStore>> = {
  file: async () => new FileStore(join(dir, `${randomBytes(6).toString('hex')}.json`)),
  redis: async () => {
    const s = await RedisStore.connect(redis.url, { prefix: `t${randomBytes(4).toString('hex')}:` });
    redisStores.push(s);
    return s;
  },
};

describe.each(['uma2', 'keycloak', 'uma1'] as const)('run-time objects across restarts (%s)', (profile) => {
  const as = useUmaAs(profile, [API]);

  /** One start of the API: a declared route and a per-object route, on `store`. */
  function start(store: CacheStore) {
    const rs = new ResourceServer({
      issuer: { issuer: as.issuer, validation: 'introspection', introspection: as.resourceServerClient },
      resource: API,
      logger: false,
    });
    const uma = umaProtection({ resourceServer: rs, issuer: as.issuer, profile, ...as.resourceServerClient, store, logger: false });
    const app = express();
    app.get('/photos', uma.require('view'), (_req, res) => {
      res.end('photos');
    });
    app.get('/albums/:id', uma.require('view', { resourceKey: (req) => `album:${String(req.params.id)}` }), (_req, res) => {
      res.end('album');
    });
    return { app, uma };
  }
  const heldIds = () => as.uma.resources().map((r) => r._id);

  it.each(['file', 'redis'] as const)('keeps an album registered at run time through three restarts (%s store)', async (kind) => {
    const store = await stores[kind]();
    const first = start(store);
    await first.uma.declareRoutes(first.app).sync();
    const name = `Album ${kind} ${randomBytes(4).toString('hex')}`;
    const albumId = await first.uma.registrar.register({ key: 'album:1', name, scopes: ['view'] });
    expect((await request(first.app).get('/albums/1')).status).toBe(401);

    for (let restart = 0; restart < 3; restart++) {
      const next = start(store);
      const registrar = next.uma.declareRoutes(next.app);
      const plan = await registrar.plan();
      expect(plan.delete.map((d) => d.key)).not.toContain('album:1');
      expect((await registrar.sync()).state).toBe('registered');
      expect(heldIds()).toContain(albumId);
      const res = await request(next.app).get('/albums/1');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^UMA .*ticket="/);
    }
    // It lives until deregister (from any later start).
    const last = start(store);
    last.uma.declareRoutes(last.app);
    await last.uma.registrar.deregister('album:1');
    expect(heldIds()).not.toContain(albumId);
    expect(as.uma.resources().filter((r) => r.name === name)).toHaveLength(0);
  });

  it('a removed route is still deleted by the next sync, next to a run-time object that stays', async () => {
    const store = await stores.file();
    const first = start(store);
    await first.uma.declareRoutes(first.app).sync();
    const albumId = await first.uma.registrar.register({
      key: 'album:2',
      name: `Album 2 ${randomBytes(4).toString('hex')}`,
      scopes: ['view'],
    });
    const photosId = first.uma.registrar.resourceId('route:/photos')!;
    // The next version of the API has no /photos route.
    const rs = new ResourceServer({
      issuer: { issuer: as.issuer, validation: 'introspection', introspection: as.resourceServerClient },
      resource: API,
      logger: false,
    });
    const uma = umaProtection({ resourceServer: rs, issuer: as.issuer, profile, ...as.resourceServerClient, store, logger: false });
    const app = express();
    app.get('/albums/:id', uma.require('view', { resourceKey: (req) => `album:${String(req.params.id)}` }), (_req, res) => {
      res.end('album');
    });
    const plan = await uma.declareRoutes(app).plan();
    expect(plan.delete).toEqual([{ key: 'route:/photos', id: photosId }]);
    await uma.registrar.sync();
    expect(heldIds()).not.toContain(photosId);
    expect(heldIds()).toContain(albumId);
    expect((await request(app).get('/albums/2')).status).toBe(401);
  });
});
