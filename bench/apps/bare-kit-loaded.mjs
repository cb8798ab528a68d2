// Bare Express 5 with the kit loaded and a ResourceServer constructed, never used: what the kit's presence alone (its
// code and heap, no per-request work) costs an Express app here; 0.96× bare in 30 rounds of bench/layers.mjs.
import { ResourceServer } from 'oauth-resource-server';
import { createApp, listOrders, serve, ISSUER, RESOURCE } from './common.mjs';

globalThis.unusedResourceServer = new ResourceServer({ issuer: ISSUER, resource: RESOURCE, logger: false });
const app = createApp();
app.get('/orders', listOrders);
serve(app);
