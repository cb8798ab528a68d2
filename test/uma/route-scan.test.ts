/** Walking Express 4 and 5 apps for declared scopes, and the resources they describe. */
import { describe, expect, it } from '@jest/globals';
import { requireScopes, ResourceServer } from '../../src/index.js';
import { scanRoutes } from '../../src/express/route-scan.js';
import { resourcesFromRoutes } from '../../src/uma/route-resources.js';
import { EXPRESS_VERSIONS } from '../helpers/express-versions.js';

const rs = new ResourceServer({ issuer: 'https://as.example.com', resource: 'https://api.example.com/api/v1', logger: false });

describe.each(EXPRESS_VERSIONS)('route scan (%s)', (_name, express) => {
  function app() {
    const a = express();
    a.get('/health', (_req, res) => {
      res.end();
    });
    a.get('/orders', requireScopes('read:orders'), (_req, res) => {
      res.end();
    });
    a.post('/orders', requireScopes('write:orders'), (_req, res) => {
      res.end();
    });
    const r = express.Router();
    r.get('/albums/:id', requireScopes(), (_req, res) => {
      res.end();
    });
    r.route('/albums/:id/photos')
      .get(requireScopes({ anyOf: ['view', 'admin'] }), (_req, res) => {
        res.end();
      })
      .delete(requireScopes('admin'), (_req, res) => {
        res.end();
      });
    a.use('/api/v1', r);
    a.use(
      '/t/:tenant',
      express.Router().put('/docs', requireScopes('edit'), (_req, res) => res.end()),
    );
    return a;
  }

  it('finds every route that declared scopes, with its full path and method', () => {
    const found = scanRoutes(app())
      .map((r) => `${r.methods.join(',')} ${r.path}`)
      .sort();
    expect(found).toEqual([
      'DELETE /api/v1/albums/:id/photos',
      'GET /api/v1/albums/:id',
      'GET /api/v1/albums/:id/photos',
      'GET /orders',
      'POST /orders',
      'PUT /t/:tenant/docs',
    ]);
  });

  it('describes one resource per path template with the union of its scopes (FedAuthz §3.1)', () => {
    const resources = resourcesFromRoutes(scanRoutes(app()), rs);
    const byKey = Object.fromEntries(resources.map((r) => [r.key, r]));
    expect(byKey['route:/orders']).toEqual({
      key: 'route:/orders',
      name: '/orders',
      scopes: ['read:orders', 'write:orders'],
      uris: ['/orders'],
    });
    // The identifier's path (/api/v1) is stripped before the resource name is taken.
    expect(byKey['route:/api/v1/albums/:id']!.scopes).toEqual(['read:albums']);
    expect(byKey['route:/api/v1/albums/:id/photos']!.scopes).toEqual(['admin', 'view']);
    expect(resources).toHaveLength(4);
  });
});
