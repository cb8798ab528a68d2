/**
 * The JWKS and verified-token caches: what is fetched when, what survives an outage, and that nothing
 * is served past a token's life.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { ResourceServer, AuthorizationServerUnavailableError, InvalidTokenError } from '../../src/index.js';
import { makeKey, signWith, startJwksServer, type JwksServer } from '../helpers/jwks-server.js';

const AUD = 'https://api.example.com';
let jwks: JwksServer | undefined;
afterEach(async () => {
  await jwks?.close();
  jwks = undefined;
});

function server(j: JwksServer, extra: Record<string, unknown> = {}) {
  return new ResourceServer({ issuer: { issuer: j.issuer, jwksUri: j.url }, resource: AUD, logger: false, ...extra });
}
const req = (token: string) => ({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });
/** Authenticate and always get a promise, so sync throws and async rejections are asserted alike. */
const auth = (rs: ResourceServer, token: string, mount?: string) => Promise.resolve().then(() => rs.authenticate(req(token), mount));

describe('JWKS cache', () => {
  it('fetches the key set once for 50 concurrent first requests (one fetch in flight)', async () => {
    const key = await makeKey();
    jwks = await startJwksServer([key]);
    const rs = server(jwks);
    const token = await signWith(key, jwks.issuer, AUD);
    const results = await Promise.all(Array.from({ length: 50 }, () => auth(rs, token)));
    expect(results.every((r) => r?.context.subject === 'user-1')).toBe(true);
    expect(jwks.requests).toBe(1);
  });

  it('keeps the last good keys while the JWKS endpoint is down', async () => {
    const key = await makeKey();
    jwks = await startJwksServer([key]);
    const rs = server(jwks, { cache: false, jwks: { maxAgeSeconds: 0.001 } });
    expect((await auth(rs, await signWith(key, jwks.issuer, AUD)))?.context.subject).toBe('user-1');
    jwks.mode = 'down';
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      // The keys are stale, the background refresh fails, and the known key still verifies.
      expect((await auth(rs, await signWith(key, jwks.issuer, AUD)))?.context.subject).toBe('user-1');
    }
    expect(jwks.requests).toBeGreaterThan(1);
  });

  it('answers 503 with Retry-After (never an allow, never invalid_token) when no keys were ever fetched', async () => {
    const key = await makeKey();
    jwks = await startJwksServer([key]);
    jwks.mode = 'down';
    const rs = server(jwks);
    const err = await auth(rs, await signWith(key, jwks.issuer, AUD)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthorizationServerUnavailableError);
    const answer = rs.answer(err);
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    expect(answer.headers['www-authenticate']).toBeUndefined();
  });

  it('times out a JWKS endpoint that never answers, then answers 503', async () => {
    const key = await makeKey();
    jwks = await startJwksServer([key]);
    jwks.mode = 'hang';
    const rs = server(jwks, { http: { timeoutMs: 200 } });
    await expect(auth(rs, await signWith(key, jwks.issuer, AUD))).rejects.toBeInstanceOf(AuthorizationServerUnavailableError);
  });

  it('backs off after a failed fetch instead of asking the AS on every request', async () => {
    const key = await makeKey();
    jwks = await startJwksServer([key]);
    jwks.mode = 'down';
    const rs = server(jwks);
    const token = await signWith(key, jwks.issuer, AUD);
    for (let i = 0; i < 10; i++) await expect(auth(rs, token)).rejects.toBeInstanceOf(AuthorizationServerUnavailableError);
    expect(jwks.requests).toBe(1);
  });

  it('never uses a published key with use "enc", private members, or RSA under 2048 bits', async () => {
    const good = await makeKey('RS256', 'good');
    jwks = await startJwksServer([good]);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weakKey = await makeKey('RS256', 'weak');
    jwks.keys = [
      good,
      { ...weakKey, publicJwk: { ...small.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' } },
      { ...good, kid: 'enc', publicJwk: { ...good.publicJwk, kid: 'enc', use: 'enc' } },
      { ...good, kid: 'private', publicJwk: { ...good.publicJwk, kid: 'private', d: 'AAAA' } },
    ];
    const rs = server(jwks, { jwks: { cooldownSeconds: 60 } });
    expect((await auth(rs, await signWith(good, jwks.issuer, AUD)))?.context.subject).toBe('user-1');
    for (const kid of ['enc', 'private']) {
      await expect(auth(rs, await signWith(good, jwks.issuer, AUD, {}, { kid }))).rejects.toMatchObject({
        code: 'ERR_TOKEN_KEY_NOT_FOUND',
      });
    }
  });
});

describe('verified-token cache', () => {
  it('never serves a cached token past its exp', async () => {
    const key = await makeKey();
    jwks = await startJwksServer([key]);
    const rs = server(jwks, { clockToleranceSeconds: 0 });
    const exp = Math.floor(Date.now() / 1000) + 1;
    const token = await signWith(key, jwks.issuer, AUD, { exp });
    expect(await auth(rs, token)).toBeDefined();
    // The second request is answered from the cache, synchronously.
    expect(rs.authenticate(req(token))).not.toBeInstanceOf(Promise);
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 20));
    expect(() => rs.authenticate(req(token))).toThrow(InvalidTokenError);
  });

  it('re-checks the audience on a cache hit (a token cached for one identifier is no pass for another)', async () => {
    const key = await makeKey();
    jwks = await startJwksServer([key]);
    const rs = new ResourceServer({
      issuer: { issuer: jwks.issuer, jwksUri: jwks.url },
      publicBaseUrl: 'https://api.example.com',
      logger: false,
    });
    const token = await signWith(key, jwks.issuer, 'https://api.example.com/orders');
    expect(await auth(rs, token, '/orders')).toBeDefined();
    await expect(auth(rs, token, '/billing')).rejects.toMatchObject({ code: 'ERR_TOKEN_AUDIENCE' });
  });

  it('is bounded by maxEntries (least recently used entries go first)', async () => {
    const key = await makeKey();
    jwks = await startJwksServer([key]);
    const rs = server(jwks, { cache: { maxEntries: 2 } });
    const tokens = await Promise.all([1, 2, 3].map((i) => signWith(key, jwks!.issuer, AUD, { jti: `t${i}` })));
    const first = await auth(rs, tokens[0]!);
    for (const t of tokens.slice(1)) await auth(rs, t);
    // A hit returns the very same verified context; the evicted first token is verified anew.
    expect((await auth(rs, tokens[2]!))?.context).toBe((await auth(rs, tokens[2]!))?.context);
    expect((await auth(rs, tokens[0]!))?.context).not.toBe(first?.context);
  });
});
