/**
 * The registrar's mapping seen from several places at once: the ids it already knows stay usable while a
 * change is under way, a replica finds what another replica registered at run time, an object another
 * replica deregistered is not brought back, and a corrupt stored mapping is set aside, not a crash.
 * Against the development UMA AS; counts are read from what the AS holds.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { MemoryStore, ResourceServer, UmaRegistrar, umaProtection } from '../../src/index.js';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://photos.example.com';
let as: DevUmaAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['view'] }], uma: true });
});
afterAll(async () => {
  await as?.close();
});

/** A MemoryStore whose reads take about a network round trip. */
class SlowStore extends MemoryStore {
  override async get(key: string) {
    await new Promise((r) => setTimeout(r, 30));
    return super.get(key);
  }
}
const registrar = (store: MemoryStore) =>
  new UmaRegistrar({
    issuer: as.issuer,
    clientId: as.resourceServerClient.clientId,
    clientSecret: as.resourceServerClient.clientSecret,
    store,
    logger: false,
  });
const named = (name: string) => as.uma.resources().filter((r) => r.name === name);

describe('the registration mapping', () => {
  it('keeps known ids usable while another change is under way (no 503 for a registered object)', async () => {
    const rs = new ResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { ...as.resourceServerClient, acceptMissingAudience: true },
      },
      resource: API,
      logger: false,
    });
    const uma = umaProtection({ resourceServer: rs, issuer: as.issuer, ...as.resourceServerClient, store: new SlowStore(), logger: false });
    const app = express();
    app.get('/albums/:id', uma.require('view', { resourceKey: (req) => `album:${String(req.params.id)}` }), (_req, res) => {
      res.end('ok');
    });
    const id = await uma.registrar.register({ key: 'album:1', name: 'Slow 1', scopes: ['view'] });
    expect((await request(app).get('/albums/1')).status).toBe(401); // a ticket
    const pending = uma.registrar.register({ key: 'album:2', name: 'Slow 2', scopes: ['view'] });
    await new Promise((r) => setTimeout(r, 10)); // the second registration is reading the mapping
    expect(uma.registrar.resourceId('album:1')).toBe(id);
    expect((await request(app).get('/albums/1')).status).toBe(401);
    await pending;
  });

  it('finds at replica B an object registered at replica A (shared store)', async () => {
    const shared = new MemoryStore();
    const [a, b] = [registrar(shared), registrar(shared)];
    await b.register({ key: 'album:9', name: 'Replica 9', scopes: ['view'] }); // B has read the mapping
    const id = await a.register({ key: 'album:10', name: 'Replica 10', scopes: ['view'] });
    await new Promise((r) => setTimeout(r, 1100)); // lookups re-read the mapping at most once a second
    expect(await b.lookupResourceId('album:10')).toBe(id);
  });

  it('does not bring back at replica B an object deregistered at replica A', async () => {
    const shared = new MemoryStore();
    const [a, b] = [registrar(shared), registrar(shared)];
    await b.register({ key: 'album:20', name: 'Replica 20', scopes: ['view'] });
    await a.register({ key: 'album:20', name: 'Replica 20', scopes: ['view'] });
    await a.deregister('album:20');
    expect(named('Replica 20')).toHaveLength(0);
    await expect(b.requestTicket('album:20', ['view'])).rejects.toMatchObject({ error: 'invalid_resource_id' });
    expect(named('Replica 20')).toHaveLength(0);
  });

  it('syncs again on a later start() (a second registerRoutes), after an earlier one succeeded', async () => {
    const r = registrar(new MemoryStore());
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 150 && !f(); i++) await new Promise((res) => setTimeout(res, 20));
      return f();
    };
    r.declare([{ key: 'route:/a', name: 'Start A', scopes: ['view'] }]);
    r.start();
    try {
      expect(await until(() => r.resourceId('route:/a') !== undefined)).toBe(true);
      r.declare([{ key: 'route:/b', name: 'Start B', scopes: ['view'] }]);
      r.start();
      expect(await until(() => r.resourceId('route:/b') !== undefined)).toBe(true);
    } finally {
      r.stop();
    }
  });

  it('loses no entry when a lookup reads the shared mapping while this replica registers', async () => {
    const store = new SlowStore();
    const r = registrar(store);
    await r.register({ key: 'album:A', name: 'Race A', scopes: ['view'] });
    await new Promise((res) => setTimeout(res, 1100)); // let lookups read the store again
    const lookup = r.lookupResourceId('album:unknown'); // reads the (old) stored mapping slowly
    const idB = await r.register({ key: 'album:B', name: 'Race B', scopes: ['view'] });
    await lookup;
    const idC = await r.register({ key: 'album:C', name: 'Race C', scopes: ['view'] });
    expect(r.resourceId('album:B')).toBe(idB);
    expect(r.resourceId('album:C')).toBe(idC);
    expect(await r.lookupResourceId('album:B')).toBe(idB);
  });

  it.each([['null'], ['[]'], ['{"album:1": null, "album:2": {"id": 5}}'], ['not json']])(
    'sets aside a stored mapping of %s and registers anyway',
    async (raw) => {
      const store = new MemoryStore();
      await store.set(`ors:uma-mapping:${as.issuer}:${as.resourceServerClient.clientId}`, raw, 60_000);
      const r = registrar(store);
      const id = await r.register({ key: 'album:30', name: `Corrupt ${raw}`, scopes: ['view'] });
      expect(typeof id).toBe('string');
      expect(r.resourceId('album:30')).toBe(id);
    },
  );
});
