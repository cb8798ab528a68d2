/**
 * The JWS algorithms the kit can verify, and what a verification key is: a leaf module (types and constants,
 * no imports of the kit's own), so the signature code and the key rules can both use them without a cycle.
 */
import type { KeyObject } from 'node:crypto';

/** Asymmetric JWS algorithms (RFC 7518 §3, RFC 8037, RFC 9864 `Ed25519`). */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
/** HMAC algorithms, used only with an explicitly configured secret. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

/** A JWS algorithm the kit can verify. */
export type JwsAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number] | (typeof HMAC_ALGORITHMS)[number];

const ALL = new Set<string>([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS]);

/** Whether `alg` names an algorithm this kit implements. */
export function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === 'string' && ALL.has(alg);
}

/** A verification key with what decides which algorithms it may serve. */
export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK `alg`, when the key set pins one. */
  readonly alg: string | undefined;
  readonly key: KeyObject;
}
