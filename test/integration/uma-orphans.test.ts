/**
 * Orphans and restarts with a lost mapping: `plan` lists this API's sets that no route declares, a sync
 * reports them and leaves them alone, `sync({ prune: true })` (the CLI's `sync --prune`) deletes them; run-time
 * objects are taken back, not reported; sets of another API are neither. A restart with a fresh mapping puts
 * nothing that did not change and lists the AS's sets once. In every profile of the kit's UMA test AS, counted
 * at the AS.
 */
import { describe, expect, it } from '@jest/globals';
import express from 'express';
import { MemoryStore, ResourceServer, umaProtection, type CacheStore } from '../../src/index.js';
import { runCli } from '../../src/cli/run.js';
import { useUmaAs } from '../helpers/uma-as.js';

const API = 'https://photos.example.com';

describe.each(['uma2', 'keycloak', 'uma1'] as const)('orphaned sets and restarts with a lost mapping (%s)', (profile) => {
  const as = useUmaAs(profile, [API], { clearEach: true });

  /** The API with the given routes (paths, each `uma.require('view')`), on `store`. */
  function api(store: CacheStore, paths: string[], resource = API) {
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
      namePrefix: resource === API ? 'photos' : 'other',
      logger: false,
    });
    const app = express();
    for (const p of paths) {
      app.get(p, uma.require('view'), (_req, res) => {
        res.end();
      });
    }
    return { uma, app, registrar: uma.declareRoutes(app) };
  }
  const heldIds = () => as.uma.resources().map((r) => r._id);
  const count = (bucket: Record<string, number>, method: string) => bucket[method] ?? 0;

  it('plans, reports and keeps an orphan; prunes it on request; takes back a run-time object; leaves other APIs alone', async () => {
    const first = api(new MemoryStore(), ['/a', '/b']);
    await first.registrar.sync();
    const orphanId = first.registrar.resourceId('route:/b')!;
    const albumId = await first.registrar.register({ key: 'album:1', name: 'Album 1', scopes: ['view'] });
    await api(new MemoryStore(), ['/b'], 'https://other.example.com').registrar.sync(); // another API's /b

    // The mapping is lost and /b is no longer declared.
    const next = api(new MemoryStore(), ['/a']);
    const plan = await next.registrar.plan();
    expect(plan.orphans).toEqual([{ key: 'route:/b', id: orphanId, name: 'photos /b' }]);
    expect(plan.restore).toEqual([
      { key: 'album:1', id: albumId, resource: expect.objectContaining({ name: 'Album 1', scopes: ['view'] }) },
    ]);
    expect(plan.delete).toEqual([]);

    const deletes = count(as.uma.requests.resourceRegistration, 'DELETE');
    const status = await next.registrar.sync();
    expect(status.orphans).toEqual(plan.orphans);
    expect(count(as.uma.requests.resourceRegistration, 'DELETE')).toBe(deletes);
    expect(heldIds()).toContain(orphanId);
    expect(next.registrar.resourceId('album:1')).toBe(albumId);

    const pruned = await next.registrar.sync({ prune: true });
    expect(pruned.orphans).toBeUndefined();
    expect(heldIds()).not.toContain(orphanId);
    expect(heldIds()).toContain(albumId);
    expect(
      as.uma
        .resources()
        .map((r) => r.name)
        .sort(),
    ).toEqual(['Album 1', 'other /b', 'photos /a']);
    expect((await next.registrar.plan()).orphans).toEqual([]);
  });

  it('the CLI prints orphans in plan, keeps them in sync, and deletes them with sync --prune', async () => {
    const store = new MemoryStore();
    await api(store, ['/a', '/b']).registrar.sync();
    const orphanId = as.uma.resources().find((r) => r.name === 'photos /b')!._id;
    const lines: string[] = [];
    const io = (paths: string[]) => ({
      load: async () => ({ default: () => api(new MemoryStore(), paths) }),
      out: (t: string) => lines.push(t),
      err: (t: string) => lines.push(t),
    });
    expect(await runCli(['plan', '--config', 'x.mjs'], io(['/a']))).toBe(0);
    expect(lines.join('\n')).toMatch(new RegExp(`! orphan  route:/b  \\(${orphanId}`));
    expect(lines.join('\n')).toMatch(/~ adopt {3}route:\/a .*unchanged/);
    expect(await runCli(['sync', '--config', 'x.mjs'], io(['/a']))).toBe(0);
    expect(lines.at(-1)).toMatch(/orphans \(not deleted; sync --prune deletes them\): route:\/b/);
    expect(heldIds()).toContain(orphanId);
    expect(await runCli(['sync', '--prune', '--config', 'x.mjs'], io(['/a']))).toBe(0);
    expect(heldIds()).not.toContain(orphanId);
    expect(await runCli(['plan', '--prune', '--config', 'x.mjs'], io(['/a']))).toBe(2);
  });

  it('restarting with a fresh mapping lists the AS once and puts nothing that did not change', async () => {
    const paths = ['/a', '/b', '/c/:id'];
    await api(new MemoryStore(), paths).registrar.sync();
    const before = { puts: count(as.uma.requests.resourceRegistration, 'PUT'), posts: count(as.uma.requests.resourceRegistration, 'POST') };
    for (let restart = 0; restart < 3; restart++) {
      const lists = count(as.uma.requests.list, 'GET');
      const r = api(new MemoryStore(), paths).registrar;
      expect((await r.sync()).state).toBe('registered');
      expect(count(as.uma.requests.list, 'GET') - lists).toBe(1);
    }
    expect(count(as.uma.requests.resourceRegistration, 'PUT')).toBe(before.puts);
    expect(count(as.uma.requests.resourceRegistration, 'POST')).toBe(before.posts);
    expect(as.uma.resources()).toHaveLength(3);
  });

  it('adopts a set that changed with one complete update', async () => {
    await api(new MemoryStore(), ['/a']).registrar.sync();
    const puts = count(as.uma.requests.resourceRegistration, 'PUT');
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
      store: new MemoryStore(),
      namePrefix: 'photos',
      logger: false,
    });
    const app = express();
    app.get('/a', uma.require('view'), (_req, res) => res.end());
    app.delete('/a', uma.require('delete'), (_req, res) => res.end());
    const plan = await uma.declareRoutes(app).plan();
    expect(plan.adopt.map((a) => a.changed)).toEqual([true]);
    await uma.registrar.sync();
    expect(count(as.uma.requests.resourceRegistration, 'PUT') - puts).toBe(1);
    expect(as.uma.resources()).toHaveLength(1);
  });
});
