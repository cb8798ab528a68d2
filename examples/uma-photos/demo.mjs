// The UMA walk-through, end to end on loopback: create an album (registered at the AS), ask for it without
// a token (401 + permission ticket), trade the ticket for an RPT at the AS, ask again (200).
// Exits 0 when every step behaved as expected.
import { startDevAuthorizationServer } from 'oauth-resource-server/testing';
import { createPhotosApi } from './app.mjs';

const API = 'https://photos.example.com';
const as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['albums:create'] }], uma: true });
const { app } = createPhotosApi({ issuer: as.issuer, resource: API, ...as.resourceServerClient });
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${server.address().port}`;

let failed = false;
const check = (name, ok, detail) => {
  console.log(`${ok ? '✔' : '✘'} ${name}${detail ? `\n    ${detail}` : ''}`);
  if (!ok) failed = true;
};

try {
  const owner = await as.mintAccessToken({ resource: API, scope: 'albums:create' });
  const created = await fetch(`${base}/albums`, {
    method: 'POST',
    headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Holidays' }),
  });
  check(
    'create an album (registered at the AS as its own resource)',
    created.status === 201,
    `POST /albums → ${created.status}; the AS now holds ${as.uma
      .resources()
      .map((r) => r.name)
      .join(', ')}`,
  );

  const first = await fetch(`${base}/albums/1`);
  const challenge = first.headers.get('www-authenticate') ?? '';
  const ticket = /ticket="([^"]+)"/.exec(challenge)?.[1];
  check(
    'ask without a token: 401 with a permission ticket (UMA Grant §3.2.1)',
    first.status === 401 && Boolean(ticket),
    `GET /albums/1 → ${first.status}\n    WWW-Authenticate: ${challenge}`,
  );

  const rpt = await as.uma.obtainRpt(ticket);
  check(
    'trade the ticket for an RPT at the AS token endpoint (grant_type=urn:ietf:params:oauth:grant-type:uma-ticket)',
    Boolean(rpt),
    `RPT ${rpt.slice(0, 12)}…`,
  );

  const second = await fetch(`${base}/albums/1`, { headers: { authorization: `Bearer ${rpt}` } });
  check('ask again with the RPT: 200', second.status === 200, `GET /albums/1 → ${second.status} ${await second.text()}`);

  const del = await fetch(`${base}/albums/1`, { method: 'DELETE', headers: { authorization: `Bearer ${rpt}` } });
  check(
    'delete needs another permission: a new ticket (UMA Grant §3.5)',
    del.status === 401 && /ticket="/.test(del.headers.get('www-authenticate') ?? ''),
    `DELETE /albums/1 → ${del.status}`,
  );
} finally {
  server.close();
  await as.close();
}
if (failed) {
  console.error('uma-photos demo FAILED');
  process.exit(1);
}
console.log('uma-photos: every step behaved as expected');
