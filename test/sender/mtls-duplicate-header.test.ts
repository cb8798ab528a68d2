/**
 * RFC 8705 §6.5 behind a trusted proxy: the forwarded certificate header must come from the proxy alone.
 * Sent twice (the client's own copy plus the proxy's), Node joins the lines and only the first PEM would be
 * read, so the client's copy would win: such a request is refused. One line holding a chain is the proxy's: its leaf is read.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { connect, type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { oauthResourceServer } from '../../src/index.js';
import { clientCertificateThumbprint } from '../../src/sender/mtls.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
const HEADER = 'x-client-cert';
const dir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures', 'tls');
const pem = (n: string) => readFileSync(join(dir, n), 'utf8');
const thumb = (certPem: string) => createHash('sha256').update(new X509Certificate(certPem).raw).digest('base64url');
const mtls = { certificateHeader: HEADER, trustedProxies: ['127.0.0.1', '::ffff:127.0.0.1'] };

let issuer: TestIssuer;
let server: Server;
let port = 0;
let victimToken = '';
beforeAll(async () => {
  issuer = await createTestIssuer();
  // The victim's token is bound to client-a; the attacker presents client-b to the proxy.
  victimToken = await signTestToken(issuer, { audience: API, claims: { cnf: { 'x5t#S256': thumb(pem('client-a.crt')) } } });
  const app = express();
  app.use(oauthResourceServer({ issuer: issuer.trustedIssuer, resource: API, logger: false, mtls }));
  app.get('/r', (_req, res) => {
    res.end('ok');
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** Send the raw header lines (supertest would merge them) and read the status code and body. */
const send = (headerLines: ReadonlyArray<[string, string]>) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      const extra = headerLines.map(([n, v]) => `${n}: ${v}\r\n`).join('');
      s.write(`GET /r HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer ${victimToken}\r\n${extra}Connection: close\r\n\r\n`);
    });
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('utf8')));
    s.on('error', reject);
    s.on('end', () => resolve({ status: Number(out.split(' ')[1]), body: out.slice(out.indexOf('\r\n\r\n') + 4) }));
  });
const enc = (n: string) => encodeURIComponent(pem(n));

describe('a forwarded client certificate header sent more than once', () => {
  it("refuses the client's own copy followed by the proxy's with 401 invalid_token", async () => {
    // The single header the proxy set is still honoured.
    expect((await send([[HEADER, enc('client-a.crt')]])).status).toBe(200);
    expect((await send([[HEADER, enc('client-b.crt')]])).status).toBe(401);
    const res = await send([
      [HEADER, enc('client-a.crt')],
      [HEADER, enc('client-b.crt')],
    ]);
    expect(res.status).toBe(401);
    expect(res.body).toContain('invalid_token');
    expect(res.body).not.toContain(victimToken);
  });

  it('compares header names without regard to case', async () => {
    const res = await send([
      ['X-Client-Cert', enc('client-a.crt')],
      ['x-client-cert', enc('client-b.crt')],
    ]);
    expect(res.status).toBe(401);
  });

  it('reads the leaf of a chain the proxy sends in its one line (AWS ALB, Traefik): the first certificate', async () => {
    expect((await send([[HEADER, encodeURIComponent(pem('client-a.crt') + pem('client-b.crt'))]])).status).toBe(200);
    expect((await send([[HEADER, encodeURIComponent(pem('client-b.crt') + pem('client-a.crt'))]])).status).toBe(401);
    const der = (f: string) => new X509Certificate(pem(f)).raw.toString('base64');
    expect((await send([[HEADER, `${der('client-a.crt')},${der('client-b.crt')}`]])).status).toBe(200);
  });

  it('clientCertificateThumbprint gives no certificate for repeated raw header lines or two certificates in one', () => {
    const socket = { remoteAddress: '127.0.0.1' };
    const a = enc('client-a.crt');
    expect(clientCertificateThumbprint({ headers: { [HEADER]: a }, rawHeaders: ['X-Client-Cert', a], socket }, mtls)).toBe(
      thumb(pem('client-a.crt')),
    );
    expect(
      clientCertificateThumbprint(
        { headers: { [HEADER]: `${a}, ${a}` }, rawHeaders: ['X-Client-Cert', a, 'x-client-cert', a], socket },
        mtls,
      ),
    ).toBeUndefined();
    expect(clientCertificateThumbprint({ headers: { [HEADER]: `${a}, ${a}` }, socket }, mtls)).toBeUndefined();
    const der = new X509Certificate(pem('client-a.crt')).raw.toString('base64');
    expect(clientCertificateThumbprint({ headers: { [HEADER]: der }, socket }, mtls)).toBe(thumb(pem('client-a.crt')));
    expect(clientCertificateThumbprint({ headers: { [HEADER]: `${der}, ${der}` }, socket }, mtls)).toBeUndefined();
  });
});
