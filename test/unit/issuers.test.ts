/** Several trusted issuers, dynamic trust through a resolver, and HMAC only with a configured secret. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { ResourceServer } from '../../src/index.js';
import { makeKey, signWith, startJwksServer, type JwksServer, type TestKey } from '../helpers/jwks-server.js';

const AUD = 'https://api.example.com';
let a: JwksServer;
let b: JwksServer;
let keyA: TestKey;
let keyB: TestKey;
beforeAll(async () => {
  keyA = await makeKey('RS256');
  keyB = await makeKey('ES256');
  a = await startJwksServer([keyA]);
  b = await startJwksServer([keyB]);
});
afterAll(async () => {
  await a.close();
  await b.close();
});

const req = (token: string) => ({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });
const auth = (rs: ResourceServer, token: string) => Promise.resolve().then(() => rs.authenticate(req(token)));

describe('trusted issuers', () => {
  it('accepts tokens of each configured issuer, each verified with its own keys', async () => {
    const rs = new ResourceServer({
      issuer: [
        { issuer: a.issuer, jwksUri: a.url },
        { issuer: b.issuer, jwksUri: b.url },
      ],
      resource: AUD,
      logger: false,
    });
    expect((await auth(rs, await signWith(keyA, a.issuer, AUD)))?.context.issuer).toBe(a.issuer);
    expect((await auth(rs, await signWith(keyB, b.issuer, AUD)))?.context.issuer).toBe(b.issuer);
    // A token claiming issuer B but signed with A's key is refused: keys are per issuer.
    await expect(auth(rs, await signWith({ ...keyA, kid: keyB.kid }, b.issuer, AUD))).rejects.toMatchObject({
      oauthError: 'invalid_token',
    });
  });

  it('refuses an issuer that is not trusted, even one that shares a trusted issuer’s keys', async () => {
    const rs = new ResourceServer({ issuer: { issuer: a.issuer, jwksUri: a.url }, resource: AUD, logger: false });
    const token = await signWith(keyA, `${a.issuer}/other-tenant`, AUD);
    await expect(auth(rs, token)).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER', status: 401 });
  });

  it('trusts issuers through a resolver, which must vouch for exactly the token’s iss', async () => {
    const seen: string[] = [];
    const rs = new ResourceServer({
      resolveIssuer: (iss) => {
        seen.push(iss);
        if (iss === b.issuer) return { issuer: b.issuer, jwksUri: b.url };
        if (iss === 'https://evil.example') return { issuer: a.issuer, jwksUri: a.url };
        return undefined;
      },
      resource: AUD,
      logger: false,
    });
    expect((await auth(rs, await signWith(keyB, b.issuer, AUD)))?.context.issuer).toBe(b.issuer);
    await expect(auth(rs, await signWith(keyA, a.issuer, AUD))).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER' });
    await expect(auth(rs, await signWith(keyA, 'https://evil.example', AUD))).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER' });
    // The resolver's answer is remembered: a second token of issuer B does not ask again.
    const before = seen.filter((s) => s === b.issuer).length;
    await auth(rs, await signWith(keyB, b.issuer, AUD));
    expect(seen.filter((s) => s === b.issuer).length).toBe(before);
  });

  it('accepts HS256 only with the configured secret, and never a token MACed with the public key (CONFORMANCE 17)', async () => {
    const secret = randomBytes(32);
    const rs = new ResourceServer({ issuer: { issuer: a.issuer, jwksUri: a.url, secret }, resource: AUD, logger: false });
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: a.issuer, sub: 's', aud: AUD, client_id: 'c', iat: now, exp: now + 60, jti: 'j' };
    const good = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(secret);
    expect((await auth(rs, good))?.context.subject).toBe('s');
    const publicKeyBytes = new TextEncoder().encode(JSON.stringify(keyA.publicJwk));
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: keyA.kid }).sign(publicKeyBytes);
    await expect(auth(rs, forged)).rejects.toMatchObject({ code: 'ERR_TOKEN_SIGNATURE' });

    const noSecret = new ResourceServer({ issuer: { issuer: a.issuer, jwksUri: a.url }, resource: AUD, logger: false });
    await expect(auth(noSecret, good)).rejects.toMatchObject({ code: 'ERR_TOKEN_ALGORITHM' });
  });

  it('does not discover keys at start-up for an issuer given only a secret (no failure logged for an AS it need not ask)', async () => {
    const secret = randomBytes(32);
    const logged: string[] = [];
    const logger = { warn: (m: string) => void logged.push(m), error: (m: string) => void logged.push(m) };
    // Nothing listens on port 9 here: a discovery attempt would fail and be logged.
    const issuer = 'http://127.0.0.1:9';
    const rs = new ResourceServer({ issuer: { issuer, secret }, resource: AUD, logger, http: { timeoutMs: 500 } });
    await rs.warmUp();
    expect(logged).toEqual([]);
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer, sub: 's', aud: AUD, client_id: 'c', iat: now, exp: now + 60, jti: 'j' };
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(secret);
    expect((await auth(rs, token))?.context.subject).toBe('s');
    expect(logged).toEqual([]);
  });

  it('logs an unusable resolver entry once per issuer, not once per token, and again after a usable one', async () => {
    const lines: Array<{ message: string; issuer?: unknown }> = [];
    const push = (message: string, details?: Record<string, unknown>) => void lines.push({ message, issuer: details?.issuer });
    let usable = false;
    const rs = new ResourceServer({
      // A malformed jwksUri: the entry is refused, and so is every token of its issuer.
      resolveIssuer: (iss) => (usable && iss === b.issuer ? { issuer: iss, jwksUri: b.url } : { issuer: iss, jwksUri: 'not a url' }),
      resource: AUD,
      logger: { warn: push, error: push },
    });
    const invalid = () => lines.filter((l) => l.message.startsWith('resolveIssuer returned an invalid issuer'));
    for (let i = 0; i < 3; i++) {
      await expect(auth(rs, await signWith(keyB, b.issuer, AUD, { jti: `t${i}` }))).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER' });
    }
    expect(invalid()).toEqual([{ message: expect.stringContaining('its tokens are refused'), issuer: b.issuer }]);
    usable = true;
    // The remembered trust lapses only with the TTL: a forget makes the resolver be asked again now.
    rs.forgetIssuer(b.issuer);
    expect((await auth(rs, await signWith(keyB, b.issuer, AUD, { jti: 'ok' })))?.context.issuer).toBe(b.issuer);
    usable = false;
    rs.forgetIssuer(b.issuer);
    await expect(auth(rs, await signWith(keyB, b.issuer, AUD, { jti: 'again' }))).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER' });
    expect(invalid()).toHaveLength(2);
  });

  it('names at most 100 issuers with unusable resolver entries in the log, then says once that it stops', async () => {
    const lines: string[] = [];
    const push = (message: string) => void lines.push(message);
    const rs = new ResourceServer({
      resolveIssuer: (iss) => ({ issuer: iss, jwksUri: 'not a url' }),
      resource: AUD,
      logger: { warn: push, error: push },
    });
    for (let i = 0; i < 103; i++) {
      await expect(auth(rs, await signWith(keyA, `https://tenant-${i}.example.com`, AUD))).rejects.toMatchObject({
        code: 'ERR_TOKEN_ISSUER',
      });
    }
    expect(lines.filter((m) => m.startsWith('resolveIssuer returned an invalid issuer'))).toHaveLength(100);
    expect(lines.filter((m) => m.includes('further ones are not logged'))).toHaveLength(1);
    expect(lines).toHaveLength(101);
  });
});
