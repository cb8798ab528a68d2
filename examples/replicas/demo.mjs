// Three replicas of an API sharing one Redis (started here from PATH on a loopback port), against the
// development authorization server: one introspection call for 100 requests spread over the replicas, a
// DPoP proof used at one replica refused at another, one PAT and one registration per resource for
// replicas starting together. Exits 0 when every count is as expected.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { oauthResourceServer, RedisStore, requireScopes, ResourceServer, umaProtection } from 'oauth-resource-server';
import { startDevAuthorizationServer } from 'oauth-resource-server/testing';

const API = 'https://api.example.com';
if (spawnSync('redis-server', ['--version']).error) {
  console.error('redis-server is not on PATH: install the Debian package redis-server (apt-get install -y redis-server)');
  process.exit(2);
}
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'replicas-redis-'));
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
  stdio: 'ignore',
});
const as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders'], format: 'opaque' }], uma: true });
const servers = [];
const stores = [];
let failed = false;
const check = (name, ok, detail) => {
  console.log(`${ok ? '✔' : '✘'} ${name}\n    ${detail}`);
  if (!ok) failed = true;
};

try {
  let store;
  for (let i = 0; i < 100 && !store; i++) {
    store = await RedisStore.connect(`redis://127.0.0.1:${port}`).catch(() => undefined);
    if (!store) await new Promise((r) => setTimeout(r, 50));
  }
  stores.push(store);

  // Three replicas, each with its own Redis connection, as three processes would have.
  const replicas = [];
  for (let i = 0; i < 3; i++) {
    const shared = await RedisStore.connect(`redis://127.0.0.1:${port}`);
    stores.push(shared);
    const server = new ResourceServer({
      issuer: { issuer: as.issuer, introspection: as.resourceServerClient },
      resource: API,
      cache: { store: shared },
      dpop: { baseUrl: API, replayStore: shared },
      logger: false,
    });
    const uma = umaProtection({ resourceServer: server, issuer: as.issuer, ...as.resourceServerClient, store: shared, logger: false });
    const app = express();
    app.use('/orders', oauthResourceServer(server));
    app.get('/orders', requireScopes('read:orders'), (_req, res) => res.json({ replica: i }));
    app.get('/albums/:id', uma.require('view'), (_req, res) => res.json({ replica: i }));
    const http = app.listen(0, '127.0.0.1');
    await new Promise((r) => http.once('listening', r));
    servers.push(http);
    replicas.push({ url: `http://127.0.0.1:${http.address().port}`, registrar: uma.declareRoutes(app) });
  }

  const pats = as.uma.patsIssued;
  const statuses = await Promise.all(replicas.map((r) => r.registrar.sync().then((s) => s.state)));
  check(
    'three replicas start together: one registration per resource, one PAT',
    statuses.every((s) => s === 'registered') && as.uma.resources().length === 1 && as.uma.patsIssued - pats === 1,
    `the AS holds ${as.uma.resources().length} resource set(s) (${as.uma
      .resources()
      .map((r) => r.name)
      .join(', ')}); PATs issued: ${as.uma.patsIssued - pats}`,
  );

  const token = await as.mintAccessToken({ resource: API, scope: 'read:orders' });
  const before = as.requests.introspection;
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      fetch(`${replicas[i % 3].url}/orders`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status),
    ),
  );
  const calls = as.requests.introspection - before;
  check(
    '100 requests for one opaque token across three replicas',
    answers.every((s) => s === 200) && calls === 1,
    `${answers.filter((s) => s === 200).length} × 200; introspection calls at the AS: ${calls}`,
  );

  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const bound = await as.signToken({ claims: { aud: API, scope: 'read:orders', cnf: { jkt: await calculateJwkThumbprint(jwk) } } });
  const proof = await new SignJWT({
    htm: 'GET',
    htu: `${API}/orders`,
    iat: Math.floor(Date.now() / 1000),
    jti: randomBytes(12).toString('base64url'),
    ath: createHash('sha256').update(bound).digest('base64url'),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .sign(privateKey);
  const at = async (r) => (await fetch(`${r.url}/orders`, { headers: { authorization: `DPoP ${bound}`, dpop: proof } })).status;
  const a = await at(replicas[0]);
  const b = await at(replicas[1]);
  check('a DPoP proof used at replica A, replayed at replica B', a === 200 && b === 401, `replica A → ${a}, replica B → ${b}`);
} finally {
  for (const s of servers) s.close();
  for (const s of stores) await s?.close();
  await as.close();
  redis.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
if (failed) {
  console.error('replicas demo FAILED');
  process.exit(1);
}
console.log('replicas: every count behaved as expected');
