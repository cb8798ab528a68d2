/**
 * What an UMA-protected route answers when it asks for a ticket: the `UMA` challenge names the RFC 9728
 * metadata URL when metadata is on (RFC 9728 §5.1, CONFORMANCE 15), against the development UMA AS; and a
 * ticket that cannot be written into a header is no ticket (Grant §3.2.2, CONFORMANCE 66), against a fake
 * AS that hands one out.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore, ResourceServer, parseChallenges, umaProtection, type Logger } from '../../src/index.js';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://photos.example.com';

describe('UMA challenge with RFC 9728 metadata on (RFC 9728 §5.1, CONFORMANCE 15)', () => {
  let as: DevUmaAuthorizationServer;
  beforeAll(async () => {
    as = (await startDevAuthorizationServer({
      resources: [{ identifier: API, scopes: ['view'] }],
      uma: true,
    })) as DevUmaAuthorizationServer;
  });
  afterAll(async () => {
    await as?.close();
  });

  async function umaApp(metadata: ConstructorParameters<typeof ResourceServer>[0]['metadata']) {
    const rs = new ResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { ...as.resourceServerClient, acceptMissingAudience: true },
      },
      resource: API,
      logger: false,
      metadata,
    });
    const uma = umaProtection({
      resourceServer: rs,
      issuer: as.issuer,
      ...as.resourceServerClient,
      store: new MemoryStore(),
      realm: 'photos',
      logger: false,
    });
    const app = express();
    app.get('/albums/:id', uma.require('view'), (_req, res) => {
      res.json({ ok: true });
    });
    await uma.declareRoutes(app).sync();
    return app;
  }

  it('the 401 UMA challenge carries resource_metadata next to as_uri and ticket, and leaves it out when challenge: false', async () => {
    const res = await request(await umaApp(true)).get('/albums/1');
    expect(res.status).toBe(401);
    const [c] = parseChallenges(res.headers['www-authenticate']!);
    expect(c!.scheme).toBe('UMA');
    const params = Object.fromEntries(c!.params);
    expect(params).toMatchObject({ realm: 'photos', resource_metadata: `${API}/.well-known/oauth-protected-resource`, as_uri: as.issuer });
    expect(params.ticket).toEqual(expect.any(String));

    const off = await request(await umaApp({ challenge: false })).get('/albums/1');
    expect(off.status).toBe(401);
    expect(Object.fromEntries(parseChallenges(off.headers['www-authenticate']!)[0]!.params)).not.toHaveProperty('resource_metadata');
  });
});

describe('a ticket that is not a usable header value (Grant §3.2.2, CONFORMANCE 66)', () => {
  let server: Server;
  let issuer = '';
  let ticket = '';
  beforeAll(async () => {
    // Just the protection API a sync and a ticket request need; the permission endpoint answers `ticket`.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0];
        const send = (status: number, body: unknown) => {
          res.statusCode = status;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(body));
        };
        if (path === '/token') return send(200, { access_token: 'pat', token_type: 'Bearer', expires_in: 300 });
        if (path === '/rreg' && req.method === 'GET') return send(200, []);
        if (path === '/rreg' && req.method === 'POST') return send(201, { _id: 'r1' });
        if (path === '/perm') return send(201, { ticket });
        send(404, {});
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it.each([
    ['a line separator', 'tick\u2028et'],
    ['a double quote', 'tick"et'],
    ['more than 4096 characters', 'a'.repeat(5000)],
  ])('a ticket with %s gets the 403 + Warning answer, not a 500, and is never echoed or logged', async (_what, bad) => {
    ticket = bad;
    const logged: unknown[] = [];
    const logger: Logger = { warn: (...a) => logged.push(a), error: (...a) => logged.push(a) };
    const rs = new ResourceServer({
      issuer: { issuer, validation: 'introspection', introspection: { clientId: 'rs', clientSecret: 's' } },
      resource: API,
      authRequired: false,
      logger,
    });
    const endpoints = { token: `${issuer}/token`, resourceRegistration: `${issuer}/rreg`, permission: `${issuer}/perm` };
    const uma = umaProtection({
      resourceServer: rs,
      issuer,
      clientId: 'rs',
      clientSecret: 's',
      store: new MemoryStore(),
      logger,
      endpoints,
    });
    const app = express();
    app.get('/docs', uma.require('read'), (_req, res) => {
      res.json({ ok: true });
    });
    await uma.declareRoutes(app).sync();

    const res = await request(app).get('/docs');
    expect(res.status).toBe(403);
    expect(res.headers.warning).toBe('199 - "UMA Authorization Server Unreachable"');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.text).not.toContain(bad);
    expect(JSON.stringify(logged)).not.toContain(JSON.stringify(bad).slice(1, -1));
  });
});
