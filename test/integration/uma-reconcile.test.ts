/**
 * Sets the AS lost come back by themselves: a periodic reconcile (while started), an immediate one when the
 * kit sees signs that the AS lost state (`invalid_resource_id`, a PAT refused that it accepted before), and one
 * reconcile for all the replicas of a store. Against the kit's UMA test AS in the UMA 2.0 and Keycloak formats;
 * what is asserted is what the AS holds and how often it was listed, never how long anything took.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { MemoryStore, ResourceServer, umaProtection, UmaRegistrar, type CacheStore } from '../../src/index.js';
import { useUmaAs } from '../helpers/uma-as.js';

const API = 'https://photos.example.com';

/** Wait until `f()` holds, checking every 25 ms at most 400 times (what is asserted is `f()`, not the wait). */
async function until(f: () => boolean): Promise<boolean> {
  for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 25));
  return f();
}

describe.each(['uma2', 'keycloak'] as const)('reconciling with an AS that lost its sets (%s)', (profile) => {
  const as = useUmaAs(profile, [API], { clearEach: true });
  const started: UmaRegistrar[] = [];
  afterEach(() => {
    for (const r of started.splice(0)) r.stop();
  });

  function replica(store: CacheStore, reconcileIntervalMs?: number | false) {
    const rs = new ResourceServer({
      issuer: { issuer: as.issuer, validation: 'introspection', introspection: as.resourceServerClient },
      resource: API,
      logger: false,
    });
    const uma = umaProtection({
      resourceServer: rs,
      issuer: as.issuer,
      profile,
      ...as.resourceServerClient,
      store,
      logger: false,
      ...(reconcileIntervalMs !== undefined ? { reconcileIntervalMs } : {}),
    });
    const app = express();
    app.get('/albums/:id', uma.require('view'), (_req, res) => {
      res.end();
    });
    app.get('/photos', uma.require('view'), (_req, res) => {
      res.end(); // the quiet route: no request reaches it in these tests
    });
    return { app, uma };
  }
  /** Start (registerRoutes) and wait for the start-up sync. */
  async function start(store: CacheStore, reconcileIntervalMs?: number | false) {
    const r = replica(store, reconcileIntervalMs);
    const registrar = r.uma.registerRoutes(r.app);
    started.push(registrar);
    expect((await registrar.sync()).state).toBe('registered');
    return { ...r, registrar };
  }
  const names = () =>
    as.uma
      .resources()
      .map((r) => String(r.name))
      .sort();
  const lists = () => as.uma.requests.list.GET ?? 0;

  it('brings back the quiet route and a run-time object at once when a request meets a lost set', async () => {
    const { app, registrar } = await start(new MemoryStore(), false);
    await registrar.register({ key: 'album:1', name: 'Album one', scopes: ['view'] });
    as.uma.forgetResources();
    expect((await request(app).get('/albums/1')).status).toBe(401);
    // The AS holds the sets again before the registrar has stored their new ids: wait for both (a loaded machine
    // showed the gap).
    const photosId = () => as.uma.resources().find((r) => r.name === '/photos')?._id;
    expect(
      await until(() => names().length === 3 && photosId() !== undefined && registrar.resourceId('route:/photos') === photosId()),
    ).toBe(true);
    expect(names()).toEqual(['/albums/:id', '/photos', 'Album one']);
    expect(registrar.resourceId('route:/photos')).toBe(photosId());
  });

  it('reconciles at once when the AS refuses a PAT it accepted before (an AS restart)', async () => {
    const { registrar } = await start(new MemoryStore(), false);
    await as.uma.invalidatePats();
    as.uma.forgetResources();
    await registrar.register({ key: 'album:2', name: 'Album two', scopes: ['view'] }); // meets the refused PAT
    expect(await until(() => names().length === 3)).toBe(true);
    expect(names()).toEqual(['/albums/:id', '/photos', 'Album two']);
  });

  it('reconciles periodically while started, without any request', async () => {
    await start(new MemoryStore(), 50);
    as.uma.forgetResources();
    expect(await until(() => names().length === 2)).toBe(true);
    expect(names()).toEqual(['/albums/:id', '/photos']);
  });

  it('reconciles once for three replicas of a store that reconcile at the same time', async () => {
    const shared = new MemoryStore();
    const replicas = [await start(shared, false), await start(shared, false), await start(shared, false)];
    for (let round = 0; round < 3; round++) {
      as.uma.forgetResources();
      const before = lists();
      await Promise.all(replicas.map((r) => r.registrar.reconcile()));
      expect(lists() - before).toBe(1);
      expect(names()).toEqual(['/albums/:id', '/photos']);
    }
    // Each replica answers with the set the one reconcile created.
    for (const r of replicas) expect((await request(r.app).get('/albums/1')).status).toBe(401);
    expect(names()).toEqual(['/albums/:id', '/photos']);
  });

  it('brings the sets back once when requests at three replicas meet the loss together', async () => {
    const shared = new MemoryStore();
    const replicas = [await start(shared, false), await start(shared, false), await start(shared, false)];
    as.uma.forgetResources();
    const answers = await Promise.all(replicas.map((r) => request(r.app).get('/albums/1')));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401]);
    expect(await until(() => names().length === 2)).toBe(true);
    expect(names()).toEqual(['/albums/:id', '/photos']);
  });
});
