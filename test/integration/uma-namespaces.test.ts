/**
 * Two APIs that share an AS client id and a store keep to their own resource sets: the mapping, its lock and
 * the ownership of sets are per namespace (the resource identifier by default). Before, the second API to
 * start renamed the first one's sets and deleted the one it did not declare, and restarts flip-flopped.
 * Against the kit's UMA test AS in every profile; counts are read from what the AS holds and serves.
 */
import { describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { MemoryStore, ResourceServer, umaProtection, UmaRegistrar, type CacheStore } from '../../src/index.js';
import { useUmaAs } from '../helpers/uma-as.js';

const PHOTOS = 'https://photos.example.com';
const GALLERY = 'https://gallery.example.com';

describe.each(['uma2', 'keycloak', 'uma1'] as const)('two APIs on one client id and one store (%s)', (profile) => {
  const as = useUmaAs(profile, [PHOTOS, GALLERY], { clearEach: true });

  /** App A (photos-api: /photos, /photos/:id, /albums/:id) or app B (gallery-api, without /albums/:id). */
  function api(which: 'A' | 'B', store: CacheStore) {
    const resource = which === 'A' ? PHOTOS : GALLERY;
    const rs = new ResourceServer({
      issuer: { issuer: as.issuer, validation: 'introspection', introspection: as.resourceServerClient },
      resource,
      logger: false,
    });
    const uma = umaProtection({
      resourceServer: rs,
      issuer: as.issuer,
      profile,
      ...as.resourceServerClient,
      store,
      namePrefix: which === 'A' ? 'photos-api' : 'gallery-api',
      logger: false,
    });
    const app = express();
    app.get('/photos', uma.require('view'), (_req, res) => {
      res.end();
    });
    app.get('/photos/:id', uma.require('view'), (_req, res) => {
      res.end();
    });
    if (which === 'A') {
      app.get('/albums/:id', uma.require('view'), (_req, res) => {
        res.end();
      });
    }
    return { app, registrar: uma.declareRoutes(app) };
  }
  const names = () =>
    as.uma
      .resources()
      .map((r) => String(r.name))
      .sort();
  const byId = () => Object.fromEntries(as.uma.resources().map((r) => [r._id, r.name]));
  const puts = () => as.uma.requests.resourceRegistration.PUT ?? 0;
  const deletes = () => as.uma.requests.resourceRegistration.DELETE ?? 0;
  const ALL = ['gallery-api /photos', 'gallery-api /photos/:id', 'photos-api /albums/:id', 'photos-api /photos', 'photos-api /photos/:id'];

  it("B's start neither renames nor deletes A's sets, A keeps answering with tickets, and restarts change nothing", async () => {
    const store = new MemoryStore();
    const a = api('A', store);
    expect((await a.registrar.sync()).state).toBe('registered');
    const aSets = byId();
    expect((await api('B', store).registrar.sync()).state).toBe('registered');
    expect(names()).toEqual(ALL);
    expect(byId()).toMatchObject(aSets); // A's sets: same ids, same names
    const res = await request(a.app).get('/albums/1');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/ticket="/);

    const [putsBefore, deletesBefore, held] = [puts(), deletes(), byId()];
    for (let i = 0; i < 3; i++) {
      await api('A', store).registrar.sync();
      await api('B', store).registrar.sync();
    }
    expect(puts()).toBe(putsBefore);
    expect(deletes()).toBe(deletesBefore);
    expect(byId()).toEqual(held);
  });

  it('with its mapping lost, each API adopts its own sets only (by its mark), and never touches the other', async () => {
    const shared = new MemoryStore();
    await api('A', shared).registrar.sync();
    await api('B', shared).registrar.sync();
    const held = byId();
    const deletesBefore = deletes();
    const a = api('A', new MemoryStore()).registrar;
    expect((await a.sync()).state).toBe('registered');
    const b = api('B', new MemoryStore()).registrar;
    expect((await b.sync()).state).toBe('registered');
    expect(byId()).toEqual(held);
    expect(deletes()).toBe(deletesBefore);
    expect(held[a.resourceId('route:/photos')!]).toBe('photos-api /photos');
    expect(held[b.resourceId('route:/photos')!]).toBe('gallery-api /photos');
  });

  // The uma2 wire format has no URIs to adopt by.
  if (profile !== 'uma2')
    it("does not adopt by URI another API's set of the same path", async () => {
      await api('B', new MemoryStore()).registrar.sync();
      const gallery = byId();
      const a = api('A', new MemoryStore()).registrar;
      await a.sync();
      expect(names()).toEqual(ALL);
      for (const key of ['route:/photos', 'route:/photos/:id', 'route:/albums/:id']) expect(gallery[a.resourceId(key)!]).toBeUndefined();
    });

  it('an upgrade keeps the run-time objects of the mapping the APIs shared before namespaces', async () => {
    const store = new MemoryStore();
    // A registrar without a namespace writes where every API's mapping lived before.
    const old = new UmaRegistrar({ issuer: as.issuer, profile, ...as.resourceServerClient, store, logger: false });
    const albumId = await old.register({ key: 'album:1', name: 'Album one', scopes: ['view'] });
    const a = api('A', store);
    await a.registrar.sync();
    expect(a.registrar.resourceId('album:1')).toBe(albumId);
    expect(as.uma.resources().map((r) => r._id)).toContain(albumId);
  });
});
