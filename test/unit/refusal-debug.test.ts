/**
 * The opt-in debug channel: with `logger.debug`, each refused token produces one debug line naming the check
 * that failed and the values that decided it (issuer, audience, typ, missing claims, alg, kid, times), and never
 * the token, its signature, its payload or claims that identify the user. Without `debug`, nothing is logged.
 */
import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { generateKeyPair, SignJWT } from 'jose';
import { ResourceServer, oauthResourceServer, type Logger, type ResourceServerOptions } from '../../src/index.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/test-issuer.js';

const API = 'https://api.example.com';
const SUBJECT = 'user-8f2c91-private';

const req = (token: string) => ({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });

interface Line {
  message: string;
  details: Record<string, unknown>;
}

function recordingLogger(): Logger & { lines: Line[]; others: number } {
  const lines: Line[] = [];
  const l = {
    lines,
    others: 0,
    warn: () => void l.others++,
    error: () => void l.others++,
    debug: (message: string, details?: Record<string, unknown>) => void lines.push({ message, details: details ?? {} }),
  };
  return l;
}

let ti: TestIssuer;
beforeAll(async () => {
  ti = await createTestIssuer({ issuer: 'https://as.example.com' });
});

/** Present `token` to a server with a recording logger; the refusal's one debug line. */
async function refusedLine(token: string, options: Partial<ResourceServerOptions> = {}): Promise<Line> {
  const logger = recordingLogger();
  const rs = new ResourceServer({ issuer: ti.trustedIssuer, resource: API, ...options, logger });
  await expect(Promise.resolve().then(() => rs.authenticate(req(token)))).rejects.toMatchObject({ status: 401 });
  expect(logger.lines).toHaveLength(1);
  expect(logger.others).toBe(0);
  const line = logger.lines[0]!;
  expect(line.message).toBe('access token refused');
  // No token material: neither the token nor any of its parts, nor the user's identity.
  const text = JSON.stringify(line);
  for (const part of [token, ...token.split('.').filter((p) => p.length > 8)]) expect(text).not.toContain(part);
  expect(text).not.toContain(SUBJECT);
  expect(line.details).not.toHaveProperty('sub');
  expect(line.details).not.toHaveProperty('payload');
  return line;
}

const token = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, expiresIn?: number) =>
  signTestToken(ti, {
    audience: API,
    scope: 'read:orders',
    claims: { sub: SUBJECT, ...claims },
    header,
    ...(expiresIn === undefined ? {} : { expiresIn }),
  });

describe('logger.debug explains each refused token', () => {
  it('issuer: the iss it got and the issuers it expected', async () => {
    const line = await refusedLine(await token({ iss: 'https://evil.example' }));
    expect(line.details).toMatchObject({ code: 'ERR_TOKEN_ISSUER', issuer: 'https://evil.example', expectedIssuers: [ti.issuer] });
  });

  it('audience: the aud it got and the identifiers it expected', async () => {
    const line = await refusedLine(await token({ aud: ['https://other.example.com', 'https://third.example.com'] }));
    expect(line.details).toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
      audience: ['https://other.example.com', 'https://third.example.com'],
      expectedAudience: [API],
      issuer: ti.issuer,
    });
  });

  it('typ: the typ it got and the values the profile accepts', async () => {
    const line = await refusedLine(await token({}, { typ: 'JWT' }));
    expect(line.details).toMatchObject({ code: 'ERR_TOKEN_TYPE', typ: 'JWT', expectedTyp: ['at+jwt'], profile: 'rfc9068' });
    const none = await refusedLine(await token({}, { typ: undefined }));
    expect(none.details).toMatchObject({ code: 'ERR_TOKEN_TYPE', typ: '(none)' });
  });

  it('missing claims: their names (jti; the client claims a profile names)', async () => {
    const line = await refusedLine(await token({ jti: undefined }));
    expect(line.details).toMatchObject({ code: 'ERR_TOKEN_CLAIM', missingClaims: ['jti'], check: 'the access token lacks the jti claim' });
    const auth0 = await refusedLine(await token({ client_id: undefined, jti: undefined }, { typ: 'JWT' }), {
      issuer: { ...ti.trustedIssuer, profile: 'auth0' },
    });
    expect(auth0.details).toMatchObject({ code: 'ERR_TOKEN_CLAIM', missingClaims: ['client_id or azp'], profile: 'auth0' });
  });

  it('alg: the alg it got and the algorithms accepted', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const es = await new SignJWT({ iss: ti.issuer, sub: SUBJECT, aud: API })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: ti.kid })
      .sign(privateKey);
    const line = await refusedLine(es, { issuer: { ...ti.trustedIssuer, algorithms: ['RS256'] } });
    expect(line.details).toMatchObject({ code: 'ERR_TOKEN_ALGORITHM', alg: 'ES256', expectedAlgorithms: ['RS256'] });
  });

  it('kid: a key the issuer does not have', async () => {
    const line = await refusedLine(await token({}, { kid: 'rotated-away' }));
    expect(line.details).toMatchObject({ code: 'ERR_TOKEN_KEY_NOT_FOUND', kid: 'rotated-away', alg: 'RS256' });
  });

  it('signature: alg and kid, never the signature', async () => {
    const [h, p] = (await token()).split('.');
    const line = await refusedLine(`${h}.${p}.${Buffer.from('x'.repeat(256)).toString('base64url')}`);
    expect(line.details).toMatchObject({ code: 'ERR_TOKEN_SIGNATURE', alg: 'RS256', kid: ti.kid });
  });

  it('expiry and not-before: the times, the clock and the leeway', async () => {
    const expired = await refusedLine(await token({}, {}, -120));
    expect(expired.details).toMatchObject({ code: 'ERR_TOKEN_EXPIRED', leewaySeconds: 5 });
    expect(expired.details.exp).toBeLessThan(expired.details.now as number);
    const early = await refusedLine(await token({ nbf: Math.floor(Date.now() / 1000) + 600 }));
    expect(early.details).toMatchObject({ code: 'ERR_TOKEN_NOT_YET_VALID' });
    expect(early.details.nbf).toBeGreaterThan(early.details.now as number);
  });

  it('cognito: the client it got and the allowed clients; the token_use it got', async () => {
    const cognito = { issuer: { ...ti.trustedIssuer, profile: { preset: 'cognito' as const, clientIds: ['app-1'] } } };
    const line = await refusedLine(await token({ aud: undefined, client_id: 'app-2', token_use: 'access' }, { typ: undefined }), cognito);
    expect(line.details).toMatchObject({ code: 'ERR_TOKEN_AUDIENCE', clientId: 'app-2', expectedClientIds: ['app-1'], audience: '(none)' });
    const id = await refusedLine(await token({ aud: 'app-1', token_use: 'id' }, { typ: undefined }), cognito);
    expect(id.details).toMatchObject({ code: 'ERR_TOKEN_TYPE', claimValues: [{ claim: 'token_use', got: 'id', expected: 'access' }] });
  });

  it('a token that is no JWS: its format only', async () => {
    const line = await refusedLine('opaque-token-value-0123456789');
    expect(line.details).toMatchObject({ code: 'ERR_TOKEN_MALFORMED', format: 'not a JWS (opaque or malformed)' });
  });

  it('values from the token are bounded', async () => {
    const long = `https://evil.example/${'a'.repeat(1000)}`;
    const line = await refusedLine(await token({ iss: long, aud: Array.from({ length: 50 }, (_, i) => `https://x${i}.example`) }));
    expect((line.details.issuer as string).length).toBeLessThanOrEqual(201);
    const again = await refusedLine(await token({ aud: Array.from({ length: 50 }, (_, i) => `https://x${i}.example`) }));
    expect(again.details.audience).toHaveLength(10);
  });

  it('a cached refusal is explained again, an accepted token is not logged at all', async () => {
    const logger = recordingLogger();
    const rs = new ResourceServer({ issuer: ti.trustedIssuer, resource: API, logger });
    const good = await token();
    expect(rs.authenticate(req(good))).toBeDefined();
    expect(logger.lines).toHaveLength(0);
    const expired = await token({}, {}, -120);
    for (let i = 0; i < 2; i++) expect(() => rs.authenticate(req(expired))).toThrow(expect.objectContaining({ code: 'ERR_TOKEN_EXPIRED' }));
    expect(logger.lines.map((l) => l.details.code)).toEqual(['ERR_TOKEN_EXPIRED', 'ERR_TOKEN_EXPIRED']);
  });

  it('through the Express middleware: one line per refused request, and a failing debug logger still answers 401', async () => {
    const logger = recordingLogger();
    const app = express();
    app.use(oauthResourceServer({ issuer: ti.trustedIssuer, resource: API, logger }));
    app.get('/', (_req, res) => void res.json({ ok: true }));
    const res = await request(app)
      .get('/')
      .set('Authorization', `Bearer ${await token({ aud: 'https://other.example.com' })}`);
    expect(res.status).toBe(401);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]!.details.code).toBe('ERR_TOKEN_AUDIENCE');

    const throwing = express();
    const debug = jest.fn(() => {
      throw new Error('log sink down');
    });
    throwing.use(
      oauthResourceServer({ issuer: ti.trustedIssuer, resource: API, logger: { warn: () => undefined, error: () => undefined, debug } }),
    );
    throwing.get('/', (_req, res) => void res.json({ ok: true }));
    expect(
      (
        await request(throwing)
          .get('/')
          .set('Authorization', `Bearer ${await token({ iss: 'https://evil.example' })}`)
      ).status,
    ).toBe(401);
    expect(debug).toHaveBeenCalledTimes(1);
  });
});

describe('without logger.debug', () => {
  it('refusals are answered as before and nothing is logged', async () => {
    const warn = jest.fn();
    const error = jest.fn();
    const rs = new ResourceServer({ issuer: ti.trustedIssuer, resource: API, logger: { warn, error } });
    for (const t of [
      await token({ iss: 'https://evil.example' }),
      await token({ aud: 'https://other.example.com' }),
      await token({}, { typ: 'JWT' }),
      'opaque',
    ]) {
      await expect(Promise.resolve().then(() => rs.authenticate(req(t)))).rejects.toMatchObject({ status: 401 });
    }
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });

  it('the debug channel is read once, at construction: a debug method added later is never called', async () => {
    const logger: Logger = { warn: () => undefined, error: () => undefined };
    const rs = new ResourceServer({ issuer: ti.trustedIssuer, resource: API, logger });
    const debug = jest.fn();
    logger.debug = debug;
    await expect(Promise.resolve().then(() => rs.authenticate(req('opaque')))).rejects.toMatchObject({ status: 401 });
    expect(debug).not.toHaveBeenCalled();
  });
});
