/**
 * JWS signature checks on node:crypto KeyObjects. This is the per-request hot path: node:crypto's
 * one-shot verify costs about a quarter of jose's WebCrypto path here, so jose
 * serves everywhere else (minting, thumbprints, signed responses) and this file serves the hot path.
 * Only the algorithms below exist; `none` is not one of them (RFC 8725 §3.1, RFC 9068 §4).
 */
import { createHmac, createPublicKey, createSecretKey, timingSafeEqual, verify, constants, type KeyObject } from 'node:crypto';
import { keyFits, keyRuleViolation } from './key-rules.js';

export { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, isJwsAlgorithm, type JwsAlgorithm, type VerificationKey } from './jws-algorithms.js';
import { ASYMMETRIC_ALGORITHMS, type JwsAlgorithm, type VerificationKey } from './jws-algorithms.js';

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Verify a JWS signature. `data` is the ASCII signing input (header.payload). */
export function verifySignature(alg: JwsAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    if (alg === 'EdDSA' || alg === 'Ed25519') return verify(null, data, key, signature);
    const hash = HASH[alg.slice(2)]!;
    // RFC 8017 §8.1.2, §8.2.2 step 1: an RSA signature is exactly k octets. OpenSSL also takes a PSS signature
    // without its leading zero octet, which would give one signature a second encoding.
    if ((alg[0] === 'R' || alg[0] === 'P') && signature.length !== ((key.asymmetricKeyDetails?.modulusLength ?? 0) + 7) >> 3) return false;
    switch (alg[0]) {
      case 'R':
        return verify(hash, data, key, signature);
      case 'P':
        return verify(
          hash,
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          signature,
        );
      case 'E':
        return verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'H': {
        const mac = createHmac(hash, key).update(data).digest();
        // Constant-time comparison of the MAC (lengths are public: the algorithm fixes them).
        return mac.length === signature.length && timingSafeEqual(mac, signature);
      }
      default:
        return false;
    }
  } catch {
    return false; // malformed signature encodings are a failed check, never an exception
  }
}

/** A JSON Web Key as published in a JWKS (only what is read). */
export interface PublicJwk {
  kty?: unknown;
  kid?: unknown;
  alg?: unknown;
  use?: unknown;
  key_ops?: unknown;
  d?: unknown;
  [member: string]: unknown;
}

/** RFC 7518 §6.2.2, §6.3.2, §6.4.1: members of a private or symmetric key (one prime factor is the whole RSA key). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Whether a JWK carries any private-key material. */
export function hasPrivateMembers(jwk: PublicJwk): boolean {
  return PRIVATE_MEMBERS.some((m) => jwk[m] !== undefined);
}

/**
 * Whether a JWK's own `use` and `key_ops` let it verify signatures (RFC 7517 §4.2, §4.3: `key_ops` is an
 * array of unique strings). Absent members allow.
 */
export function jwkMayVerify(jwk: PublicJwk): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  const ops = jwk.key_ops;
  if (ops === undefined) return true;
  return Array.isArray(ops) && ops.includes('verify') && ops.every((o) => typeof o === 'string') && new Set(ops).size === ops.length;
}

/**
 * Import a published JWK as a verification key, or undefined when it cannot serve signatures: not a
 * signing key, a private key (never trusted from a JWKS), malformed, refused by the key rules (key-rules.ts:
 * RSA size and exponent, curves), or pinned to an `alg` it cannot serve.
 */
export function importPublicJwk(jwk: PublicJwk): VerificationKey | undefined {
  if (jwk === null || typeof jwk !== 'object') return undefined;
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') return undefined;
  if (!jwkMayVerify(jwk) || hasPrivateMembers(jwk)) return undefined;
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return undefined;
  if (jwk.alg !== undefined && !ASYMMETRIC_ALGORITHMS.includes(jwk.alg as never)) return undefined;
  try {
    const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    if (keyRuleViolation(key) !== undefined) return undefined;
    const k: VerificationKey = { kid: jwk.kid as string | undefined, alg: jwk.alg as string | undefined, key };
    return k.alg === undefined || keyFits(k, k.alg as JwsAlgorithm) ? k : undefined;
  } catch {
    return undefined;
  }
}

/** A configured HMAC secret as a key (RFC 7518 §3.2: at least as long as the hash output). */
export function importSecret(secret: string | Uint8Array): VerificationKey {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  return { kid: undefined, alg: undefined, key: createSecretKey(bytes) };
}
