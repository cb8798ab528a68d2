/**
 * RFC 9728 metadata for identifiers derived from `publicBaseUrl`: by default one document per mount of the
 * middleware found in the app's route table, at the path-inserted URL (§3.1) the 401 challenge names (§5.1),
 * saying the identifier and the scopes the middleware enforces there.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { Request, Response } from 'express';
import { oauthResourceServer, parseChallenges, protectedResourceMetadata, requireScopes, type Logger } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express-versions.js';

const BASE = 'https://api.example.com';
const ROOT_DOC = '/.well-known/oauth-protected-resource';

let as: DevAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: BASE, scopes: ['read:orders'] }] });
});
afterAll(async () => {
  await as.close();
});

const ok = (_req: Request, res: Response) => {
  res.end('ok');
};
const params = (header: string | undefined) => Object.fromEntries(parseChallenges(header ?? '')[0]!.params);

/** The middleware with identifiers derived from publicBaseUrl, publishing metadata. */
function kit(logger: Logger | false = false) {
  return oauthResourceServer({ issuer: { issuer: as.issuer, jwksUri: as.jwksUri }, publicBaseUrl: BASE, metadata: true, logger });
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (m) => warnings.push(m), error: () => undefined };
}

describe.each(EXPRESS_VERSIONS)('metadata of a middleware mounted at /api with publicBaseUrl (%s)', (_name, express) => {
  function app(order: 'metadata first' | 'middleware first') {
    const rs = kit();
    const a = express();
    if (order === 'metadata first') a.use(protectedResourceMetadata(rs, { app: a }));
    a.use('/api', rs);
    if (order === 'middleware first') a.use(protectedResourceMetadata(rs, { app: a }));
    a.get('/api/orders', requireScopes(), ok);
    a.post('/api/orders', requireScopes(), ok);
    // Not under the middleware's mount: not a scope of https://api.example.com/api.
    a.get('/other/things', requireScopes('read:other'), ok);
    return a;
  }

  it.each(['metadata first', 'middleware first'] as const)(
    '(%s) the 401 names /.well-known/oauth-protected-resource/api, which serves resource …/api and the scopes enforced there',
    async (order) => {
      const a = app(order);
      const challenge = await request(a).get('/api/orders');
      expect(challenge.status).toBe(401);
      const url = params(challenge.headers['www-authenticate']).resource_metadata!;
      expect(url).toBe(`${BASE}/.well-known/oauth-protected-resource/api`);

      const doc = await request(a).get(new URL(url).pathname);
      expect(doc.status).toBe(200);
      expect(doc.body.resource).toBe(`${BASE}/api`);
      expect(doc.body.scopes_supported).toEqual(['read:orders', 'write:orders']);
      // No document for an identifier the middleware does not enforce.
      expect((await request(a).get(ROOT_DOC)).status).toBe(404);

      // What the document says is what is enforced: a token for its resource with its scope passes, without it 403.
      const reader = await as.signToken({ claims: { aud: doc.body.resource, scope: 'read:orders' } });
      expect((await request(a).get('/api/orders').set('Authorization', `Bearer ${reader}`)).status).toBe(200);
      const other = await as.signToken({ claims: { aud: doc.body.resource, scope: 'read:api' } });
      const denied = await request(a).get('/api/orders').set('Authorization', `Bearer ${other}`);
      expect(denied.status).toBe(403);
      expect(params(denied.headers['www-authenticate']).scope).toBe('read:orders');
    },
  );

  it('one document per fixed mount; a mount with route parameters gets none, with one warning', async () => {
    const logger = recordingLogger();
    const rs = kit(logger);
    const a = express();
    a.use(protectedResourceMetadata(rs, { app: a }));
    const router = express.Router();
    router.use(rs);
    a.use('/v1', router);
    a.use('/:tenant', rs);
    a.get('/v1/albums', requireScopes(), ok);

    const v1 = await request(a).get(`${ROOT_DOC}/v1`);
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ resource: `${BASE}/v1`, scopes_supported: ['read:albums'] });
    // (The /:tenant mount takes these paths too: its middleware answers 401, never a document.)
    for (const path of [`${ROOT_DOC}/:tenant`, `${ROOT_DOC}/acme`, ROOT_DOC]) {
      const res = await request(a).get(path);
      expect(res.status).not.toBe(200);
      expect(res.body?.resource).toBeUndefined();
    }
    const left = logger.warnings.filter((w) => w.includes('has no metadata document'));
    expect(left).toHaveLength(1);
    // Its challenges point at no document: there is none.
    const tenant = await request(a).get('/acme/albums');
    expect(tenant.status).toBe(401);
    expect(tenant.headers['www-authenticate']).not.toContain('resource_metadata');
  });

  it('warns once when the app given does not hold the middleware (it sits in a sub-app): only the root document', async () => {
    const logger = recordingLogger();
    const rs = kit(logger);
    const a = express();
    const sub = express();
    sub.use(rs);
    a.use(protectedResourceMetadata(rs, { app: a }));
    a.use('/admin', sub);
    for (let i = 0; i < 3; i++) await request(a).get(ROOT_DOC);
    expect(logger.warnings.filter((w) => w.includes('not in the route table of the app given'))).toHaveLength(1);
    // Given the sub-app, its document is served where its challenges point, and nothing is warned.
    const quiet = recordingLogger();
    const rs2 = kit(quiet);
    const b = express();
    const sub2 = express();
    sub2.use(rs2);
    b.use(protectedResourceMetadata(rs2, { app: sub2 }));
    b.use('/admin', sub2);
    expect((await request(b).get(`${ROOT_DOC}/admin`)).body.resource).toBe(`${BASE}/admin`);
    expect(quiet.warnings).toEqual([]);
  });

  it('an explicit mountPaths still wins', async () => {
    const rs = kit();
    const a = express();
    a.use(protectedResourceMetadata(rs, { app: a, mountPaths: [''] }));
    a.use('/api', rs);
    const root = await request(a).get(ROOT_DOC);
    expect(root.status).toBe(200);
    expect(root.body.resource).toBe(BASE);
    expect((await request(a).get(`${ROOT_DOC}/api`)).status).toBe(404);
  });

  it('without a mount of the middleware in the route table, the root document is served', async () => {
    const rs = kit();
    const a = express();
    a.use(protectedResourceMetadata(rs, { app: a }));
    const root = await request(a).get(ROOT_DOC);
    expect(root.status).toBe(200);
    expect(root.body.resource).toBe(BASE);
  });
});
