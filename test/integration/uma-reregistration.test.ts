/**
 * After the AS lost its resource sets (an in-memory AS restarted), concurrent requests to a route wait for the
 * one re-registration of its set and then get their ticket: no "503 not registered yet" while the set is
 * created again. Counted under concurrency (answers by status), in one process and across three replicas
 * sharing a store, against the kit's UMA test AS in the UMA 2.0 and Keycloak formats.
 */
import { describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { MemoryStore, ResourceServer, umaProtection, type CacheStore } from '../../src/index.js';
import { useUmaAs } from '../helpers/uma-as.js';

const API = 'https://photos.example.com';

/** How many answers had each status. */
function tally(statuses: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

/**
 * A shared store that tells when the registration mapping is being written, and writes it slowly (a network
 * round trip): requests sent then arrive while a re-registration is under way.
 */
class WatchedStore extends MemoryStore {
  #waiters: Array<() => void> = [];
  /** Resolves when the mapping is next written. */
  nextMappingWrite(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  override async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (key.startsWith('ors:uma-mapping')) {
      for (const w of this.#waiters.splice(0)) w();
      await new Promise((r) => setTimeout(r, 150));
    }
    return super.set(key, value, ttlMs);
  }
}

describe.each(['uma2', 'keycloak'] as const)('re-registration of a set the AS lost (%s)', (profile) => {
  const as = useUmaAs(profile, [API], { clearEach: true });

  function replica(store: CacheStore) {
    const rs = new ResourceServer({
      issuer: { issuer: as.issuer, validation: 'introspection', introspection: as.resourceServerClient },
      resource: API,
      logger: false,
    });
    const uma = umaProtection({ resourceServer: rs, issuer: as.issuer, profile, ...as.resourceServerClient, store, logger: false });
    const app = express();
    app.get('/albums/:id', uma.require('view'), (_req, res) => {
      res.end('album');
    });
    app.get('/objects/:id', uma.require('view', { resourceKey: (req) => `object:${String(req.params.id)}` }), (_req, res) => {
      res.end('object');
    });
    return { app, registrar: uma.declareRoutes(app) };
  }
  /**
   * One request to the first app finds the set lost and starts registering it again; once the mapping is being
   * written, `perApp - 1` more to the first app and `perApp` to each other app follow. The answers, by status.
   */
  const burst = async (store: WatchedStore, apps: express.Express[], perApp: number, path: string) => {
    const written = store.nextMappingWrite();
    const first = request(apps[0]!)
      .get(path)
      .then((r) => r);
    await written;
    const rest = apps.flatMap((app, i) =>
      Array.from({ length: i === 0 ? perApp - 1 : perApp }, () =>
        request(app)
          .get(path)
          .then((r) => r),
      ),
    );
    const answers = await Promise.all([first, ...rest]);
    for (const a of answers) if (a.status === 401) expect(a.headers['www-authenticate']).toMatch(/^UMA .*ticket="/);
    return tally(answers.map((a) => a.status));
  };

  it('answers 20 concurrent requests with 20 tickets while the route set is registered again once', async () => {
    const store = new WatchedStore();
    const { app, registrar } = replica(store);
    await registrar.sync();
    const before = registrar.resourceId('route:/albums/:id');
    as.uma.forgetResources();
    expect(await burst(store, [app], 20, '/albums/1')).toEqual({ 401: 20 });
    expect(as.uma.resources()).toHaveLength(1);
    expect(registrar.resourceId('route:/albums/:id')).not.toBe(before);
    expect(as.uma.resources()[0]!._id).toBe(registrar.resourceId('route:/albums/:id'));
  });

  it('answers 30 concurrent requests over three replicas with 30 tickets, one set created again', async () => {
    const shared = new WatchedStore();
    const replicas = [replica(shared), replica(shared), replica(shared)];
    await Promise.all(replicas.map((r) => r.registrar.sync()));
    for (let round = 0; round < 3; round++) {
      as.uma.forgetResources();
      expect(
        await burst(
          shared,
          replicas.map((r) => r.app),
          10,
          '/albums/1',
        ),
      ).toEqual({ 401: 30 });
      expect(as.uma.resources()).toHaveLength(1);
      const ids = new Set(replicas.map((r) => r.registrar.resourceId('route:/albums/:id')));
      expect(ids).toEqual(new Set([as.uma.resources()[0]!._id]));
    }
  });

  it('registers a run-time object again from its stored description, after a restart', async () => {
    const store = new WatchedStore();
    const first = replica(store);
    await first.registrar.sync();
    await first.registrar.register({ key: 'object:7', name: 'Object 7', scopes: ['view'] });
    const restarted = replica(store);
    await restarted.registrar.sync();
    as.uma.forgetResources();
    expect(await burst(store, [restarted.app], 10, '/objects/7')).toEqual({ 401: 10 });
    expect(as.uma.resources().map((r) => r.name)).toEqual(['Object 7']);
  });
});
