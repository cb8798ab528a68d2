// (a) Bare Express 5: no authentication. The baseline.
import { createApp, listOrders, serve } from './common.mjs';

const app = createApp();
app.get('/orders', listOrders);
serve(app);
