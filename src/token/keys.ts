/**
 * The key types of the public API. They are the kit's own (and Node's), not jose's: jose is an ES-module-only
 * package, and a CommonJS consumer's TypeScript (module node16/nodenext) refuses declarations that import its
 * types (TS1479, TS1541). jose's keys are these same WebCrypto `CryptoKey`s and Node `KeyObject`s, and its JWKs
 * fit {@link JWK}.
 */
import type { KeyObject, webcrypto } from 'node:crypto';

/** A WebCrypto key (`crypto.subtle.generateKey`, `importKey`; jose's `generateKeyPair`, `importJWK`). */
export type CryptoKey = webcrypto.CryptoKey;

/** A Node.js key (`crypto.createPrivateKey`, `createPublicKey`, `createSecretKey`). */
export type { KeyObject };

/** A JSON Web Key (RFC 7517 §4; key members of RFC 7518 §6 and RFC 8037), public or private. */
export interface JWK {
  /** Key type (`RSA`, `EC`, `OKP`, `oct`, ...). */
  kty?: string;
  /** Key id. */
  kid?: string;
  /** The algorithm the key is meant for. */
  alg?: string;
  /** Public key use (`sig`, `enc`). */
  use?: string;
  /** Key operations. */
  key_ops?: string[];
  /** Curve (EC, OKP). */
  crv?: string;
  /** Public coordinates (EC, OKP). */
  x?: string;
  y?: string;
  /** RSA modulus and exponent. */
  n?: string;
  e?: string;
  /** Private members (RSA, EC, OKP). */
  d?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
  /** Symmetric key value (oct). */
  k?: string;
  /** X.509 certificate chain, thumbprints and URL. */
  x5c?: string[];
  x5t?: string;
  'x5t#S256'?: string;
  x5u?: string;
  /** Extractable (WebCrypto). */
  ext?: boolean;
  /** Other members (RFC 7517 §4: unknown members are ignored). */
  [member: string]: unknown;
}
