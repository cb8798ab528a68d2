// A photo-album API protected with UMA 2.0: each album is registered at the authorization server as its
// own resource when it is created, and access to it is decided by the owner's policies at the AS.
import express from 'express';
import { oauthResourceServer, requireScopes, getAuth, umaProtection, ResourceServer, assertRouteScopes } from 'oauth-resource-server';

/**
 * @param {{ issuer: string, resource: string, clientId: string, clientSecret: string, store?: import('oauth-resource-server').CacheStore }} config
 */
export function createPhotosApi({ issuer, resource, clientId, clientSecret, store }) {
  // RPTs are opaque: validated by introspection at the UMA AS (FedAuthz §5). On UMA routes an RPT is bound by its
  // permissions for this API's resources (it has no `aud`); ordinary tokens (POST /albums) by their audience.
  const server = new ResourceServer({ issuer: { issuer, validation: 'auto', introspection: { clientId, clientSecret } }, resource });
  const uma = umaProtection({ resourceServer: server, issuer, clientId, clientSecret, store, realm: 'photos' });
  const albums = new Map();

  const app = express();
  app.use(express.json());

  // Creating an album is an ordinary OAuth call (scope albums:create); the new album becomes an UMA resource.
  app.post('/albums', oauthResourceServer(server), requireScopes('albums:create'), async (req, res, next) => {
    try {
      const id = String(albums.size + 1);
      const owner = getAuth(req)?.subject;
      await uma.registrar.register({
        key: `album:${id}`,
        name: `Album ${id}`,
        type: 'https://photos.example.com/types/album',
        scopes: ['view', 'delete'],
      });
      albums.set(id, { id, title: req.body?.title ?? 'untitled', owner });
      res.status(201).json(albums.get(id));
    } catch (err) {
      next(err);
    }
  });

  // Viewing and deleting an album needs an RPT with that album's permission.
  const album = { resourceKey: (req) => `album:${req.params.id}` };
  app.get('/albums/:id', uma.require('view', album), (req, res) => {
    const a = albums.get(req.params.id);
    if (!a) return res.status(404).json({ error: 'not_found' });
    res.json(a);
  });
  app.delete('/albums/:id', uma.require('delete', album), async (req, res, next) => {
    try {
      albums.delete(req.params.id);
      await uma.registrar.deregister(`album:${req.params.id}`);
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  assertRouteScopes(app); // start-up check of every route's scope declarations
  return { app, uma };
}
