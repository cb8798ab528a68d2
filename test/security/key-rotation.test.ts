/**
 * Key rotation and hostile key sets: an AS that publishes a new key and then signs with it causes no failed
 * request once the unknown-kid cooldown has passed; random JWKS shapes never yield a usable key that is not
 * a public signing key, and never throw anything but a TypeError for a document that is not a JWK Set.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ResourceServer } from '../../src/index.js';
import { parseKeySet } from '../../src/token/jwks.js';
import { makeKey, signWith, startJwksServer, type JwksServer } from '../helpers/jwks-server.js';

const AUD = 'https://api.example.com';
let jwks: JwksServer | undefined;
afterEach(async () => {
  await jwks?.close();
  jwks = undefined;
});
const req = (token: string) => ({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });

describe('key rotation', () => {
  it('survives a rotation without a failed request (new key published, then used), and drops a retired key', async () => {
    const k1 = await makeKey('RS256', 'k1');
    const k2 = await makeKey('RS256', 'k2');
    jwks = await startJwksServer([k1]);
    const rs = new ResourceServer({
      issuer: { issuer: jwks.issuer, jwksUri: jwks.url },
      resource: AUD,
      jwks: { cooldownSeconds: 0.5 },
      cache: false,
      logger: false,
    });
    expect(await rs.authenticate(req(await signWith(k1, jwks.issuer, AUD)))).toBeDefined();
    await new Promise((r) => setTimeout(r, 600));
    jwks.keys = [k1, k2]; // the AS publishes k2 and starts signing with it
    expect(await rs.authenticate(req(await signWith(k2, jwks.issuer, AUD)))).toBeDefined();
    expect(await rs.authenticate(req(await signWith(k1, jwks.issuer, AUD)))).toBeDefined(); // tokens of k1 still valid
    await new Promise((r) => setTimeout(r, 600));
    jwks.keys = [k2]; // k1 retired
    const unknown = await signWith(k1, jwks.issuer, AUD, {}, { kid: 'k3' }); // an unknown kid triggers the refetch
    await expect(Promise.resolve().then(() => rs.authenticate(req(unknown)))).rejects.toMatchObject({ status: 401 });
    await expect(Promise.resolve().then(async () => rs.authenticate(req(await signWith(k1, jwks!.issuer, AUD))))).rejects.toMatchObject({
      code: 'ERR_TOKEN_KEY_NOT_FOUND',
    });
    expect(await rs.authenticate(req(await signWith(k2, jwks.issuer, AUD)))).toBeDefined();
  });
});

describe('key rotation under load', () => {
  it('fails no request while 16 concurrent callers switch to a newly published key, with one JWKS fetch for them all', async () => {
    const k1 = await makeKey('RS256', 'k1');
    const k2 = await makeKey('RS256', 'k2');
    jwks = await startJwksServer([k1]);
    const rs = new ResourceServer({
      issuer: { issuer: jwks.issuer, jwksUri: jwks.url },
      resource: AUD,
      jwks: { cooldownSeconds: 0.2 },
      cache: false,
      logger: false,
    });
    const server = jwks;
    const t1 = await Promise.all(Array.from({ length: 16 }, () => signWith(k1, server.issuer, AUD)));
    const t2 = await Promise.all(Array.from({ length: 16 }, () => signWith(k2, server.issuer, AUD)));
    const failures: unknown[] = [];
    const call = async (token: string) => {
      try {
        await rs.authenticate(req(token));
      } catch (err) {
        failures.push(err);
      }
    };
    await Promise.all(t1.map(call)); // keys loaded
    await new Promise((r) => setTimeout(r, 300)); // past the cooldown
    const before = server.requests;
    server.keys = [k1, k2];
    // The AS starts signing with k2 while k1 tokens are still in use: 16 of each at once, three times over.
    for (let round = 0; round < 3; round++) await Promise.all([...t2, ...t1].map(call));
    expect(failures).toEqual([]);
    expect(server.requests - before).toBe(1);
  });
});

describe('hostile key sets', () => {
  it('random JWKS shapes yield only public signing keys, or a TypeError for what is not a JWK Set', () => {
    const member = fc.oneof(fc.constantFrom('RSA', 'EC', 'OKP', 'oct', 'sig', 'enc', 'P-256', 'Ed25519', 'AQAB'), fc.jsonValue());
    const jwk = fc.dictionary(fc.constantFrom('kty', 'use', 'alg', 'kid', 'n', 'e', 'crv', 'x', 'y', 'd', 'k', 'key_ops'), member, {
      maxKeys: 8,
    });
    fc.assert(
      fc.property(fc.oneof(fc.record({ keys: fc.array(jwk, { maxLength: 5 }) }), fc.jsonValue()), (doc) => {
        let keys;
        try {
          keys = parseKeySet(doc);
        } catch (err) {
          expect(err).toBeInstanceOf(TypeError);
          return;
        }
        for (const k of keys) {
          expect(k.key.type).toBe('public');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
