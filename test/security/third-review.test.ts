/**
 * A third outside review, through the packed package: what it found beyond the cases. Each test fails
 * on the code before its fix.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ConfigurationError, ResourceServer } from '../../src/index.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/index.js';
import { authenticate, dpopFixture, proofFor, type DpopFixture } from '../helpers/dpop-fixture.js';

const API = 'https://api.example.com';
let ti: TestIssuer;
beforeAll(async () => {
  ti = await createTestIssuer();
});
const bearer = (rs: ResourceServer, token: string) =>
  Promise.resolve().then(() => rs.authenticate({ method: 'GET', url: '/orders', headers: { authorization: `Bearer ${token}` } }));

describe('tokens bound by a confirmation method the kit cannot check (RFC 7800 §3.1)', () => {
  it.each([
    [{ jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } }],
    [{ kid: 'k1' }],
    [{ jku: 'https://client.example/jwks' }],
    ['x'],
    [{}],
    [null],
  ])('cnf %j is refused (401 invalid_token), never taken as a bearer token', async (cnf) => {
    const rs = new ResourceServer({ issuer: ti.trustedIssuer, resource: API, logger: false, dpop: true });
    const token = await signTestToken(ti, { audience: API, scope: 'read:orders', claims: { cnf } });
    await expect(bearer(rs, token)).rejects.toMatchObject({ status: 401, oauthError: 'invalid_token', code: 'ERR_TOKEN_BINDING' });
  });
  it('a token without cnf is still a bearer token', async () => {
    const rs = new ResourceServer({ issuer: ti.trustedIssuer, resource: API, logger: false });
    await expect(bearer(rs, await signTestToken(ti, { audience: API, scope: 'read:orders' }))).resolves.toMatchObject({ scheme: 'bearer' });
  });
});

describe('DPoP proof keys in canonical form only (RFC 7518 §6.3.1, §6.2.1.2)', () => {
  let fx: DpopFixture;
  let rsa: { jwk: Record<string, string>; key: KeyObject };
  beforeAll(async () => {
    fx = await dpopFixture();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    rsa = { jwk: publicKey.export({ format: 'jwk' }) as Record<string, string>, key: privateKey };
  });
  const thumbprint = (jwk: Record<string, string>) =>
    createHash('sha256')
      .update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }))
      .digest('base64url');
  const sign = (data: Buffer) => createSign('sha256').update(data).sign(rsa.key);
  it('a proof key whose RSA integers carry a leading zero octet is refused: one key, one thumbprint', async () => {
    const rs = fx.server({ algorithms: ['RS256'] });
    for (const jwk of [
      { ...rsa.jwk, e: 'AAEAAQ' },
      { ...rsa.jwk, n: Buffer.concat([Buffer.from([0]), Buffer.from(rsa.jwk.n!, 'base64url')]).toString('base64url') },
    ]) {
      const token = await fx.accessToken(thumbprint(jwk));
      await expect(authenticate(rs, token, proofFor(token, 'RS256', jwk, sign))).rejects.toMatchObject({
        oauthError: 'invalid_dpop_proof',
      });
    }
    const token = await fx.accessToken(thumbprint(rsa.jwk));
    await expect(authenticate(rs, token, proofFor(token, 'RS256', rsa.jwk, sign))).resolves.toMatchObject({ scheme: 'dpop' });
  });
  it.each([[[]], [['none']], [['RS257']], [['HS256']]])('dpop.algorithms %j is a ConfigurationError at start-up', (algorithms) => {
    expect(
      () => new ResourceServer({ issuer: ti.trustedIssuer, resource: API, logger: false, dpop: { algorithms: algorithms as never } }),
    ).toThrow(ConfigurationError);
  });
});

describe('token profiles', () => {
  it('an aud that is present must name this API even where the profile binds by client (keycloak, requireAudience: false, aud [])', async () => {
    const rs = new ResourceServer({
      issuer: { ...ti.trustedIssuer, profile: { preset: 'keycloak', requireAudience: false, clientIds: ['web'] } },
      resource: API,
      logger: false,
    });
    const claims = { typ: 'Bearer', azp: 'web', jti: 'j1' };
    const token = (aud: unknown) => signTestToken(ti, { audience: aud as string, scope: 'read:orders', claims, header: { typ: 'JWT' } });
    await expect(bearer(rs, await token([]))).rejects.toMatchObject({ code: 'ERR_TOKEN_AUDIENCE' });
    await expect(bearer(rs, await token(['https://other.example.com']))).rejects.toMatchObject({ code: 'ERR_TOKEN_AUDIENCE' });
    await expect(bearer(rs, await token(undefined))).resolves.toBeDefined();
  });
  it("Entra: a user's roles never count as scopes, even without scp (idtyp user, or oid other than sub)", async () => {
    const rs = new ResourceServer({ issuer: { ...ti.trustedIssuer, profile: { preset: 'entra' } }, resource: API, logger: false });
    const mint = (extra: Record<string, unknown>) =>
      signTestToken(ti, {
        audience: API,
        claims: { azp: 'cli', roles: ['read:orders'], scope: undefined, ...extra },
        header: { typ: 'JWT' },
      });
    const user1 = await bearer(rs, await mint({ idtyp: 'user', oid: 'o', sub: 's' }));
    expect(user1!.context.hasScope('read:orders')).toBe(false);
    const user2 = await bearer(rs, await mint({ oid: 'o', sub: 's' }));
    expect(user2!.context.hasScope('read:orders')).toBe(false);
    const app = await bearer(rs, await mint({ oid: 's', sub: 's' }));
    expect(app!.context.hasScope('read:orders')).toBe(true);
  });
});

describe('start-up errors', () => {
  it('never print the credentials or query of a configured URL', () => {
    let message = '';
    try {
      new ResourceServer({
        resource: API,
        logger: false,
        issuer: { issuer: 'https://as.example.com', jwksUri: 'http://u:pa55word@example.com/x?key=s3cret' },
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/jwksUri/);
    expect(message).not.toMatch(/pa55word|s3cret/);
  });
});
