// (d) This kit validating opaque tokens by introspection (RFC 7662) at the dev AS, with its default cache,
// or with none (BENCH_INTROSPECTION_CACHE=off: every request is an AS call).
import { oauthResourceServer, requireScopes } from 'oauth-resource-server';
import { createApp, listOrders, serve, ISSUER, RESOURCE } from './common.mjs';

const app = createApp();
const introspection = { clientId: process.env.BENCH_CLIENT_ID, clientSecret: process.env.BENCH_CLIENT_SECRET };
const cache = process.env.BENCH_INTROSPECTION_CACHE === 'off' ? { cache: false } : {};
app.use(oauthResourceServer({ issuer: { issuer: ISSUER, introspection }, resource: RESOURCE, logger: false, ...cache }));
app.get('/orders', requireScopes('read:orders'), listOrders);
serve(app);
