/**
 * Token size, as the README's "Token size" states it: `maxTokenLength` (default 8192) is the kit's 400, but
 * Node's own limit on the request head (16 KiB by default) answers 431 before the kit runs; raising both lets
 * a larger token through to the kit.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { oauthResourceServer, type ResourceServerOptions } from '../../src/index.js';
import { createTestIssuer } from '../../src/testing/index.js';

const RESOURCE = 'https://api.example.com';
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

/** An app behind a node:http server (`serverOptions` as `http.createServer` takes them); counts what the kit saw. */
async function start(options: Partial<ResourceServerOptions>, serverOptions: http.ServerOptions = {}) {
  const issuer = await createTestIssuer();
  const seen = { requests: 0 };
  const app = express();
  app.use((_req, _res, next) => {
    seen.requests++;
    next();
  });
  app.use(oauthResourceServer({ issuer: issuer.trustedIssuer, resource: RESOURCE, logger: false, ...options }));
  app.get('/r', (_req, res) => {
    res.json({ ok: true });
  });
  const server = http.createServer(serverOptions, app);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen };
}

function get(port: number, token: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/r', headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('token size', () => {
  it('Node default header limit is 16 KiB (what the README states)', () => {
    expect(http.maxHeaderSize).toBe(16384);
  });

  it("a token over maxTokenLength (8192) but within the header limit is the kit's 400 invalid_request", async () => {
    const { port, seen } = await start({});
    const res = await get(port, 'a'.repeat(10_000));
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_request"/);
    expect(seen.requests).toBe(1);
  });

  it("a request head over 16 KiB gets Node's bare 431 before the kit runs, even with a larger maxTokenLength", async () => {
    const { port, seen } = await start({ maxTokenLength: 32_768 });
    const res = await get(port, 'a'.repeat(17_000));
    expect(res.status).toBe(431);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.body).toBe('');
    expect(seen.requests).toBe(0);
  });

  it('with maxHeaderSize and maxTokenLength raised, a 20 KB token reaches the kit (here: 401 invalid_token)', async () => {
    const { port, seen } = await start({ maxTokenLength: 32_768 }, { maxHeaderSize: 65_536 });
    const res = await get(port, 'a'.repeat(20_000));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(seen.requests).toBe(1);
  });
});
