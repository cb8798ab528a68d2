/**
 * In-process DPoP requests without an HTTP server or a real AS: an issuer with one static ES256 key, tokens
 * bound to a proof key (`cnf.jkt`), proofs signed by any signer, and ResourceServer.authenticate() for
 * GET /orders. Proofs take `iat` from Date.now(), so a test that moves the clock moves them too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { ResourceServer, type Authenticated, type ResourceServerOptions } from '../../src/index.js';
import type { DpopOptions } from '../../src/sender/dpop.js';
import { compactJws } from './odd-keys.js';

export const ISSUER = 'https://as.example.com';
export const API = 'https://api.example.com';
export const HTU = `${API}/orders`;

export interface DpopFixture {
  /** The issuer's public JWK (for a JWKS of one's own). */
  asJwk: JWK;
  /** A resource server trusting the issuer (plus `extraKeys` in its JWKS), with DPoP on. */
  server(dpop?: DpopOptions, extra?: Partial<ResourceServerOptions>, extraKeys?: object[]): ResourceServer;
  /** An access token for GET /orders bound to the proof key `jkt`. */
  accessToken(jkt: string): Promise<string>;
}

export async function dpopFixture(): Promise<DpopFixture> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const asJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'as', alg: 'ES256' };
  return {
    asJwk,
    server: (dpop = {}, extra = {}, extraKeys = []) =>
      new ResourceServer({
        issuer: { issuer: ISSUER, jwks: { keys: [asJwk, ...extraKeys] } },
        resource: API,
        dpop: { baseUrl: API, ...dpop },
        logger: false,
        ...extra,
      }),
    accessToken: (jkt) => signAccessToken(privateKey, jkt),
  };
}

function signAccessToken(key: CryptoKey, jkt: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    sub: 'user-1',
    aud: API,
    client_id: 'c',
    iat: now,
    exp: now + 3600,
    jti: randomBytes(8).toString('hex'),
    scope: 'read:orders',
    cnf: { jkt },
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'as' })
    .sign(key);
}

/** A proof for GET /orders with `alg` and `jwk` in its header, signed by `signer`. */
export function proofFor(
  token: string,
  alg: string,
  jwk: object,
  signer: (data: Buffer) => Buffer,
  jti = randomBytes(12).toString('base64url'),
): string {
  const payload = {
    htm: 'GET',
    htu: HTU,
    iat: Math.floor(Date.now() / 1000),
    jti,
    ath: createHash('sha256').update(token).digest('base64url'),
  };
  return compactJws({ typ: 'dpop+jwt', alg, jwk }, payload, signer);
}

/** Authenticate GET /orders with a DPoP token and proof; always a promise. */
export function authenticate(rs: ResourceServer, token: string, proof: string): Promise<Authenticated> {
  return Promise.resolve().then(
    () =>
      rs.authenticate({ method: 'GET', url: '/orders', headers: { authorization: `DPoP ${token}`, dpop: proof } }) as
        Authenticated | Promise<Authenticated>,
  );
}
