// The orders API: one app.use() and a scope per route.
import express from 'express';
import { oauthResourceServer, protectedResourceMetadata, requireScopes, getAuth, assertRouteScopes } from 'oauth-resource-server';

/**
 * @param {{ issuer: string, resource: string, introspection?: { clientId: string, clientSecret: string } }} config
 *   With `introspection`, opaque tokens are introspected at the issuer (RFC 7662) and JWTs verified locally.
 */
export function createOrdersApi({ issuer, resource, introspection }) {
  const app = express();
  app.use(express.json());

  // Every request below needs a valid access token issued by `issuer` for `resource` (RFC 8707 aud).
  const rs = oauthResourceServer({
    issuer: introspection ? { issuer, introspection } : issuer,
    resource,
    metadata: { resourceName: 'Orders API' },
  });
  // RFC 9728 metadata (public, before the middleware), built from the routes' declared scopes.
  app.use(protectedResourceMetadata(rs, { app }));
  app.use(rs);

  const orders = [{ id: '1', item: 'tea', quantity: 2 }];

  app.get('/orders', requireScopes('read:orders'), (req, res) => {
    const auth = getAuth(req);
    res.json({ orders, requestedBy: auth?.subject, validatedBy: auth?.validatedBy });
  });

  // Derived from the method and path by the default convention (verb:resource): read:orders.
  app.get('/orders/:id', requireScopes(), (req, res) => {
    const order = orders.find((o) => o.id === req.params.id);
    if (!order) return res.status(404).json({ error: 'not_found' });
    res.json(order);
  });

  app.post('/orders', requireScopes('write:orders'), (req, res) => {
    const order = { id: String(orders.length + 1), ...req.body };
    orders.push(order);
    res.status(201).json(order);
  });

  // Start-up check: throws here, not at the first request, if a route's scopes cannot be enforced.
  assertRouteScopes(app);
  return app;
}
