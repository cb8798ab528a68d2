// Bare Express 5 with the kit loaded and a ResourceServer constructed, never used: what a larger heap alone costs
// an Express app here (scavenges take longer with more old space: see bench/RESULTS.md, "Where the hot path's gap is").
import { ResourceServer } from 'oauth-resource-server';
import { createApp, listOrders, serve, ISSUER, RESOURCE } from './common.mjs';

globalThis.unusedResourceServer = new ResourceServer({ issuer: ISSUER, resource: RESOURCE, logger: false });
const app = createApp();
app.get('/orders', listOrders);
serve(app);
