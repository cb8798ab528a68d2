/**
 * Property-based tests (fast-check) of what authorization servers answer: random discovery documents
 * (RFC 8414 / OpenID Connect Discovery), served for real over loopback, and random UMA protection-API
 * answers. Whatever an AS says, the kit answers with a typed 401 or 503 or carries on correctly: never an
 * untyped exception (a 500), and a token is accepted only when the document really names this issuer and
 * its real key set.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore, ResourceServer, ResourceServerError, UmaRegistrar } from '../../src/index.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
let server: Server;
let origin = '';
let ti: TestIssuer;
/** What each run's paths answer: a body (JSON text or garbage) and a status. */
const answers = new Map<string, { status: number; body: string }>();

beforeAll(async () => {
  ti = await createTestIssuer();
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    req.resume();
    req.on('end', () => {
      if (path === '/jwks') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(ti.jwks));
      }
      const a = answers.get(`${req.method} ${path}`) ?? answers.get(path);
      res.statusCode = a?.status ?? 404;
      res.setHeader('content-type', 'application/json');
      res.end(a?.body ?? '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

let run = 0;
/** A member that is right, missing, or of a random shape. */
const member = <T>(right: T) => fc.oneof({ weight: 3, arbitrary: fc.constant(right) }, fc.constant(undefined), fc.jsonValue(), fc.webUrl());
const body = (doc: unknown) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(JSON.stringify(doc)) }, fc.string({ maxLength: 40 }), fc.constant('{"issuer":'));

describe('random discovery documents', () => {
  it('yield a typed 401/503 or an accepted token, and acceptance only with the right issuer and jwks_uri', async () => {
    const seen = { accepted: 0, refused: 0 };
    const doc = (issuer: string) =>
      fc.record(
        {
          issuer: member(issuer),
          jwks_uri: member(`${origin}/jwks`),
          introspection_endpoint: member(`${origin}/introspect`),
          extra: fc.jsonValue(),
        },
        { requiredKeys: [] },
      );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_000_000 }).chain(() => {
          const issuer = `${origin}/i/${run++}`;
          return fc
            .tuple(fc.constant(issuer), doc(issuer), fc.constantFrom(200, 200, 200, 404, 500))
            .chain(([i, d, status]) => fc.tuple(fc.constant(i), fc.constant(d), fc.constant(status), body(d)));
        }),
        async ([issuer, document, status, text]) => {
          const path = new URL(issuer).pathname;
          // The same document at both discovery URLs (RFC 8414 §3.1 inserted, OIDC Discovery §4.1 appended).
          answers.set(`/.well-known/oauth-authorization-server${path}`, { status, body: text });
          answers.set(`${path}/.well-known/openid-configuration`, { status, body: text });
          const rs = new ResourceServer({ issuer, resource: API, cache: false, logger: false, http: { timeoutMs: 2000 } });
          const token = await signTestToken({ ...ti, issuer }, { audience: API, scope: 'read' });
          const req = { method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } };
          let accepted = false;
          try {
            await rs.authenticate(req);
            accepted = true;
          } catch (err) {
            expect(err).toBeInstanceOf(ResourceServerError);
            expect([401, 503]).toContain((err as ResourceServerError).status);
          }
          seen[accepted ? 'accepted' : 'refused']++;
          if (accepted) {
            expect(status).toBe(200);
            expect(text).toBe(JSON.stringify(document));
            expect(document.issuer).toBe(issuer);
            expect(document.jwks_uri).toBe(`${origin}/jwks`);
          } else if (
            status === 200 &&
            text === JSON.stringify(document) &&
            document.issuer === issuer &&
            document.jwks_uri === `${origin}/jwks`
          ) {
            throw new Error('a valid document and token were refused');
          }
          answers.delete(`/.well-known/oauth-authorization-server${path}`);
          answers.delete(`${path}/.well-known/openid-configuration`);
        },
      ),
      { numRuns: 150 },
    );
    // Both outcomes were met: the property was not passed by refusing (or accepting) everything.
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});

describe('random UMA protection-API answers', () => {
  it('leave the registrar registered with a string _id, or failing with a reason: never a shape bug, never a made-up id', async () => {
    const tokenAnswer = fc.oneof(
      { weight: 3, arbitrary: fc.constant({ access_token: 'pat-1', token_type: 'Bearer', expires_in: 300, scope: 'uma_protection' }) },
      fc.record({ access_token: member('pat-1'), token_type: member('Bearer'), expires_in: member(300) }, { requiredKeys: [] }),
      fc.jsonValue(),
    );
    const createAnswer = fc.oneof(
      { weight: 3, arbitrary: fc.constant({ _id: 'rs-1' }) },
      fc.record({ _id: fc.oneof(fc.jsonValue(), fc.constant('')), user_access_policy_uri: fc.jsonValue() }, { requiredKeys: [] }),
      fc.jsonValue(),
    );
    const seen = { registered: 0, failing: 0 };
    const listAnswer = fc.oneof({ weight: 3, arbitrary: fc.constant([] as unknown) }, fc.jsonValue());
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.constant(0).map(() => run++),
          token: tokenAnswer,
          tokenStatus: fc.constantFrom(200, 200, 400, 500),
          created: createAnswer,
          createdStatus: fc.constantFrom(201, 201, 200, 400, 500),
          list: listAnswer,
        }),
        async ({ n, token, tokenStatus, created, createdStatus, list }) => {
          const base = `/u/${n}`;
          const issuer = `${origin}${base}`;
          // UMA 2.0 FedAuthz §2 discovery (the right document), then random answers from the endpoints it names.
          const config = {
            issuer,
            token_endpoint: `${issuer}/token`,
            resource_registration_endpoint: `${issuer}/rreg`,
            permission_endpoint: `${issuer}/perm`,
            introspection_endpoint: `${issuer}/introspect`,
          };
          answers.set(`${base}/.well-known/uma2-configuration`, { status: 200, body: JSON.stringify(config) });
          answers.set(`/.well-known/uma2-configuration${base}`, { status: 200, body: JSON.stringify(config) });
          answers.set(`POST ${base}/token`, { status: tokenStatus, body: JSON.stringify(token) });
          answers.set(`GET ${base}/rreg`, { status: 200, body: JSON.stringify(list) });
          answers.set(`GET ${base}/rreg/`, { status: 200, body: JSON.stringify(list) });
          answers.set(`POST ${base}/rreg`, { status: createdStatus, body: JSON.stringify(created) });
          answers.set(`POST ${base}/rreg/`, { status: createdStatus, body: JSON.stringify(created) });
          const registrar = new UmaRegistrar({
            issuer,
            clientId: 'rs',
            clientSecret: 's3cret-value',
            store: new MemoryStore(),
            timeoutMs: 2000,
            logger: false,
          });
          registrar.declare([{ key: 'route:/albums/:id', name: 'albums', scopes: ['view'] }]);
          // sync() resolves with the status, or rejects when the AS could not be used at all: then with an
          // error the kit made (or openid-client's), never a TypeError of code that trusted the shape.
          await registrar.sync().catch((err: unknown) => {
            expect(err).toBeInstanceOf(Error);
            for (const bug of [TypeError, RangeError, ReferenceError, SyntaxError]) expect(err).not.toBeInstanceOf(bug);
          });
          const status = registrar.status();
          expect(['registered', 'failing']).toContain(status.state);
          seen[status.state as 'registered' | 'failing']++;
          const id = registrar.resourceId('route:/albums/:id');
          if (status.state === 'registered') {
            expect(typeof id).toBe('string');
            expect(id!.length).toBeGreaterThan(0);
            // Only the id the AS gave, from a successful answer.
            expect(id).toBe((created as { _id?: unknown })._id);
          } else {
            expect(id).toBeUndefined();
            expect(status.lastError ?? '').not.toContain('s3cret-value');
          }
          for (const k of [...answers.keys()]) if (k.includes(base)) answers.delete(k);
        },
      ),
      { numRuns: 150 },
    );
    expect(seen.registered).toBeGreaterThan(0);
    expect(seen.failing).toBeGreaterThan(0);
  });
});
