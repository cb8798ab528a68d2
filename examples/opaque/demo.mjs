// Opaque access tokens, validated by token introspection (RFC 7662) at the development authorization
// server: the answer is checked, cached (never past exp, here for 3 s so revocation shows), and 100
// concurrent requests with one token cost one call at the AS. Exits 0 when every step behaved as expected.
import express from 'express';
import { oauthResourceServer, requireScopes, getAuth, assertRouteScopes } from 'oauth-resource-server';
import { startDevAuthorizationServer } from 'oauth-resource-server/testing';

const API = 'https://api.example.com/orders';
const as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders'], format: 'opaque' }] });
const app = express();
app.use(
  oauthResourceServer({ issuer: { issuer: as.issuer, introspection: { ...as.resourceServerClient, cacheTtlSeconds: 3 } }, resource: API }),
);
app.get('/orders', requireScopes('read:orders'), (req, res) =>
  res.json({ validatedBy: getAuth(req)?.validatedBy, client: getAuth(req)?.clientId }),
);
assertRouteScopes(app); // start-up check: every route's scopes can be enforced
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const url = `http://127.0.0.1:${server.address().port}/orders`;

let failed = false;
const check = (name, ok, detail) => {
  console.log(`${ok ? '✔' : '✘'} ${name}\n    ${detail}`);
  if (!ok) failed = true;
};
const get = (token) => fetch(url, { headers: { authorization: `Bearer ${token}` } });
try {
  const token = await as.mintAccessToken({ resource: API, scope: 'read:orders' });
  const first = await get(token);
  check('an opaque token, introspected (RFC 7662)', first.status === 200, `${first.status} ${await first.text()}`);

  const fresh = await as.mintAccessToken({ resource: API, scope: 'read:orders' });
  const before = as.requests.introspection;
  const statuses = await Promise.all(Array.from({ length: 100 }, () => get(fresh).then((r) => r.status)));
  check(
    '100 concurrent requests with one new token',
    statuses.every((s) => s === 200) && as.requests.introspection - before === 1,
    `introspection calls at the AS: ${as.requests.introspection - before}`,
  );

  // A token introspected just now, so its cache entry is young whatever the steps above cost on a busy machine.
  const revoked = await as.mintAccessToken({ resource: API, scope: 'read:orders' });
  await get(revoked);
  await as.revoke(revoked);
  const cached = await get(revoked);
  await new Promise((r) => setTimeout(r, 3200));
  const after = await get(revoked);
  check(
    'a revoked token: served from the cache until its entry expires, then refused',
    cached.status === 200 && after.status === 401,
    `right after revocation ${cached.status}; after the 3 s cache life ${after.status} ${after.headers.get('www-authenticate')}`,
  );
} finally {
  server.close();
  await as.close();
}
if (failed) {
  console.error('opaque demo FAILED');
  process.exit(1);
}
console.log('opaque: every step behaved as expected');
