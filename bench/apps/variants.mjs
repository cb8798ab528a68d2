// One app, three interchangeable guards on the same two layers, chosen by a `variant <name>` line on stdin:
// `none` (the layers only call next()), `kit` (this kit, defaults), `floor` (floor-middleware.mjs). Every variant
// runs in this one process, with one heap and one JIT state, so bench/variants.mjs can compare them in µs.
import { oauthResourceServer, requireScopes } from 'oauth-resource-server';
import { floorMiddleware } from './floor-middleware.mjs';
import { createApp, listOrders, serve, ISSUER, RESOURCE, JWKS_URI } from './common.mjs';

const kit = {
  authenticate: oauthResourceServer({ issuer: ISSUER, resource: RESOURCE, logger: false }),
  scope: requireScopes('read:orders'),
};
const floorGuard = await floorMiddleware({ issuer: ISSUER, resource: RESOURCE, jwksUri: JWKS_URI });
const floor = { authenticate: floorGuard.authenticate, scope: floorGuard.requireScope('read:orders') };
const none = { authenticate: (_req, _res, next) => next(), scope: (_req, _res, next) => next() };
const VARIANTS = { none, kit, floor };

let current = none;
process.stdin.on('data', (d) => {
  for (const m of String(d).matchAll(/variant (\w+)/g)) {
    current = VARIANTS[m[1]] ?? current;
    process.stdout.write(`VARIANT ${m[1]}\n`);
  }
});
const app = createApp();
app.use((req, res, next) => current.authenticate(req, res, next));
app.get('/orders', (req, res, next) => current.scope(req, res, next), listOrders);
serve(app);
