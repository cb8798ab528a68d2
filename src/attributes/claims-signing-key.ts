/**
 * The key that signs an attribute provider's claims JWTs: checked and prepared once (imported, its public part
 * and `kid` derived, a probe signature made), so that a key that does not fit fails at start-up.
 */
import { SignJWT, calculateJwkThumbprint, exportJWK, importJWK } from 'jose';
import type { CryptoKey, JWK, KeyObject } from '../token/keys.js';
import { ConfigurationError } from '../answers/errors.js';

/** The key that signs claims JWTs. Its public part is served as the provider's JWKS. */
export interface ClaimsSigningKey {
  /** The private key: a WebCrypto key, a Node `KeyObject`, or a private JWK. */
  key: CryptoKey | KeyObject | JWK;
  /** The JWS algorithm (asymmetric only: `ES256`, `RS256`, `PS256`, `EdDSA`...). */
  alg: string;
  /** The `kid`. Default: the key's own `kid`, else its RFC 7638 thumbprint. */
  kid?: string;
  /** The public key as a JWK. Default: derived from `key` (which must then be extractable). */
  publicJwk?: JWK;
}

/** A signing key ready to use: the key itself and its public JWK (with `kid`, `alg`, `use`). */
export interface PreparedKey {
  key: CryptoKey | KeyObject;
  publicJwk: JWK;
}

/** JWK members of private or secret keys (RFC 7518 §6, RFC 8037, AKP). */
export const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];

/** A JWK without its private or secret members (and without `key_ops`, `ext`): what may be published. */
export function publicPart(jwk: JWK): JWK {
  const out: Record<string, unknown> = { ...jwk };
  for (const m of [...SECRET_MEMBERS, 'key_ops', 'ext']) delete out[m];
  return out as JWK;
}

const isJwk = (k: unknown): k is JWK => typeof k === 'object' && k !== null && typeof (k as JWK).kty === 'string';

/** Import, describe and probe the signing key; a key that cannot sign with its `alg` rejects with ConfigurationError. */
export async function prepareKey(signingKey: ClaimsSigningKey): Promise<PreparedKey> {
  const { alg } = signingKey;
  try {
    const key = isJwk(signingKey.key) ? await importJWK(signingKey.key, alg) : signingKey.key;
    if (key instanceof Uint8Array) throw new Error('a symmetric key');
    const pub = publicPart(signingKey.publicJwk ?? (isJwk(signingKey.key) ? signingKey.key : await exportJWK(signingKey.key)));
    if (pub.kty === 'oct') throw new Error('a symmetric key');
    const kid = signingKey.kid ?? pub.kid ?? (await calculateJwkThumbprint(pub));
    // A probe signature: a key that does not fit the algorithm fails here, at start-up, not on a request.
    await new SignJWT({}).setProtectedHeader({ alg }).sign(key);
    return { key, publicJwk: { ...pub, kid, alg, use: 'sig' } };
  } catch (err) {
    throw new ConfigurationError(
      `the claims signing key cannot be used with ${alg} (${err instanceof Error ? err.message : String(err)}); ` +
        'pass an extractable private key or its publicJwk',
      { cause: err },
    );
  }
}
