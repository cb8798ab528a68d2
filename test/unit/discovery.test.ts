/** AS discovery as a metadata consumer: URL construction (CONFORMANCE 56) and the issuer check (CONFORMANCE 57). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discoverAuthorizationServer, oauthMetadataUrl, openidConfigurationUrl } from '../../src/authz-server/discovery.js';

describe('metadata URLs (CONFORMANCE 56)', () => {
  it('inserts the RFC 8414 suffix before the issuer path, and appends the OpenID one', () => {
    expect(oauthMetadataUrl('https://as.example.com/tenant1')).toBe(
      'https://as.example.com/.well-known/oauth-authorization-server/tenant1',
    );
    expect(oauthMetadataUrl('https://as.example.com')).toBe('https://as.example.com/.well-known/oauth-authorization-server');
    expect(openidConfigurationUrl('https://as.example.com/tenant1')).toBe(
      'https://as.example.com/tenant1/.well-known/openid-configuration',
    );
    expect(openidConfigurationUrl('https://as.example.com/')).toBe('https://as.example.com/.well-known/openid-configuration');
  });
});

describe('discovery against a recording server', () => {
  let server: Server;
  let base = '';
  const paths: string[] = [];
  let documents: Record<string, (issuer: string) => unknown> = {};
  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url!);
      const doc = documents[req.url!];
      res.setHeader('content-type', 'application/json');
      if (!doc) {
        res.statusCode = 404;
        return res.end('{}');
      }
      res.end(JSON.stringify(doc(base)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const settings = { timeoutMs: 2000, maxBytes: 65536 };

  it('asks RFC 8414 first (path inserted), then OpenID Connect discovery (path appended) (CONFORMANCE 56)', async () => {
    paths.length = 0;
    documents = {
      '/tenant1/.well-known/openid-configuration': (b) => ({
        issuer: `${b}/tenant1`,
        jwks_uri: `${b}/jwks`,
        authorization_endpoint: `${b}/a`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      }),
    };
    const { metadata } = await discoverAuthorizationServer(`${base}/tenant1`, settings);
    expect(metadata.jwks_uri).toBe(`${base}/jwks`);
    expect(paths).toEqual(['/.well-known/oauth-authorization-server/tenant1', '/tenant1/.well-known/openid-configuration']);
  });

  it('discards a document whose issuer differs from the one asked about (CONFORMANCE 57)', async () => {
    documents = {
      '/.well-known/oauth-authorization-server/tenant2': (b) => ({ issuer: `${b}/tenant2/`, jwks_uri: `${b}/evil-jwks` }),
      '/tenant2/.well-known/openid-configuration': (b) => ({ issuer: `${b}/other`, jwks_uri: `${b}/evil-jwks` }),
    };
    await expect(discoverAuthorizationServer(`${base}/tenant2`, settings)).rejects.toThrow();
  });
});

describe('the shared discovery cache', () => {
  let server: Server;
  let base = '';
  let hits = 0;
  let up = true;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      res.setHeader('content-type', 'application/json');
      if (!up || req.url !== '/.well-known/oauth-authorization-server/shared') {
        res.statusCode = up ? 404 : 503;
        return res.end('{}');
      }
      res.end(JSON.stringify({ issuer: `${base}/shared`, jwks_uri: `${base}/jwks` }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('fetches an issuer once for every feature and concurrent caller, and keeps the document while the AS is down', async () => {
    const settings = { timeoutMs: 2000, maxBytes: 65536 };
    const results = await Promise.all(Array.from({ length: 10 }, () => discoverAuthorizationServer(`${base}/shared`, settings)));
    expect(new Set(results.map((r) => r.metadata.jwks_uri))).toEqual(new Set([`${base}/jwks`]));
    expect(hits).toBe(1);
    up = false;
    expect((await discoverAuthorizationServer(`${base}/shared`, settings)).metadata.jwks_uri).toBe(`${base}/jwks`);
    expect(hits).toBe(1);
  });

  it('answers a failed fetch from memory until the retry interval has passed, then asks again', async () => {
    up = false;
    const waiting = { timeoutMs: 2000, maxBytes: 65536, retryIntervalMs: 60_000 };
    await expect(discoverAuthorizationServer(`${base}/never`, waiting)).rejects.toThrow();
    const before = hits;
    // Sequential and concurrent callers within the interval: no fetch at all, the same failure.
    for (let i = 0; i < 5; i++)
      await expect(discoverAuthorizationServer(`${base}/never`, waiting)).rejects.toThrow(/discovery at .* failed: HTTP 503/);
    await Promise.all(Array.from({ length: 20 }, () => expect(discoverAuthorizationServer(`${base}/never`, waiting)).rejects.toThrow()));
    expect(hits).toBe(before);
    // A failed fetch is not remembered past the interval: the next call asks again.
    const short = { ...waiting, retryIntervalMs: 1 };
    await new Promise((r) => setTimeout(r, 10));
    await expect(discoverAuthorizationServer(`${base}/never`, short)).rejects.toThrow();
    expect(hits).toBeGreaterThan(before);
  });
});
