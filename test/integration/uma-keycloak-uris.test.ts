/**
 * With the Keycloak profile, route sets carry Keycloak's URI patterns (`/photos/{id}`, `/files/*`), not
 * Express's (`/photos/:id`), so Keycloak's own matching (the policy enforcer's `matchingUri` lookup, the admin
 * console) finds them. Against the kit's UMA test AS in the Keycloak format, on Express 4 and 5.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { MemoryStore, ResourceServer, umaProtection, UmaRegistrar } from '../../src/index.js';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express-versions.js';

const API = 'https://photos.example.com';
let as: DevUmaAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['view'] }], uma: { profile: 'keycloak' } });
});
afterAll(async () => {
  await as?.close();
});
beforeEach(async () => {
  const client = await new UmaRegistrar({ issuer: as.issuer, profile: 'keycloak', ...as.resourceServerClient, logger: false }).client();
  for (const r of as.uma.resources()) await client.delete(r._id);
});

/** Keycloak's lookup of a request path among the resource server's sets (what its policy enforcer asks). */
async function matching(path: string): Promise<unknown[]> {
  const pat = await as.uma.obtainPat();
  const res = await fetch(`${as.uma.resourceRegistrationEndpoint}?uri=${encodeURIComponent(path)}&matchingUri=true&deep=true`, {
    headers: { authorization: `Bearer ${pat}` },
  });
  return (await res.json()) as unknown[];
}

describe.each(EXPRESS_VERSIONS)('Keycloak URI patterns (%s)', (name, express) => {
  it('registers /photos/{id}, /{tenant}/albums/{id} and /files/*, which Keycloak matches request paths against', async () => {
    const rs = new ResourceServer({ issuer: { issuer: as.issuer, introspection: as.resourceServerClient }, resource: API, logger: false });
    const uma = umaProtection({
      resourceServer: rs,
      issuer: as.issuer,
      profile: 'keycloak',
      ...as.resourceServerClient,
      store: new MemoryStore(),
      logger: false,
    });
    const app = express();
    const ok = (_req: unknown, res: { end(): void }) => res.end();
    app.get('/photos/:id', uma.require('view'), ok);
    app.get('/:tenant/albums/:id', uma.require('view'), ok);
    app.get(name === 'express 4' ? '/files/*' : '/files/*path', uma.require('view'), ok);
    expect((await uma.declareRoutes(app).sync()).state).toBe('registered');
    const uris = Object.fromEntries(as.uma.resources().map((r) => [r.name, r.uris]));
    expect(uris['/photos/:id']).toEqual(['/photos/{id}']);
    expect(uris['/:tenant/albums/:id']).toEqual(['/{tenant}/albums/{id}']);
    expect(Object.entries(uris).find(([n]) => String(n).startsWith('/files/'))?.[1]).toEqual(['/files/*']);
    expect(await matching('/photos/7')).toEqual([expect.objectContaining({ name: '/photos/:id' })]);
    expect(await matching('/acme/albums/3')).toEqual([expect.objectContaining({ name: '/:tenant/albums/:id' })]);
    expect(await matching('/files/a/b.txt')).toEqual([expect.objectContaining({ uris: ['/files/*'] })]);
  });

  it('adopts a set registered before with the Express form, and gives it the Keycloak form', async () => {
    const client = await new UmaRegistrar({ issuer: as.issuer, profile: 'keycloak', ...as.resourceServerClient, logger: false }).client();
    const old = await client.create({ name: 'photo', scopes: ['view'], uris: ['/photos/:id'] });
    const rs = new ResourceServer({ issuer: { issuer: as.issuer, introspection: as.resourceServerClient }, resource: API, logger: false });
    const uma = umaProtection({
      resourceServer: rs,
      issuer: as.issuer,
      profile: 'keycloak',
      ...as.resourceServerClient,
      store: new MemoryStore(),
      logger: false,
    });
    const app = express();
    app.get('/photos/:id', uma.require('view'), (_req: unknown, res: { end(): void }) => res.end());
    await uma.declareRoutes(app).sync();
    expect(as.uma.resources().map((r) => [r._id, r.uris])).toEqual([[old.id, ['/photos/{id}']]]);
  });
});
