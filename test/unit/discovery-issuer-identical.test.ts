/**
 * RFC 8414 §3.3 / OIDC Discovery §4.3: the `issuer` of the document must be IDENTICAL to the issuer asked
 * about. openid-client compares normalised URLs; the kit also requires the same string, byte for byte.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discoverAuthorizationServer } from '../../src/authz-server/discovery.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});
/** A server of its own per test: the discovery cache is per issuer, so no test sees another's document. */
async function serve(documents: (port: number) => Record<string, unknown>): Promise<number> {
  let port = 0;
  const server = createServer((req, res) => {
    const doc = documents(port)[req.url!];
    res.setHeader('content-type', 'application/json');
    res.statusCode = doc ? 200 : 404;
    res.end(JSON.stringify(doc ?? {}));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  return port;
}
const settings = { timeoutMs: 2000, maxBytes: 65536 };
const oauth = (issuer: string, jwks = 'http://127.0.0.1:1/evil-jwks') => ({ issuer, jwks_uri: jwks, response_types_supported: ['code'] });
const oidc = (issuer: string) => ({
  issuer,
  jwks_uri: `${issuer}/jwks`,
  authorization_endpoint: `${issuer}/a`,
  response_types_supported: ['code'],
  subject_types_supported: ['public'],
  id_token_signing_alg_values_supported: ['RS256'],
});

describe('discovery requires the identical issuer', () => {
  it.each([
    ['a trailing slash', (p: number) => `http://127.0.0.1:${p}/`, (p: number) => `http://127.0.0.1:${p}`],
    ['a dot segment', (p: number) => `http://127.0.0.1:${p}/./`, (p: number) => `http://127.0.0.1:${p}`],
    ['the case of the scheme', (p: number) => `HTTP://127.0.0.1:${p}`, (p: number) => `http://127.0.0.1:${p}`],
    ['a trailing dot segment', (p: number) => `http://127.0.0.1:${p}/.`, (p: number) => `http://127.0.0.1:${p}`],
  ])('refuses a document whose issuer differs by %s', async (_label, says, asked) => {
    const port = await serve((p) => ({
      '/.well-known/oauth-authorization-server': oauth(says(p)),
      '/.well-known/openid-configuration': oauth(says(p)),
    }));
    await expect(discoverAuthorizationServer(asked(port), settings)).rejects.toThrow(/issuer/);
  });

  it('tries OpenID Connect discovery after an RFC 8414 document whose issuer is only equivalent', async () => {
    const port = await serve((p) => ({
      '/.well-known/oauth-authorization-server': oauth(`http://127.0.0.1:${p}/`),
      '/.well-known/openid-configuration': oidc(`http://127.0.0.1:${p}`),
    }));
    const issuer = `http://127.0.0.1:${port}`;
    const { metadata } = await discoverAuthorizationServer(issuer, settings);
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.jwks_uri).toBe(`${issuer}/jwks`);
  });
});
