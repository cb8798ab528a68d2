// (e) This kit accepting DPoP-bound tokens (RFC 9449): every request carries a fresh proof, checked against
// the token's cnf.jkt, the method and the configured origin (htu), with replay detection.
import { oauthResourceServer, requireScopes } from 'oauth-resource-server';
import { createApp, listOrders, serve, ISSUER, RESOURCE } from './common.mjs';

const app = createApp();
app.use(oauthResourceServer({ issuer: ISSUER, resource: RESOURCE, logger: false, dpop: { mode: 'allowed' } }));
app.get('/orders', requireScopes('read:orders'), listOrders);
serve(app);
