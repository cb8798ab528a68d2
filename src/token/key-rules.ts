/**
 * Which public keys may verify signatures, and which algorithm each may serve: one rule set for the
 * authorization server's keys (a JWKS, where a refused key is dropped) and for DPoP proof keys (RFC 9449
 * §4.3 check 6; a refused key is an `invalid_dpop_proof`). Checked when a key is imported, before any
 * signature is: a proof key is the client's choice, and some keys are weak or cost far more than a normal
 * verify.
 */
import type { KeyObject } from 'node:crypto';
import type { JwsAlgorithm, VerificationKey } from './jws-algorithms.js';

/** RFC 7518 §3.3: RSA keys of 2048 bits or more. */
const RSA_MIN_BITS = 2048;
/**
 * The largest RSA modulus: one verify grows with the square of it. Measured here (node 20, one core): an
 * RS256 verify costs 25 µs at 2048 bits, 64 µs at 4096 (an ES256 verify: 59 µs, Ed25519: 76 µs) and 226 µs
 * at 8192. 4096 admits every key size in common use and keeps any key's verify as cheap as the curves'.
 */
const RSA_MAX_BITS = 4096;
/**
 * RSA public exponents: odd (an even one is no RSA key), above 2^16 (FIPS 186-5 §5.4: 65537 is the usual
 * one) and below 2^32, so a verify is at most 32 squarings. A huge exponent (a 3072-bit one is legal under a
 * 3072-bit modulus) makes one verify cost about 60 normal ones: CPU spent at the sender's choice.
 */
const RSA_MIN_EXPONENT = 2n ** 16n;
const RSA_MAX_EXPONENT = 2n ** 32n;

/** The curve each ECDSA algorithm is defined on (RFC 7518 §3.4): P-256, P-384, P-521, and only those. */
const EC_CURVE: Readonly<Record<string, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const EC_CURVES = new Set(Object.values(EC_CURVE));

/** Why a public key may verify no signature at all (a fixed text, safe to show), or undefined when it may. */
export function keyRuleViolation(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      const bits = details.modulusLength ?? 0;
      if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) return `an RSA key must have ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`;
      const e = details.publicExponent ?? 0n;
      if (e % 2n === 0n || e <= RSA_MIN_EXPONENT || e >= RSA_MAX_EXPONENT)
        return 'an RSA public exponent must be odd, above 2^16 and below 2^32';
      return undefined;
    }
    case 'ec':
      return EC_CURVES.has(details.namedCurve ?? '') ? undefined : 'an EC key must be on P-256, P-384 or P-521';
    case 'ed25519':
    case 'ed448':
      return undefined;
    default:
      return 'the key type cannot verify JWS signatures';
  }
}

/**
 * Whether a key may verify `alg`: its type, its curve (each ECDSA algorithm on its own curve, RFC 7518
 * §3.4; `Ed25519` on Ed25519 only, RFC 9864), and the JWK's own `alg` when it pins one.
 */
export function keyFits(candidate: VerificationKey, alg: JwsAlgorithm): boolean {
  if (candidate.alg !== undefined && candidate.alg !== alg) return false;
  const key = candidate.key;
  // RFC 7518 §3.2: an HMAC key at least as long as the hash output.
  if (alg.startsWith('HS')) return key.type === 'secret' && (key.symmetricKeySize ?? 0) >= Number(alg.slice(2)) / 8;
  if (key.type !== 'public') return false;
  const type = key.asymmetricKeyType;
  switch (alg[0]) {
    case 'R':
      return type === 'rsa';
    case 'P':
      return type === 'rsa' || type === 'rsa-pss';
    case 'E':
      if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448';
      if (alg === 'Ed25519') return type === 'ed25519';
      return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVE[alg];
    default:
      return false;
  }
}
