/** RFC 9728 protected resource metadata: the URL, the document, the signed form, and the challenges. */
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { generateKeyPair, jwtVerify } from 'jose';
import {
  ConfigurationError,
  metadataUrl,
  oauthResourceServer,
  parseChallenges,
  protectedResourceMetadata,
  requireScopes,
  ResourceServer,
  type ResourceServerOptions,
} from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express-versions.js';

const ISSUER = 'https://as.example.com';

describe('the well-known URL (CONFORMANCE 49)', () => {
  it.each([
    ['https://rs.example.com', 'https://rs.example.com/.well-known/oauth-protected-resource'],
    ['https://rs.example.com/', 'https://rs.example.com/.well-known/oauth-protected-resource'],
    ['https://rs.example.com/api/v1', 'https://rs.example.com/.well-known/oauth-protected-resource/api/v1'],
    ['https://rs.example.com/api?tenant=a', 'https://rs.example.com/.well-known/oauth-protected-resource/api?tenant=a'],
  ])('%s → %s', (id, url) => {
    expect(metadataUrl(id)).toBe(url);
  });
});

describe('start-up validation of identifiers (CONFORMANCE 55)', () => {
  it('refuses to publish metadata for a non-https identifier or one with a fragment', () => {
    expect(() => new ResourceServer({ issuer: ISSUER, resource: 'http://api.example.com', metadata: true })).toThrow(ConfigurationError);
    expect(() => new ResourceServer({ issuer: ISSUER, resource: 'https://api.example.com#x', metadata: true })).toThrow(ConfigurationError);
    expect(() => new ResourceServer({ issuer: ISSUER, resource: 'urn:example:api', metadata: true })).toThrow(ConfigurationError);
    expect(
      () => new ResourceServer({ issuer: ISSUER, resource: 'https://api.example.com/v1', metadata: true, logger: false }),
    ).not.toThrow();
  });

  it('refuses authorization servers that are not issuer identifiers (CONFORMANCE 52)', () => {
    expect(
      () =>
        new ResourceServer({
          issuer: ISSUER,
          resource: 'https://api.example.com',
          metadata: { authorizationServers: ['https://as.example.com?x=1'] },
        }),
    ).toThrow(ConfigurationError);
    expect(
      () =>
        new ResourceServer({
          issuer: ISSUER,
          resource: 'https://api.example.com',
          metadata: { authorizationServers: ['http://as.example.com'] },
        }),
    ).toThrow(ConfigurationError);
  });
});

describe.each(EXPRESS_VERSIONS)('serving the document (%s)', (_name, express) => {
  function app(options: Partial<ResourceServerOptions> = {}) {
    const rs = oauthResourceServer({
      issuer: [ISSUER, 'https://as2.example.com/tenant'],
      resource: 'https://api.example.com/v1',
      metadata: { resourceName: 'Orders API', resourceDocumentation: 'https://docs.example.com/orders' },
      logger: false,
      ...options,
    });
    const a = express();
    a.use(protectedResourceMetadata(rs, { app: a }));
    a.use('/v1', rs);
    a.get('/v1/orders', requireScopes('read:orders'), (_req, res) => {
      res.end();
    });
    a.post('/v1/orders', requireScopes({ anyOf: ['write:orders', 'admin'] }), (_req, res) => {
      res.end();
    });
    a.get('/v1/customers/:id', requireScopes(), (_req, res) => {
      res.end();
    });
    return a;
  }
  const PATH = '/.well-known/oauth-protected-resource/v1';

  it('answers 200 application/json with resource equal to the identifier byte for byte (CONFORMANCE 50)', async () => {
    const res = await request(app()).get(PATH);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.resource).toBe('https://api.example.com/v1');
    expect(res.body).toMatchObject({
      authorization_servers: [ISSUER, 'https://as2.example.com/tenant'],
      resource_name: 'Orders API',
      resource_documentation: 'https://docs.example.com/orders',
      bearer_methods_supported: ['header'],
    });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['cache-control']).toMatch(/max-age=\d+/);
  });

  // Fetch standard, CORS protocol: a browser client's request headers that are not safelisted need a preflight
  // that allows them; the MCP SDK sends MCP-Protocol-Version on its discovery GET.
  const preflight = (a: ReturnType<typeof app>, requestHeaders?: string) => {
    const req = request(a).options(PATH).set('Origin', 'https://client.example.com').set('Access-Control-Request-Method', 'GET');
    return requestHeaders === undefined ? req : req.set('Access-Control-Request-Headers', requestHeaders);
  };

  it('allows the request headers a CORS preflight asks for (MCP-Protocol-Version)', async () => {
    const res = await preflight(app(), 'mcp-protocol-version');
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toBe('GET, HEAD');
    expect(res.headers['access-control-allow-headers']).toBe('mcp-protocol-version');
    // The answer depends on the request's list: shared caches must key on it.
    expect(res.headers.vary).toMatch(/(^|,\s*)access-control-request-headers(\s*,|$)/i);
    expect(res.headers['access-control-max-age']).toBe('86400');
    // Public and uncredentialed: allowing any field name is safe only without this.
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('allows each name of a requested list, trimming whitespace and skipping empty elements (RFC 9110 §5.6.1)', async () => {
    const res = await preflight(app(), 'MCP-Protocol-Version ,\tX-Trace-Id,, authorization');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers']).toBe('mcp-protocol-version, x-trace-id, authorization');
    // A long run of whitespace is trimmed like a short one (and not by a backtracking pattern).
    const long = await preflight(app(), `x-a${' '.repeat(4000)},${'\t'.repeat(4000)}x-b`);
    expect(long.headers['access-control-allow-headers']).toBe('x-a, x-b');
  });

  it.each(['mcp-protocol-version, x bad', 'x(y)', 'x-ok, a;b', '"x-quoted"', 'a/b', 'x:y', 'x-caf\u00e9'])(
    'echoes no requested header list with an element that is not a field name: %j',
    async (requested) => {
      const res = await preflight(app(), requested);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(res.headers['access-control-allow-headers']).toBeUndefined();
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers.vary).toMatch(/access-control-request-headers/i);
    },
  );

  it('allows no headers on a preflight that requests none', async () => {
    for (const requested of [undefined, '', ' , ']) {
      const res = await preflight(app(), requested);
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-headers']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBe('GET, HEAD');
    }
  });

  it('keeps GET and HEAD as they were: allow-origin, no preflight headers', async () => {
    const a = app();
    const get = await request(a).get(PATH).set('Origin', 'https://client.example.com').set('Access-Control-Request-Headers', 'x-a');
    const head = await request(a).head(PATH).set('Origin', 'https://client.example.com');
    for (const res of [get, head]) {
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-headers']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
      expect(res.headers['access-control-max-age']).toBeUndefined();
    }
    expect(get.body.resource).toBe('https://api.example.com/v1');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
  });

  it('advertises exactly the scopes the routes enforce', async () => {
    const res = await request(app()).get(PATH);
    expect(res.body.scopes_supported).toEqual(['admin', 'read:customers', 'read:orders', 'write:orders']);
  });

  it('omits empty arrays and never lists none (CONFORMANCE 51)', async () => {
    const rs = oauthResourceServer({
      issuer: ISSUER,
      resource: 'https://api.example.com/v1',
      metadata: { authorizationServers: [] },
      logger: false,
    });
    const a = express();
    a.use(protectedResourceMetadata(rs));
    const res = await request(a).get(PATH);
    expect(res.body).toEqual({ resource: 'https://api.example.com/v1', bearer_methods_supported: ['header'] });
    expect(JSON.stringify(res.body)).not.toContain('"none"');
  });

  it('lists the enabled bearer methods (CONFORMANCE 10)', async () => {
    const res = await request(app({ tokenLocations: { body: true, query: true } })).get(PATH);
    expect(res.body.bearer_methods_supported).toEqual(['header', 'body', 'query']);
  });

  it('serves nothing at look-alike paths (prefix, trailing slash, appended form)', async () => {
    const a = app();
    for (const path of [
      `${PATH}-other`,
      `${PATH}/`,
      '/.well-known/oauth-protected-resource-other/v1',
      '/.well-known/oauth-protected-resource',
      '/v1/.well-known/oauth-protected-resource',
    ]) {
      const res = await request(a).get(path);
      expect(res.status).not.toBe(200);
      expect(res.body?.resource).toBeUndefined();
    }
  });

  it('names the metadata URL in every 401 and 403 challenge (CONFORMANCE 15)', async () => {
    const a = app();
    const expected = 'https://api.example.com/.well-known/oauth-protected-resource/v1';
    const cases = [
      await request(a).get('/v1/orders'),
      await request(a).get('/v1/orders').set('Authorization', 'Bearer not-a-jwt'),
      await request(a).get('/v1/orders').set('Authorization', 'Bearer a b'),
    ];
    for (const res of cases) {
      expect([400, 401, 403]).toContain(res.status);
      const params = Object.fromEntries(parseChallenges(res.headers['www-authenticate']!)[0]!.params);
      expect(params.resource_metadata).toBe(expected);
    }
  });
});

describe('signed metadata (CONFORMANCE 54)', () => {
  it('is a JWS with iss over the metadata, verifiable with the key, not nesting signed_metadata', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const { default: express } = await import('express');
    const rs = new ResourceServer({
      issuer: ISSUER,
      resource: 'https://api.example.com',
      metadata: { signing: { key: privateKey, alg: 'ES256', issuer: 'https://api.example.com', kid: 'm1' } },
      logger: false,
    });
    const a = express();
    a.use(protectedResourceMetadata(rs));
    const res = await request(a).get('/.well-known/oauth-protected-resource');
    expect(res.status).toBe(200);
    // RFC 9728 §2: that member names the algorithms of the resource's responses, not the metadata-signing alg.
    expect(res.body).not.toHaveProperty('resource_signing_alg_values_supported');
    const { payload, protectedHeader } = await jwtVerify(res.body.signed_metadata, publicKey);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: 'm1' });
    expect(payload).toMatchObject({ iss: 'https://api.example.com', resource: 'https://api.example.com', authorization_servers: [ISSUER] });
    expect(payload.signed_metadata).toBeUndefined();
  });
});
