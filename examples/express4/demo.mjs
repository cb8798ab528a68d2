// The same kit on Express 4 (`express@^4.21`): one app.use() and scopes per route, nothing else changes.
// In this repository Express 4 is installed under the alias `express4`; in your app it is plain `express@4`.
import express from 'express4';
import { oauthResourceServer, requireScopes, getAuth, assertRouteScopes } from 'oauth-resource-server';
import { startDevAuthorizationServer } from 'oauth-resource-server/testing';

const API = 'https://api.example.com/orders';
const as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders', 'write:orders'] }] });
const app = express();
app.use(oauthResourceServer({ issuer: as.issuer, resource: API }));
app.get('/orders', requireScopes('read:orders'), (req, res) => res.json({ client: getAuth(req)?.clientId }));
app.post('/orders', requireScopes('write:orders'), (_req, res) => res.status(201).end());
assertRouteScopes(app); // start-up check: every route's scopes can be enforced
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${server.address().port}`;

let failed = false;
const check = async (name, init, expected) => {
  const res = await fetch(`${base}/orders`, init);
  const ok = res.status === expected;
  if (!ok) failed = true;
  console.log(
    `${ok ? '✔' : '✘'} ${name}: ${res.status}${res.headers.get('www-authenticate') ? `  WWW-Authenticate: ${res.headers.get('www-authenticate')}` : ''}`,
  );
};
try {
  const token = await as.mintAccessToken({ resource: API, scope: 'read:orders' });
  await check('Express 4, a token for this resource', { headers: { authorization: `Bearer ${token}` } }, 200);
  await check('Express 4, a missing scope', { method: 'POST', headers: { authorization: `Bearer ${token}` } }, 403);
  await check('Express 4, no token', {}, 401);
} finally {
  server.close();
  await as.close();
}
if (failed) {
  console.error('express4 demo FAILED');
  process.exit(1);
}
console.log('express4: every step behaved as expected');
