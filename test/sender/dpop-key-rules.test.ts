/**
 * The key rules for DPoP proof keys (RFC 9449 §4.3 checks 6, 7) and for the authorization server's keys:
 * one rule set (RSA 2048 to 4096 bits, RFC 7518 §3.3; an odd public exponent between 2^16 and 2^32; each
 * ECDSA algorithm on its own curve, RFC 7518 §3.4; only signing curves), applied before any signature check.
 * A refused proof key is a 401 `invalid_dpop_proof`; the same key in a JWKS is dropped.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { ResourceServer } from '../../src/index.js';
import type { DpopOptions } from '../../src/sender/dpop.js';
import { parseKeySet } from '../../src/token/jwks.js';
import { API, ISSUER, authenticate, dpopFixture, proofFor as proof, type DpopFixture } from '../helpers/dpop-fixture.js';
import { compactJws, ecSigner, fakeRsaJwk, rsaTestKey, thumbprint, type RsaTestKey } from '../helpers/odd-keys.js';

let fx: DpopFixture;
beforeAll(async () => {
  fx = await dpopFixture();
});
const server = (dpop: DpopOptions = {}) => fx.server(dpop);
const accessToken = (jkt: string) => fx.accessToken(jkt);

/** A proof signed with an RSA test key, by a token bound to that key. */
async function rsaProofCall(rs: ResourceServer, key: RsaTestKey) {
  const token = await accessToken(key.jkt);
  return authenticate(
    rs,
    token,
    proof(token, 'RS256', key.jwk, (d) => key.sign(d)),
  );
}

const refusedKey = (what: RegExp) => ({ status: 401, oauthError: 'invalid_dpop_proof', message: expect.stringMatching(what) });

describe('DPoP proof keys follow the key rules, before any signature check', () => {
  const keys: Record<string, RsaTestKey> = {};
  beforeAll(() => {
    keys.good = rsaTestKey(2048);
    keys.rsa1024 = rsaTestKey(1024);
    keys.rsa512 = rsaTestKey(512);
    keys.huge = rsaTestKey(2048, 'huge');
    keys.three = rsaTestKey(2048, 3n);
    keys.even = rsaTestKey(2048, 65538n);
  });

  it('accepts a proof signed by a 2048-bit RSA key with e = 65537 (the rules refuse only what they name)', async () => {
    const a = await rsaProofCall(server(), keys.good!);
    expect(a.scheme).toBe('dpop');
  });

  it('refuses a proof key of 1024 bits (RFC 7518 §3.3), although the token is bound to it and the signature is valid', async () => {
    await expect(rsaProofCall(server(), keys.rsa1024!)).rejects.toMatchObject(
      refusedKey(/not accepted: an RSA key must have 2048 to 4096 bits/),
    );
  });

  it('refuses a proof key of 512 bits', async () => {
    await expect(rsaProofCall(server(), keys.rsa512!)).rejects.toMatchObject(
      refusedKey(/not accepted: an RSA key must have 2048 to 4096 bits/),
    );
  });

  it('refuses a proof key with a huge public exponent (a verify costing dozens of normal ones), before verifying', async () => {
    expect(BigInt(`0x${Buffer.from(keys.huge!.jwk.e, 'base64url').toString('hex')}`) > 2n ** 2000n).toBe(true);
    await expect(rsaProofCall(server(), keys.huge!)).rejects.toMatchObject(
      refusedKey(/not accepted: an RSA public exponent must be odd, above 2\^16 and below 2\^32/),
    );
  });

  it('refuses a proof key with a small public exponent (e = 3, below FIPS 186-5 §5.4)', async () => {
    await expect(rsaProofCall(server(), keys.three!)).rejects.toMatchObject(refusedKey(/RSA public exponent/));
  });

  it('refuses a proof key with an even public exponent as a key, not as a bad signature', async () => {
    await expect(rsaProofCall(server(), keys.even!)).rejects.toMatchObject(refusedKey(/not accepted: an RSA public exponent/));
  });

  it('refuses an RSA proof key over 4096 bits as a key, without verifying', async () => {
    const jwk = fakeRsaJwk(4608);
    const token = await accessToken(thumbprint(jwk));
    await expect(
      authenticate(
        server(),
        token,
        proof(token, 'RS256', jwk, () => randomBytes(576)),
      ),
    ).rejects.toMatchObject(refusedKey(/not accepted: an RSA key must have 2048 to 4096 bits/));
  });

  it('refuses an EC proof key on another curve than its algorithm names (ES256 with a P-384 key)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const jwk = publicKey.export({ format: 'jwk' });
    const jkt = createHash('sha256')
      .update(JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y }))
      .digest('base64url');
    const token = await accessToken(jkt);
    await expect(authenticate(server(), token, proof(token, 'ES256', jwk, ecSigner(privateKey, 'sha256')))).rejects.toMatchObject(
      refusedKey(/key does not fit the proof algorithm/),
    );
  });

  it('refuses an EC proof key on a curve no JWS algorithm uses (secp256k1)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const jwk = publicKey.export({ format: 'jwk' });
    const jkt = createHash('sha256')
      .update(JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y }))
      .digest('base64url');
    const token = await accessToken(jkt);
    await expect(authenticate(server(), token, proof(token, 'ES256', jwk, ecSigner(privateKey, 'sha256')))).rejects.toMatchObject(
      refusedKey(/not accepted: an EC key must be on P-256, P-384 or P-521/),
    );
  });

  it('refuses OKP proof keys outside the configured algorithms: an X25519 key, and Ed448 when only Ed25519 is configured', async () => {
    const x = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    const xToken = await accessToken(
      createHash('sha256')
        .update(JSON.stringify({ crv: x.crv, kty: 'OKP', x: x.x }))
        .digest('base64url'),
    );
    await expect(
      authenticate(
        server(),
        xToken,
        proof(xToken, 'EdDSA', x, () => randomBytes(64)),
      ),
    ).rejects.toMatchObject(refusedKey(/not accepted: the key type cannot verify JWS signatures/));
    const ed448 = generateKeyPairSync('ed448');
    const jwk = ed448.publicKey.export({ format: 'jwk' });
    const token = await accessToken(
      createHash('sha256')
        .update(JSON.stringify({ crv: jwk.crv, kty: 'OKP', x: jwk.x }))
        .digest('base64url'),
    );
    const signEd448 = (d: Buffer) => sign(null, d, ed448.privateKey);
    await expect(authenticate(server({ algorithms: ['Ed25519'] }), token, proof(token, 'Ed25519', jwk, signEd448))).rejects.toMatchObject(
      refusedKey(/key does not fit the proof algorithm/),
    );
  });
});

describe('the same key rules for the authorization server keys (JWKS)', () => {
  it('drops RSA keys under 2048 or over 4096 bits, with a huge, small or even exponent, and keys on the wrong or an unusable curve', () => {
    const good = rsaTestKey(2048);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' });
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    const keys = [
      { ...good.jwk, kid: 'good', alg: 'RS256' },
      { ...p256, kid: 'p256', alg: 'ES256' },
      { ...rsaTestKey(1024).jwk, kid: 'rsa1024' },
      { ...rsaTestKey(512).jwk, kid: 'rsa512' },
      { ...fakeRsaJwk(4608), kid: 'rsa4608' },
      { ...rsaTestKey(2048, 'huge').jwk, kid: 'huge-e' },
      { ...rsaTestKey(2048, 3n).jwk, kid: 'e3' },
      { ...rsaTestKey(2048, 65538n).jwk, kid: 'even-e' },
      { ...p384, kid: 'p384-as-es256', alg: 'ES256' },
      { ...p256, kid: 'p256-as-rs256', alg: 'RS256' },
      { ...k1, kid: 'secp256k1' },
      { ...x25519, kid: 'x25519' },
    ];
    expect(parseKeySet({ keys }).map((k) => k.kid)).toEqual(['good', 'p256']);
  });

  it('refuses a token signed by a huge-exponent key published in the JWKS (the key is never used)', async () => {
    const huge = rsaTestKey(2048, 'huge');
    const rs = new ResourceServer({
      issuer: { issuer: ISSUER, jwks: { keys: [fx.asJwk, { ...huge.jwk, kid: 'huge', alg: 'RS256' }] } },
      resource: API,
      logger: false,
    });
    const now = Math.floor(Date.now() / 1000);
    const token = compactJws(
      { alg: 'RS256', typ: 'at+jwt', kid: 'huge' },
      { iss: ISSUER, sub: 'u', aud: API, client_id: 'c', iat: now, exp: now + 300, jti: 'j' },
      (d) => huge.sign(d),
    );
    const outcome = Promise.resolve().then(() =>
      rs.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } }),
    );
    await expect(outcome).rejects.toMatchObject({ status: 401, oauthError: 'invalid_token', code: 'ERR_TOKEN_KEY_NOT_FOUND' });
  });
});
