/**
 * RFC 6750 §2–§3 token extraction and the no-credentials challenge: CONFORMANCE rules 1–10.
 * Tokens come from the real development authorization server (oidc-provider).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { oauthResourceServer, getAuth, type ResourceServerOptions } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { challengeOf } from '../helpers/challenge.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express-versions.js';

const API = 'https://api.example.com';

let as: DevAuthorizationServer;
let token: string;

beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders', 'write:orders'] }] });
  token = await as.mintAccessToken({ resource: API, scope: 'read:orders write:orders' });
});
afterAll(async () => {
  await as?.close();
});

/** A 401 with a Bearer challenge carrying no error information (RFC 6750 §3). */
function expectNoCredentialsAnswer(
  res: { status: number; headers: Record<string, unknown>; text?: string; body?: unknown },
  realm?: string,
): void {
  expect(res.status).toBe(401);
  const c = challengeOf(res.headers['www-authenticate']);
  expect(c.scheme.toLowerCase()).toBe('bearer');
  expect(c.names).not.toContain('error');
  expect(c.names).not.toContain('error_description');
  expect(c.names).not.toContain('error_uri');
  if (realm !== undefined) expect(c.params.realm).toBe(realm);
  expect(JSON.stringify(res.body ?? {})).not.toContain('"error"');
}

function expectInvalidRequest(res: { status: number; headers: Record<string, unknown>; body?: unknown }): void {
  expect(res.status).toBe(400);
  const c = challengeOf(res.headers['www-authenticate']);
  expect(c.scheme).toBe('Bearer');
  expect(c.params.error).toBe('invalid_request');
  expect((res.body as { error?: string }).error).toBe('invalid_request');
}

type AppOptions = Partial<ResourceServerOptions> & { parsers?: RequestHandler[] };

function buildApp(express: ExpressFactory, { parsers, ...opts }: AppOptions = {}) {
  const app = express();
  for (const p of parsers ?? [express.urlencoded({ extended: false }), express.json()]) app.use(p);
  app.use(oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, resource: API, logger: false, ...opts }));
  const handler = (req: Request, res: Response) => {
    const auth = getAuth(req);
    res.json({ authenticated: auth !== undefined, client: auth?.clientId ?? null });
  };
  app.get('/orders', handler);
  app.post('/orders', handler);
  app.put('/orders', handler);
  return app;
}

/** Send a request with raw header pairs (an array value becomes repeated header lines). */
async function rawRequest(
  app: http.RequestListener,
  method: string,
  path: string,
  headers: Array<[string, string | string[]]>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method, agent: false });
      for (const [name, value] of headers) req.setHeader(name, value);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe.each(EXPRESS_VERSIONS)('token extraction (%s)', (_name, express) => {
  describe('the Authorization header', () => {
    it('accepts `Authorization: Bearer <token>` (CONFORMANCE 1)', async () => {
      const res = await request(buildApp(express)).get('/orders').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ authenticated: true, client: 'dev-jwt' });
    });

    it.each(['bearer', 'BEARER', 'BeArEr'])('accepts the scheme written %s (CONFORMANCE 2)', async (scheme) => {
      const res = await request(buildApp(express)).get('/orders').set('Authorization', `${scheme} ${token}`);
      expect(res.status).toBe(200);
      expect(res.body.authenticated).toBe(true);
    });

    it('accepts more than one space between scheme and token (CONFORMANCE 2)', async () => {
      const res = await request(buildApp(express)).get('/orders').set('Authorization', `Bearer   ${token}`);
      expect(res.status).toBe(200);
    });

    it.each([
      ['a tab', '\t'],
      ['a tab and a space', '\t '],
    ])(
      'answers a Bearer header whose scheme and token are separated by %s with 400 invalid_request, not as another scheme (CONFORMANCE 3)',
      async (_what, sep) => {
        const res = await rawRequest(buildApp(express), 'GET', '/orders', [['Authorization', `Bearer${sep}${token}`]]);
        expect(res.status).toBe(400);
        expect(challengeOf(res.headers['www-authenticate']).params.error).toBe('invalid_request');
      },
    );

    it.each([
      ['a space inside', (t: string) => `${t.slice(0, 20)} ${t.slice(20)}`],
      ['a comma', (t: string) => `${t},${t}`],
      ['a quote', (t: string) => `"${t}"`],
      ['an = before the end', (t: string) => `${t.slice(0, 10)}=${t.slice(10)}`],
      ['a trailing word', (t: string) => `${t} extra`],
      ['a non-ASCII character', (t: string) => `${t}é`],
    ])('refuses a token with %s, never as valid (CONFORMANCE 3)', async (_what, mangle) => {
      const value = `Bearer ${mangle(token)}`;
      const res = await rawRequest(buildApp(express), 'GET', '/orders', [['Authorization', value]]);
      expect([400, 401]).toContain(res.status);
      const c = challengeOf(res.headers['www-authenticate']);
      expect(c.params.error).toBe(res.status === 400 ? 'invalid_request' : 'invalid_token');
      expect(res.body).not.toContain('"authenticated":true');
    });
  });

  describe('no credentials and unsupported schemes', () => {
    it('answers a request without credentials with 401 and a Bearer challenge without error (CONFORMANCE 4)', async () => {
      const res = await request(buildApp(express)).get('/orders');
      expectNoCredentialsAnswer(res);
      expect(res.text).toBe('');
    });

    it('includes the configured realm but still no error for no credentials (CONFORMANCE 4)', async () => {
      const res = await request(buildApp(express, { realm: 'orders-api' })).get('/orders');
      expectNoCredentialsAnswer(res, 'orders-api');
    });

    it.each([
      ['Basic', `Basic ${Buffer.from('user:pass').toString('base64')}`],
      ['Digest', 'Digest username="x", realm="y"'],
      ['a scheme alone', 'Negotiate'],
    ])('treats an unsupported scheme (%s) like no credentials: 401 without error (CONFORMANCE 5)', async (_what, value) => {
      const res = await request(buildApp(express)).get('/orders').set('Authorization', value);
      expectNoCredentialsAnswer(res);
    });
  });

  describe('a token in more than one place', () => {
    it('refuses header + query token with 400 invalid_request (CONFORMANCE 6)', async () => {
      const res = await request(buildApp(express)).get(`/orders?access_token=${token}`).set('Authorization', `Bearer ${token}`);
      expectInvalidRequest(res);
    });

    it('refuses header + query token with 400 also when the query method is enabled (CONFORMANCE 6)', async () => {
      const res = await request(buildApp(express, { tokenLocations: { query: true } }))
        .get(`/orders?access_token=${token}`)
        .set('Authorization', `Bearer ${token}`);
      expectInvalidRequest(res);
    });

    it('refuses header + a query access_token whose name is percent-encoded (access%5Ftoken) with 400 invalid_request (CONFORMANCE 6)', async () => {
      // application/x-www-form-urlencoded decodes names too: access%5Ftoken is the access_token parameter
      // (Express's own req.query reads it so).
      const plain = express();
      plain.get('/q', (req: Request, res: Response) => {
        res.json(req.query);
      });
      expect((await request(plain).get('/q?access%5Ftoken=abc')).body).toEqual({ access_token: 'abc' });

      const res = await request(buildApp(express)).get(`/orders?access%5Ftoken=${token}`).set('Authorization', `Bearer ${token}`);
      expectInvalidRequest(res);
    });

    it('refuses header + form-body token with 400 invalid_request (CONFORMANCE 6)', async () => {
      const res = await request(buildApp(express, { tokenLocations: { body: true } }))
        .post('/orders')
        .set('Authorization', `Bearer ${token}`)
        .type('form')
        .send({ access_token: token });
      expectInvalidRequest(res);
    });

    it('refuses query + form-body token with 400 invalid_request (CONFORMANCE 6)', async () => {
      const res = await request(buildApp(express, { tokenLocations: { body: true, query: true } }))
        .post(`/orders?access_token=${token}`)
        .type('form')
        .send({ access_token: token });
      expectInvalidRequest(res);
    });

    it('refuses two query tokens with 400 invalid_request (CONFORMANCE 6)', async () => {
      const res = await request(buildApp(express, { tokenLocations: { query: true } })).get(
        `/orders?access_token=${token}&access_token=${token}`,
      );
      expectInvalidRequest(res);
    });

    it('refuses two Authorization headers with 400 invalid_request (CONFORMANCE 6)', async () => {
      const app = buildApp(express);
      const one = await rawRequest(app, 'GET', '/orders', [['Authorization', `Bearer ${token}`]]);
      expect(one.status).toBe(200); // control: the same request with one header is accepted

      const res = await rawRequest(app, 'GET', '/orders', [['Authorization', [`Bearer ${token}`, `Bearer ${token}`]]]);
      expect(res.status).toBe(400);
      const c = challengeOf(res.headers['www-authenticate']);
      expect(c.params.error).toBe('invalid_request');
      expect(JSON.parse(res.body).error).toBe('invalid_request');
    });

    it('refuses a Basic and a Bearer Authorization header together with 400 invalid_request (CONFORMANCE 6)', async () => {
      const res = await rawRequest(buildApp(express), 'GET', '/orders', [['Authorization', ['Basic dXNlcjpwYXNz', `Bearer ${token}`]]]);
      expect(res.status).toBe(400);
      expect(challengeOf(res.headers['www-authenticate']).params.error).toBe('invalid_request');
    });
  });

  describe('the form-encoded body (RFC 6750 §2.2)', () => {
    it.each(['post', 'put'] as const)('accepts a form-body token on %s when enabled (CONFORMANCE 7)', async (method) => {
      const res = await request(buildApp(express, { tokenLocations: { body: true } }))
        [method]('/orders')
        .type('form')
        .send({ access_token: token });
      expect(res.status).toBe(200);
      expect(res.body.authenticated).toBe(true);
    });

    it('ignores access_token in a JSON body (CONFORMANCE 7)', async () => {
      const res = await request(buildApp(express, { tokenLocations: { body: true } }))
        .post('/orders')
        .type('json')
        .send({ access_token: token });
      expectNoCredentialsAnswer(res);
    });

    it.each([['multipart/form-data; boundary=x'], ['text/plain'], ['application/x-www-form-urlencoded-extra']])(
      'ignores access_token in a %s body even when a parser filled req.body (CONFORMANCE 7)',
      async (contentType) => {
        // A permissive parser that puts access_token into req.body whatever the content type.
        const permissive: RequestHandler = (req: Request, _res: Response, next: NextFunction) => {
          req.on('data', () => undefined);
          req.on('end', () => {
            (req as { body?: unknown }).body = { access_token: token };
            next();
          });
        };
        const res = await request(buildApp(express, { tokenLocations: { body: true }, parsers: [permissive] }))
          .post('/orders')
          .set('Content-Type', contentType)
          .send(`access_token=${token}`);
        expectNoCredentialsAnswer(res);
      },
    );

    it('does not use a body access_token on GET (CONFORMANCE 8)', async () => {
      let parsed: unknown;
      const urlencoded = express.urlencoded({ extended: false });
      const spy: RequestHandler = (req: Request, _res: Response, next: NextFunction) => {
        parsed = (req.body as Record<string, unknown> | undefined)?.access_token;
        next();
      };
      const res = await request(buildApp(express, { tokenLocations: { body: true }, parsers: [urlencoded, spy] }))
        .get('/orders')
        .type('form')
        .send(`access_token=${token}`);
      expect(parsed).toBe(token); // the body really arrived and was parsed
      // Ignored (no credentials: 401 without error) or rejected (400 invalid_request), never used.
      if (res.status === 400) expectInvalidRequest(res);
      else expectNoCredentialsAnswer(res);
    });

    it('a body access_token on GET does not count as a second token next to the header (CONFORMANCE 8)', async () => {
      const res = await request(buildApp(express, { tokenLocations: { body: true } }))
        .get('/orders')
        .set('Authorization', `Bearer ${token}`)
        .type('form')
        .send('access_token=somethingelse');
      // Had the body token been used, the answer would be 401 invalid_token; ignoring it (200) or
      // rejecting the request (400 invalid_request) are both conformant.
      if (res.status === 400) expectInvalidRequest(res);
      else {
        expect(res.status).toBe(200);
        expect(res.body.authenticated).toBe(true);
      }
    });
  });

  describe('the query parameter (RFC 6750 §2.3)', () => {
    it('sends Cache-Control: private on a 2xx answer to a query-token request (CONFORMANCE 9)', async () => {
      const res = await request(buildApp(express, { tokenLocations: { query: true } })).get(`/orders?access_token=${token}`);
      expect(res.status).toBe(200);
      expect(res.body.authenticated).toBe(true);
      expect(String(res.headers['cache-control']).split(/\s*,\s*/)).toContain('private');
    });

    it('does not accept a query token by default (CONFORMANCE 10)', async () => {
      const res = await request(buildApp(express)).get(`/orders?access_token=${token}`);
      expectNoCredentialsAnswer(res);
    });

    it('does not accept a form-body token by default (CONFORMANCE 10)', async () => {
      const res = await request(buildApp(express)).post('/orders').type('form').send({ access_token: token });
      expectNoCredentialsAnswer(res);
    });
  });
});
