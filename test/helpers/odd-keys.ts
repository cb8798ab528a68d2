/**
 * Keys that ordinary libraries refuse to make or to sign with, for the key-rule tests: RSA keys with small
 * moduli or chosen public exponents (huge, small, even), a made-up oversized modulus, and a compact-JWS
 * signer for them. The RSA arithmetic is plain BigInt (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 §8.2).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface RsaTestKey {
  /** The public JWK (`kty`, `n`, `e`). */
  jwk: { kty: 'RSA'; n: string; e: string };
  /** The RFC 7638 thumbprint (a token's `cnf.jkt`). */
  jkt: string;
  /** An RS256 signature over `data`; random bytes when the key has no private exponent (an even `e`). */
  sign(data: Buffer): Buffer;
}

const toBig = (b64u: string) => BigInt(`0x${Buffer.from(b64u, 'base64url').toString('hex') || '0'}`);
function toB64u(x: bigint, bytes?: number): string {
  let hex = x.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const buf = Buffer.from(hex, 'hex');
  return (bytes && buf.length < bytes ? Buffer.concat([Buffer.alloc(bytes - buf.length), buf]) : buf).toString('base64url');
}
function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}
function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}
/** A random odd number of exactly `bits` bits. */
function randomOdd(bits: number): bigint {
  const x = toBig(randomBytes(Math.ceil(bits / 8)).toString('base64url')) & ((1n << BigInt(bits)) - 1n);
  return x | (1n << BigInt(bits - 1)) | 1n;
}

export const thumbprint = (jwk: { n: string; e: string }) =>
  createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }))
    .digest('base64url');

/** SHA-256 DigestInfo prefix (RFC 8017 §9.2 note 1). */
const SHA256_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * An RSA key of `bits` bits with public exponent `e`: `'huge'` for a random one just under the modulus,
 * a number for that exponent (65537 by default). Real primes, so a valid `e` gives valid signatures.
 */
export function rsaTestKey(bits: number, e: bigint | 'huge' = 65537n): RsaTestKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const priv = privateKey.export({ format: 'jwk' });
  const [n, p, q] = [toBig(priv.n!), toBig(priv.p!), toBig(priv.q!)];
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  let exponent = e === 'huge' ? randomOdd(bits - 8) : e;
  if (e === 'huge') while (gcd(exponent, lambda) !== 1n) exponent += 2n;
  const d = gcd(exponent, lambda) === 1n ? inverse(exponent, lambda) : undefined;
  const k = Math.ceil(bits / 8);
  const jwk = { kty: 'RSA' as const, n: toB64u(n), e: toB64u(exponent) };
  return {
    jwk,
    jkt: thumbprint(jwk),
    sign(data) {
      if (d === undefined) return randomBytes(k);
      const t = Buffer.concat([SHA256_PREFIX, createHash('sha256').update(data).digest()]);
      const em = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(k - t.length - 3, 0xff), Buffer.from([0]), t]);
      return Buffer.from(toB64u(modPow(toBig(em.toString('base64url')), d, n), k), 'base64url');
    },
  };
}

/** A public RSA JWK with a made-up odd modulus of `bits` bits (importable; no signature will ever verify). */
export function fakeRsaJwk(bits: number): { kty: 'RSA'; n: string; e: string } {
  return { kty: 'RSA', n: toB64u(randomOdd(bits)), e: 'AQAB' };
}

/** A compact JWS over `header` and `payload`, signed by `signer`. */
export function compactJws(header: Record<string, unknown>, payload: Record<string, unknown>, signer: (data: Buffer) => Buffer): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`;
}

/** An ECDSA signer in JWS form (IEEE P1363) with `hash`, whatever the key's curve. */
export const ecSigner = (key: KeyObject, hash: string) => (data: Buffer) => sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
