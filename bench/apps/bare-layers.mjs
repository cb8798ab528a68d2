// Bare Express 5 with the kit's layer count and no work in them: an app-wide middleware and a route-level
// handler that only call next(). What the kit costs beyond Express's own cost of two layers.
import { createApp, listOrders, serve } from './common.mjs';

const app = createApp();
app.use((_req, _res, next) => next());
app.get('/orders', (_req, _res, next) => next(), listOrders);
serve(app);
