/**
 * Regressions found by the differential tests (jws-differential, dpop-differential): each is a case where the
 * hand-written JWS path and jose plus the RFCs disagreed and the kit was wrong. Through the public path
 * (ResourceServer.authenticate), each with the valid twin that must still pass.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ResourceServer, type ResourceServerOptions } from '../../src/index.js';
import { jsonText, makeForgeKey, signInput, type ForgeKey } from '../helpers/jws-forge.js';

const ISS = 'https://as.example.com';
const API = 'https://api.example.com';
const HTU = `${API}/orders`;

/** A compact JWS over exactly these header and payload bytes. */
function jws(header: object, payload: Buffer | object, key: ForgeKey, alg: string, signature?: (input: string) => Buffer): string {
  const h = Buffer.from(jsonText(header)).toString('base64url');
  const p = (Buffer.isBuffer(payload) ? payload : Buffer.from(jsonText(payload))).toString('base64url');
  const input = `${h}.${p}`;
  return `${input}.${(signature ?? ((i) => signInput(alg, key.privateKey, i)))(input).toString('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);
const claims = () => ({
  iss: ISS,
  aud: API,
  sub: 'user-1',
  client_id: 'client-1',
  jti: `j-${Math.random()}`,
  iat: now(),
  exp: now() + 600,
});

/** A PSS signature whose first octet is zero, without it: k − 1 octets (RFC 8017 §8.1.2 step 1 refuses it). */
function shortPss(alg: string, key: ForgeKey): (input: string) => Buffer {
  return (input) => {
    for (;;) {
      const sig = signInput(alg, key.privateKey, input);
      if (sig[0] === 0) return sig.subarray(1);
    }
  };
}

let ec: ForgeKey;
let rsa: ForgeKey;

beforeAll(() => {
  ec = makeForgeKey('ec', 'P-256');
  rsa = makeForgeKey('rsa', 'rsa2048');
});

describe('access tokens (regressions from the differential test)', () => {
  const server = (keys: object[], extra: Partial<ResourceServerOptions> = {}) =>
    new ResourceServer({ issuer: { issuer: ISS, jwks: { keys } }, resource: API, cache: false, logger: false, ...extra });
  const authenticate = (rs: ResourceServer, token: string) =>
    Promise.resolve().then(() => rs.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } }));

  it('refuses a header or payload that is not UTF-8 (RFC 7515 §5.2, RFC 7519 §7.2), where U+FFFD would stand in', async () => {
    const rs = server([{ ...ec.jwk, kid: 'ec' }]);
    const header = { alg: 'ES256', typ: 'at+jwt', kid: 'ec' };
    const text = jsonText(claims());
    const withByte = (b: number[]) => Buffer.concat([Buffer.from(`${text.slice(0, -1)},"name":"a`), Buffer.from(b), Buffer.from('"}')]);
    await expect(authenticate(rs, jws(header, withByte([0xc3, 0xa9]), ec, 'ES256'))).resolves.toBeDefined(); // é, valid UTF-8
    await expect(authenticate(rs, jws(header, withByte([0xff]), ec, 'ES256'))).rejects.toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
    await expect(authenticate(rs, jws(header, withByte([0xed, 0xa0, 0x80]), ec, 'ES256'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_MALFORMED',
    }); // a lone surrogate
  });

  it('does not use a JWK whose key_ops repeats a value or is not all strings (RFC 7517 §4.3)', async () => {
    const token = jws({ alg: 'ES256', typ: 'at+jwt', kid: 'ec' }, claims(), ec, 'ES256');
    for (const ops of [['verify'], ['sign', 'verify']])
      await expect(authenticate(server([{ ...ec.jwk, kid: 'ec', key_ops: ops }]), token)).resolves.toBeDefined();
    for (const ops of [
      ['verify', 'verify'],
      ['verify', 5],
    ]) {
      const rs = server([
        { ...ec.jwk, kid: 'ec', key_ops: ops },
        { ...rsa.jwk, kid: 'rsa' },
      ]);
      await expect(authenticate(rs, token)).rejects.toMatchObject({ code: 'ERR_TOKEN_KEY_NOT_FOUND' });
    }
  });

  it('does not use a published JWK that carries any private member, a lone RSA prime factor included (RFC 7518 §6.3.2)', async () => {
    const token = jws({ alg: 'RS256', typ: 'at+jwt', kid: 'rsa' }, claims(), rsa, 'RS256');
    await expect(authenticate(server([{ ...rsa.jwk, kid: 'rsa' }]), token)).resolves.toBeDefined();
    for (const member of ['q', 'dp', 'qi']) {
      const rs = server([
        { ...rsa.jwk, kid: 'rsa', [member]: (rsa.privateJwk as Record<string, unknown>)[member] },
        { ...ec.jwk, kid: 'ec' },
      ]);
      await expect(authenticate(rs, token)).rejects.toMatchObject({ code: 'ERR_TOKEN_KEY_NOT_FOUND' });
    }
  });

  it('does not verify HS384/HS512 with a 32-byte secret: a key at least as long as the hash output (RFC 7518 §3.2)', async () => {
    const secret = Buffer.alloc(32, 3);
    const rs = server([{ ...ec.jwk, kid: 'ec' }], { issuer: { issuer: ISS, jwks: { keys: [{ ...ec.jwk, kid: 'ec' }] }, secret } });
    const key: ForgeKey = { name: 's', algs: [], privateKey: secret, jwk: undefined, privateJwk: undefined };
    await expect(authenticate(rs, jws({ alg: 'HS256', typ: 'at+jwt' }, claims(), key, 'HS256'))).resolves.toBeDefined();
    for (const alg of ['HS384', 'HS512'])
      await expect(authenticate(rs, jws({ alg, typ: 'at+jwt' }, claims(), key, alg))).rejects.toMatchObject({
        code: 'ERR_TOKEN_KEY_NOT_FOUND',
      });
  });

  it('refuses an RSA-PSS signature one octet short of the modulus (RFC 8017 §8.1.2 step 1), which OpenSSL verifies', async () => {
    const rs = server([{ ...rsa.jwk, kid: 'rsa' }]);
    const header = { alg: 'PS256', typ: 'at+jwt', kid: 'rsa' };
    const body = claims();
    // The same signature, whole: accepted. Without its leading zero octet: the same bytes as a number, refused.
    let whole = '';
    const short = jws(header, body, rsa, 'PS256', (input) => {
      const s = shortPss('PS256', rsa)(input);
      whole = `${input}.${Buffer.concat([Buffer.from([0]), s]).toString('base64url')}`;
      return s;
    });
    await expect(authenticate(rs, whole)).resolves.toBeDefined();
    await expect(authenticate(rs, short)).rejects.toMatchObject({ code: 'ERR_TOKEN_SIGNATURE' });
  });
});

describe('DPoP proofs (regressions from the differential test)', () => {
  let as: ForgeKey;
  let client: ForgeKey;
  let rsaClient: ForgeKey;
  let rs: ResourceServer;

  beforeAll(() => {
    as = makeForgeKey('as', 'P-256');
    client = makeForgeKey('client', 'P-256');
    rsaClient = makeForgeKey('rsa-client', 'rsa2048');
    rs = new ResourceServer({
      issuer: { issuer: ISS, jwks: { keys: [{ ...as.jwk, kid: 'as' }] } },
      resource: API,
      dpop: { baseUrl: API },
      cache: false,
      logger: false,
    });
  });

  /** A token bound to `key`, and a proof for GET /orders made with it; `header` and `payload` override members. */
  async function attempt(
    o: {
      key?: ForgeKey;
      alg?: string;
      header?: Record<string, unknown>;
      payload?: Record<string, unknown>;
      signature?: (input: string) => Buffer;
    } = {},
  ) {
    const key = o.key ?? client;
    const alg = o.alg ?? 'ES256';
    const token = jws(
      { alg: 'ES256', typ: 'at+jwt', kid: 'as' },
      { ...claims(), cnf: { jkt: await calculateJwkThumbprint(key.jwk as JWK) } },
      as,
      'ES256',
    );
    const ath = createHash('sha256').update(token).digest('base64url');
    const proof = jws(
      { typ: 'dpop+jwt', alg, jwk: key.jwk, ...o.header },
      { jti: `p-${Math.random()}`, htm: 'GET', htu: HTU, iat: now(), ath, ...o.payload },
      key,
      alg,
      o.signature,
    );
    return Promise.resolve().then(() =>
      rs.authenticate({ method: 'GET', url: '/orders', headers: { authorization: `DPoP ${token}`, dpop: proof } }),
    );
  }
  /** Refused as an invalid proof, for the reason named (not some other check failing first). */
  const refused = (why: RegExp) => ({ code: 'ERR_DPOP_PROOF', message: expect.stringMatching(why) });

  it('reads typ as a media type: application/dpop+jwt and DPoP+JWT are dpop+jwt (RFC 7515 §4.1.9)', async () => {
    for (const typ of ['dpop+jwt', 'application/dpop+jwt', 'DPoP+JWT', 'Application/DPoP+JWT'])
      await expect(attempt({ header: { typ } })).resolves.toBeDefined();
    for (const typ of ['jwt', 'application/jwt', 'x/dpop+jwt', 'dpop+jwt '])
      await expect(attempt({ header: { typ } })).rejects.toMatchObject(refused(/typ/));
  });

  it('refuses a proof jwk whose own use, key_ops or alg rule out this signature (RFC 7517 §4.2-4.4)', async () => {
    for (const extra of [{ use: 'sig' }, { key_ops: ['verify'] }, { key_ops: ['sign', 'verify'] }, { alg: 'ES256' }]) {
      await expect(attempt({ header: { jwk: { ...client.jwk, ...extra } } })).resolves.toBeDefined();
    }
    for (const extra of [
      { use: 'enc' },
      { key_ops: ['sign'] },
      { key_ops: ['verify', 'verify'] },
      { key_ops: 'verify' },
      { alg: 'ES384' },
      { alg: 256 },
    ]) {
      await expect(attempt({ header: { jwk: { ...client.jwk, ...extra } } })).rejects.toMatchObject(
        refused(/jwk is not for this signature/),
      );
    }
  });

  it('refuses a proof jwk that carries a lone RSA prime factor (RFC 9449 §4.3 check 7: no private key)', async () => {
    await expect(attempt({ key: rsaClient, alg: 'RS256' })).resolves.toBeDefined();
    const q = (rsaClient.privateJwk as Record<string, unknown>).q;
    await expect(attempt({ key: rsaClient, alg: 'RS256', header: { jwk: { ...rsaClient.jwk, q } } })).rejects.toMatchObject(
      refused(/private key/),
    );
  });

  it("honours a proof's exp and nbf when present (RFC 7519 §4.1.4, §4.1.5; a proof is a JWT, RFC 9449 §4.2)", async () => {
    for (const payload of [{ exp: now() + 60 }, { exp: now() - 1 }, { nbf: now() }])
      await expect(attempt({ payload })).resolves.toBeDefined(); // within the 5 s leeway
    for (const payload of [{ exp: now() - 30 }, { exp: String(now() + 60) }, { exp: null }, { nbf: now() + 30 }, { nbf: 'soon' }]) {
      await expect(attempt({ payload })).rejects.toMatchObject(refused(/expired or not valid yet/));
    }
  });

  it('refuses an htu with userinfo rather than dropping it (RFC 9110 §4.2.4)', async () => {
    await expect(attempt({ payload: { htu: 'https://user@api.example.com/orders' } })).rejects.toMatchObject(refused(/htu/));
    await expect(attempt({ payload: { htu: 'https://user:pw@api.example.com/orders' } })).rejects.toMatchObject(refused(/htu/));
  });

  it('refuses an RSA-PSS proof signature one octet short of the modulus (RFC 8017 §8.1.2 step 1)', async () => {
    await expect(attempt({ key: rsaClient, alg: 'PS256' })).resolves.toBeDefined();
    await expect(attempt({ key: rsaClient, alg: 'PS256', signature: shortPss('PS256', rsaClient) })).rejects.toMatchObject(
      refused(/signature is invalid/),
    );
  });
});
