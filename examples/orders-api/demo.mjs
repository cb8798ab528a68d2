// `npm run demo`: a development authorization server (oidc-provider) and the orders API on loopback,
// then a walk through what a client gets, printed as a transcript. Exits 0 when every step behaved
// as expected, non-zero naming the step that did not.
import { createServer } from 'node:http';
import { startDevAuthorizationServer } from 'oauth-resource-server/testing';
import { createOrdersApi } from './app.mjs';

/** `--serve`: keep the authorization server and the API running afterwards, for curl. */
const SERVE = process.argv.includes('--serve');
const BILLING = 'https://api.example.com/billing';

// The API listens first: with --serve its identifier is its own loopback URL, so the resource_metadata URL in
// its challenges is one you can open (RFC 9728 §3.1: it is built from the identifier).
const server = createServer().listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const api = `http://127.0.0.1:${server.address().port}`;
const ORDERS = SERVE ? `${api}/orders` : 'https://api.example.com/orders';

const as = await startDevAuthorizationServer({
  resources: [
    { identifier: ORDERS, scopes: ['read:orders', 'write:orders'] },
    { identifier: BILLING, scopes: ['read:billing'] },
  ],
});
console.log(`authorization server  ${as.issuer}  (oidc-provider, resource indicators, JWT access tokens)`);

server.on('request', createOrdersApi({ issuer: as.issuer, resource: ORDERS, introspection: as.resourceServerClient }));
console.log(`orders API            ${api}  (resource ${ORDERS})\n`);

const short = (t) => `${t.slice(0, 12)}…`;
const steps = [];
async function step(name, why, { method = 'GET', path, token, body }, expectStatus) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers['content-type'] = 'application/json';
  const res = await fetch(api + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  const ok = res.status === expectStatus;
  steps.push({ name, ok });
  console.log(`${ok ? '✔' : '✘'} ${name}`);
  console.log(`  → ${method} ${path}${token ? `  Authorization: Bearer ${short(token)}` : ''}`);
  console.log(`  ← ${res.status} ${res.statusText}`);
  const challenge = res.headers.get('www-authenticate');
  if (challenge) console.log(`    WWW-Authenticate: ${challenge}`);
  if (text) console.log(`    ${text}`);
  console.log(`  why: ${why}${ok ? '' : `  (expected ${expectStatus})`}\n`);
}

try {
  const readOrders = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' });
  const billing = await as.mintAccessToken({ resource: BILLING, scope: 'read:billing' });

  await step(
    'a token for this resource',
    'the JWT is signed by the AS, typ at+jwt, aud names this API, scope read:orders',
    { path: '/orders', token: readOrders },
    200,
  );
  await step(
    'a derived scope',
    'GET /orders/:id needs read:orders by the verb:resource convention',
    { path: '/orders/1', token: readOrders },
    200,
  );
  await step(
    'a token minted for another resource',
    'aud is the billing API (RFC 8707): not for us, whoever signed it',
    { path: '/orders', token: billing },
    401,
  );
  await step(
    'a missing scope',
    'POST /orders needs write:orders; the challenge names it (RFC 6750 §3.1)',
    { method: 'POST', path: '/orders', token: readOrders, body: { item: 'coffee' } },
    403,
  );
  await step('no token at all', 'a challenge without an error code (RFC 6750 §3)', { path: '/orders' }, 401);
  await step(
    'protected resource metadata (RFC 9728)',
    'public, at the path-inserted well-known URL; scopes_supported is what the routes enforce',
    { path: '/.well-known/oauth-protected-resource/orders' },
    200,
  );
  const opaque = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders', format: 'opaque' });
  await step(
    'an opaque token, by introspection',
    'not a JWT: the kit asks the AS (RFC 7662) and checks active, exp, aud and scope',
    { path: '/orders', token: opaque },
    200,
  );
  await step(
    'an unknown opaque token',
    'the AS answers {"active": false}: invalid_token',
    { path: '/orders', token: 'not-a-token-the-as-issued' },
    401,
  );
  await as.revoke(opaque);
  await step(
    'the same opaque token after revocation',
    'still cached for up to 60 s (introspection.cacheTtlSeconds): revocation takes effect when the entry expires',
    { path: '/orders', token: opaque },
    200,
  );
} finally {
  if (!SERVE) {
    server.close();
    await as.close();
  }
}

const failed = steps.filter((s) => !s.ok);
if (failed.length) {
  console.error(`demo FAILED at: ${failed.map((s) => s.name).join('; ')}`);
  process.exit(1);
}
console.log(`all ${steps.length} steps behaved as expected`);
if (SERVE) {
  const token = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders write:orders' });
  const { clientId, clientSecret } = as.mintingClients.jwt;
  console.log(`
serving until Ctrl-C:
  authorization server ${as.issuer}   (token endpoint ${as.tokenEndpoint})
  orders API           ${api}   (resource ${ORDERS})
  client               client_id ${clientId}   client_secret ${clientSecret}   (client_secret_basic)

try:
  curl -i ${api}/orders -H 'Authorization: Bearer ${token}'
  curl -i ${api}/orders      # 401: its WWW-Authenticate names resource_metadata
  curl -s ${api}/.well-known/oauth-protected-resource/orders
mint more tokens (client credentials, RFC 8707 resource indicator):
  curl -s -u '${clientId}:${clientSecret}' -d grant_type=client_credentials -d 'resource=${ORDERS}' -d 'scope=read:orders write:orders' ${as.tokenEndpoint}`);
  process.on('SIGINT', () => {
    server.close();
    void as.close().then(() => process.exit(0));
  });
}
