/**
 * A server-less test issuer: a key pair, its public JWK Set for the resource server's `jwks` option, and
 * `signTestToken()` for RFC 9068 access tokens. For unit tests that need no authorization server at all.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import type { CryptoKey, JWK } from '../token/keys.js';

/** A test issuer. */
export interface TestIssuer {
  /** The issuer identifier. */
  readonly issuer: string;
  /** The public keys, as a JWK Set. */
  readonly jwks: { keys: JWK[] };
  /** What to pass as the resource server's `issuer` option (`{ issuer, jwks }`). */
  readonly trustedIssuer: { issuer: string; jwks: { keys: JWK[] } };
  /** @internal */
  readonly privateKey: CryptoKey;
  /** @internal */
  readonly kid: string;
  /** @internal */
  readonly alg: string;
}

/** Options of {@link signTestToken}. */
export interface TestTokenOptions {
  /** The `aud` (this resource's identifier). */
  audience: string | string[];
  /** Space-delimited scopes. */
  scope?: string;
  /** Claims to add or override; `undefined` removes one. */
  claims?: Record<string, unknown>;
  /** Header members to add or override (default `{ alg, typ: 'at+jwt', kid }`). */
  header?: Record<string, unknown>;
  /** Lifetime in seconds (default 300). */
  expiresIn?: number;
}

/** Create a test issuer (default `https://issuer.test`, RS256). */
export async function createTestIssuer(
  options: { issuer?: string; alg?: 'RS256' | 'ES256' | 'PS256' | 'EdDSA' } = {},
): Promise<TestIssuer> {
  const alg = options.alg ?? 'RS256';
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }] };
  const issuer = options.issuer ?? 'https://issuer.test';
  return { issuer, jwks, trustedIssuer: { issuer, jwks }, privateKey, kid, alg };
}

/** Sign an RFC 9068 access token (valid unless the options make it otherwise) with a test issuer's key. */
export async function signTestToken(testIssuer: TestIssuer, options: TestTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: testIssuer.issuer,
    sub: 'test-user',
    aud: options.audience,
    client_id: 'test-client',
    iat: now,
    exp: now + (options.expiresIn ?? 300),
    jti: randomBytes(12).toString('base64url'),
    ...(options.scope !== undefined ? { scope: options.scope } : {}),
    ...options.claims,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: testIssuer.alg, typ: 'at+jwt', kid: testIssuer.kid, ...options.header } as { alg: string })
    .sign(testIssuer.privateKey);
}
