/**
 * Decoding a compact JWS before any check: the canonical-encoding rule for the signature (decided from the last
 * character, without re-encoding) and the remembered decoded headers (shared, frozen, bounded).
 */
import { describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { ResourceServer } from '../../src/index.js';
import { createTestIssuer } from '../../src/testing/index.js';
import { decodeJws } from '../../src/token/jwt.js';

const HEADER = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })).toString('base64url');
const PAYLOAD = Buffer.from(JSON.stringify({ iss: 'https://as.example.com' })).toString('base64url');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function accepts(signature: string): boolean {
  try {
    decodeJws(`${HEADER}.${PAYLOAD}.${signature}`);
    return true;
  } catch (err) {
    expect(err).toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
    return false;
  }
}

describe('signature encoding', () => {
  it('accepts exactly the canonical base64url encodings, for every length and every last character', () => {
    let checked = 0;
    for (let bytes = 1; bytes <= 70; bytes++) {
      const encoded = Buffer.alloc(bytes, 0xa5).toString('base64url');
      for (const c of ALPHABET) {
        const candidate = encoded.slice(0, -1) + c;
        const canonical = Buffer.from(candidate, 'base64url').toString('base64url') === candidate;
        expect([bytes, c, accepts(candidate)]).toEqual([bytes, c, canonical]);
        checked++;
      }
    }
    expect(checked).toBe(70 * 64);
  });

  it('refuses a signature whose length leaves one character in the last group (no byte encodes so)', () => {
    expect(accepts('A')).toBe(false);
    expect(accepts('AAAAA')).toBe(false);
    expect(accepts('AAAA')).toBe(true);
  });
});

describe('decoded headers', () => {
  it('gives tokens with one header one frozen header object, and decodes each header text as it is', () => {
    const a = decodeJws(`${HEADER}.${PAYLOAD}.AAAA`);
    const b = decodeJws(`${HEADER}.${PAYLOAD}.BBBB`);
    expect(a.header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' });
    expect(b.header).toBe(a.header);
    expect(Object.isFrozen(a.header)).toBe(true);
    const other = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'k2' })).toString('base64url');
    expect(decodeJws(`${other}.${PAYLOAD}.AAAA`).header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'k2' });
  });

  it('does not keep a long header (a DPoP proof with an RSA key): decoded each time, equal, not shared', () => {
    const long = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: 'EC', x: 'x'.repeat(300) } })).toString(
      'base64url',
    );
    const a = decodeJws(`${long}.${PAYLOAD}.AAAA`);
    const b = decodeJws(`${long}.${PAYLOAD}.AAAA`);
    expect(b.header).toEqual(a.header);
    expect(b.header).not.toBe(a.header);
  });

  it('does not keep a header with nested members (a DPoP proof carries the client key there), however short', () => {
    const nested = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: 'EC' } })).toString('base64url');
    const a = decodeJws(`${nested}.${PAYLOAD}.AAAA`);
    const b = decodeJws(`${nested}.${PAYLOAD}.AAAA`);
    expect(b.header).toEqual(a.header);
    expect(b.header).not.toBe(a.header);
    expect(Object.isFrozen(a.header)).toBe(false); // frozen, with the depth rule, where a verdict is built
  });

  it('refuses a signed token whose header is nested too deeply, on every sight (the depth rule is not skipped)', async () => {
    const ti = await createTestIssuer();
    const rs = new ResourceServer({ issuer: ti.trustedIssuer, resource: 'https://api.example.com', logger: false });
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = [deep];
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      iss: ti.issuer,
      sub: 'u',
      aud: 'https://api.example.com',
      client_id: 'c',
      iat: now,
      exp: now + 300,
      jti: 'j',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: ti.kid, x: deep })
      .sign(ti.privateKey);
    expect(token.indexOf('.')).toBeLessThanOrEqual(256); // a header short enough to be kept, were it flat
    for (let i = 0; i < 3; i++) {
      await expect(
        Promise.resolve().then(() => rs.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } })),
      ).rejects.toMatchObject({ code: 'ERR_TOKEN_CLAIM' });
    }
  });

  it('still refuses a header that is not a JSON object, after many distinct headers filled what is remembered', () => {
    for (let i = 0; i < 200; i++) {
      const h = Buffer.from(JSON.stringify({ alg: 'RS256', kid: `k${i}` })).toString('base64url');
      expect(decodeJws(`${h}.${PAYLOAD}.AAAA`).header.kid).toBe(`k${i}`);
    }
    const notObject = Buffer.from('[1]').toString('base64url');
    expect(() => decodeJws(`${notObject}.${PAYLOAD}.AAAA`)).toThrow(expect.objectContaining({ code: 'ERR_TOKEN_MALFORMED' }));
  });
});
