/**
 * RFC 9728 §3.2: the metadata endpoint answers 200 application/json even when a declared route's derived
 * scope cannot be computed (that route is left out of scopes_supported, with one warning), and any failure
 * building the document is a JSON 500, never an HTML error page. §2: resource_signing_alg_values_supported
 * names the algorithms of the resource's responses, so it appears only when configured.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { generateKeyPair } from 'jose';
import { oauthResourceServer, protectedResourceMetadata, requireScopes, type Logger, type ResourceServerOptions } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express-versions.js';

// Keys given inline (no discovery), so the only log lines are the metadata router's.
let ISSUER: TestIssuer['trustedIssuer'];
beforeAll(async () => {
  ISSUER = (await createTestIssuer()).trustedIssuer;
});
const RESOURCE = 'https://api.example.com';
const PATH = '/.well-known/oauth-protected-resource';

function recordingLogger() {
  const lines: Array<{ level: 'warn' | 'error'; message: string; details?: Record<string, unknown> }> = [];
  const logger: Logger = {
    warn: (message, details) => lines.push({ level: 'warn', message, ...(details ? { details } : {}) }),
    error: (message, details) => lines.push({ level: 'error', message, ...(details ? { details } : {}) }),
  };
  return { lines, logger };
}

describe.each(EXPRESS_VERSIONS)('routes whose derived scope cannot be computed (%s)', (_name, express) => {
  it('skips them, serves 200 application/json, and warns once without request data', async () => {
    const { lines, logger } = recordingLogger();
    const rs = oauthResourceServer({ issuer: ISSUER, resource: RESOURCE, metadata: true, logger });
    const a = express();
    a.use(protectedResourceMetadata(rs, { app: a }));
    a.use(rs);
    a.get('/orders', requireScopes(), (_req, res) => {
      res.end('ok');
    });
    // A method without a scope verb (a CORS preflight route) and a path without a static segment.
    a.options('/orders', requireScopes(), (_req, res) => {
      res.end('ok');
    });
    a.get('/:id', requireScopes(), (_req, res) => {
      res.end('ok');
    });
    for (let i = 0; i < 2; i++) {
      const res = await request(a).get(PATH).set('x-request-secret', 'request-data-do-not-log');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toMatchObject({ resource: RESOURCE, scopes_supported: ['read:orders'] });
    }
    const warnings = lines.filter((l) => l.level === 'warn' && /scopes_supported/.test(l.message));
    expect(warnings).toHaveLength(2); // one per skipped route, not per request
    expect(warnings.map((w) => w.details)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: 'OPTIONS', route: '/orders' }),
        expect.objectContaining({ method: 'GET', route: '/:id' }),
      ]),
    );
    expect(JSON.stringify(lines)).not.toContain('request-data-do-not-log');
  });
});

describe('a failure building the document', () => {
  it('answers 500 application/json {"error":"server_error"}, with no message or stack in the body or the log', async () => {
    const { default: express } = await import('express');
    const { lines, logger } = recordingLogger();
    const rs = oauthResourceServer({ issuer: ISSUER, resource: RESOURCE, metadata: true, logger });
    const broken = {
      get stack(): never {
        throw new Error('internal-detail-do-not-leak');
      },
    };
    const a = express();
    a.use(protectedResourceMetadata(rs, { app: broken }));
    const res = await request(a).get(PATH);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(res.text).not.toContain('internal-detail-do-not-leak');
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toMatch(/internal-detail-do-not-leak|\bat .*:\d+:\d+/);
  });
});

describe('resource_signing_alg_values_supported (RFC 9728 §2)', () => {
  it('is not filled from the metadata-signing alg, and lists what is configured', async () => {
    const { default: express } = await import('express');
    const { privateKey } = await generateKeyPair('ES256');
    const signing = { key: privateKey, alg: 'ES256', issuer: RESOURCE };
    const serve = async (metadata: ResourceServerOptions['metadata']) => {
      const a = express();
      a.use(protectedResourceMetadata(oauthResourceServer({ issuer: ISSUER, resource: RESOURCE, metadata, logger: false })));
      return (await request(a).get(PATH)).body as Record<string, unknown>;
    };
    const signedOnly = await serve({ signing });
    expect(typeof signedOnly.signed_metadata).toBe('string');
    expect(signedOnly).not.toHaveProperty('resource_signing_alg_values_supported');
    const explicit = await serve({ signing, resourceSigningAlgValuesSupported: ['PS256', 'none', 'PS256'] });
    expect(explicit.resource_signing_alg_values_supported).toEqual(['PS256']);
  });
});
