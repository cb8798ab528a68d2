// (b) This kit, with its defaults: app-wide middleware + a per-route scope requirement.
import { oauthResourceServer, requireScopes } from 'oauth-resource-server';
import { createApp, listOrders, serve, ISSUER, RESOURCE } from './common.mjs';

const app = createApp();
app.use(oauthResourceServer({ issuer: ISSUER, resource: RESOURCE, logger: false }));
app.get('/orders', requireScopes('read:orders'), listOrders);
serve(app);
