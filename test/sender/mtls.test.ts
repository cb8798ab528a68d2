/** Certificate-bound tokens (RFC 8705 §3) over a real TLS server on loopback, and forwarded certificates (§6.5). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import https from 'node:https';
import request from 'supertest';
import type { AddressInfo } from 'node:net';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { oauthResourceServer, requireScopes, type ResourceServerOptions } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
const dir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures', 'tls');
const pem = (n: string) => readFileSync(join(dir, n), 'utf8');
const thumb = (certPem: string) => createHash('sha256').update(new X509Certificate(certPem).raw).digest('base64url');

let as: DevAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read'] }] });
});
afterAll(async () => {
  await as?.close();
});

function app(extra: Partial<ResourceServerOptions> = {}) {
  const a = express();
  a.use(oauthResourceServer({ issuer: as.issuer, resource: API, logger: false, ...extra }));
  a.get('/r', requireScopes('read'), (_req, res) => {
    res.end('ok');
  });
  return a;
}
const bound = (certPem: string) => as.signToken({ claims: { aud: API, scope: 'read', cnf: { 'x5t#S256': thumb(certPem) } } });

describe('certificate-bound tokens over TLS (CONFORMANCE 44)', () => {
  let server: https.Server;
  let port = 0;
  beforeAll(async () => {
    server = https.createServer({ key: pem('server.key'), cert: pem('server.crt'), requestCert: true, rejectUnauthorized: false }, app());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const get = (token: string, client?: 'client-a' | 'client-b') =>
    new Promise<number>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/r',
          headers: { authorization: `Bearer ${token}` },
          rejectUnauthorized: false,
          agent: false,
          ...(client ? { key: pem(`${client}.key`), cert: pem(`${client}.crt`) } : {}),
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('accepts the token only with the certificate it is bound to', async () => {
    const token = await bound(pem('client-a.crt'));
    expect(await get(token, 'client-a')).toBe(200);
    expect(await get(token, 'client-b')).toBe(401);
    expect(await get(token)).toBe(401);
  });
});

describe('forwarded client certificates (CONFORMANCE 45)', () => {
  const header = 'x-client-cert';
  it('honours the certificate header only from a configured proxy', async () => {
    const token = await bound(pem('client-a.crt'));
    const forwarded = encodeURIComponent(pem('client-a.crt'));
    const untrusted = app({ mtls: { certificateHeader: header, trustedProxies: ['10.9.9.9'] } });
    expect((await request(untrusted).get('/r').set('Authorization', `Bearer ${token}`).set(header, forwarded)).status).toBe(401);
    const trusted = app({ mtls: { certificateHeader: header, trustedProxies: ['127.0.0.1', '::ffff:127.0.0.1', '::1'] } });
    expect((await request(trusted).get('/r').set('Authorization', `Bearer ${token}`).set(header, forwarded)).status).toBe(200);
    expect(
      (
        await request(trusted)
          .get('/r')
          .set('Authorization', `Bearer ${token}`)
          .set(header, encodeURIComponent(pem('client-b.crt')))
      ).status,
    ).toBe(401);
    expect((await request(trusted).get('/r').set('Authorization', `Bearer ${token}`).set(header, 'garbage')).status).toBe(401);
  });
});
