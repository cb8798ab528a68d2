// Run the orders API against your own authorization server:
//   ISSUER=https://as.example.com RESOURCE=https://api.example.com/orders node examples/orders-api/server.mjs
import { createOrdersApi } from './app.mjs';

const { ISSUER, RESOURCE, PORT = '3000' } = process.env;
if (!ISSUER || !RESOURCE) {
  console.error('Set ISSUER and RESOURCE (or run `npm run demo`, which starts a development authorization server).');
  process.exit(2);
}
createOrdersApi({ issuer: ISSUER, resource: RESOURCE }).listen(Number(PORT), '127.0.0.1', () => {
  console.log(`orders API on http://127.0.0.1:${PORT} (issuer ${ISSUER}, resource ${RESOURCE})`);
});
