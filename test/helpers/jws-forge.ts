/**
 * Forging compact JWSs byte by byte for the differential tests: JSON text with duplicate members and raw
 * number literals, segment encodings (BOM, padding, non-canonical bits, invalid UTF-8), signature
 * encodings (DER, high-S, extra or missing bytes) and the strict decoding the oracles add on top of jose.
 * Signing uses node:crypto directly so that any signing input can be signed, canonical or not; jose alone
 * judges whether the result verifies.
 */
import { createHmac, generateKeyPairSync, sign, constants, type JsonWebKey, type KeyObject } from 'node:crypto';
import { expect } from '@jest/globals';
import fc from 'fast-check';
import { ResourceServerError } from '../../src/index.js';

/** A member value written literally into the JSON text (`1e999`, `-0`, `1.0`). */
export interface RawJson {
  readonly raw: string;
}
export const raw = (text: string): RawJson => ({ raw: text });

/** A JSON object written member by member, in order: duplicates stay duplicates, `undefined` is left out. */
export type Members = ReadonlyArray<readonly [string, unknown]>;

export function jsonText(value: Members | RawJson | unknown): string {
  if (value && typeof value === 'object' && 'raw' in value) return (value as RawJson).raw;
  if (Array.isArray(value) && value.every((m) => Array.isArray(m) && m.length === 2 && typeof m[0] === 'string')) {
    const parts = (value as Members).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** How a header or payload segment is encoded. */
export type SegmentEncoding =
  'plain' | 'bom' | 'whitespace' | 'padded' | 'non-canonical' | 'invalid-utf8' | 'surrogate-utf8' | 'standard-alphabet';

// Whitespace around the JSON and non-zero unused bits in a header or payload segment are valid: the signing
// input is the segment as sent, so they cannot lend one signature to another token.
export const VALID_ENCODING = fc.constantFrom<SegmentEncoding>('plain', 'plain', 'plain', 'whitespace', 'non-canonical');
export const ODD_ENCODING = fc.constantFrom<SegmentEncoding>('bom', 'padded', 'invalid-utf8', 'surrogate-utf8', 'standard-alphabet');

/** Flip the unused low bits of the last base64url character, when the encoding has any. */
function nonCanonical(s: string): string {
  // Lengths 2 and 3 mod 4 leave 4 and 2 unused low bits in the last character; 0 mod 4 leaves none.
  if (s.length % 4 === 0) return s;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(s[s.length - 1]!);
  return s.slice(0, -1) + alphabet[last ^ 1]!;
}

const padded = (s: string) => s + '='.repeat((4 - (s.length % 4)) % 4);

/** Encode a JSON text as a segment. */
export function encodeSegment(text: string, how: SegmentEncoding): string {
  let bytes = Buffer.from(text, 'utf8');
  if (how === 'bom') bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
  if (how === 'whitespace') bytes = Buffer.from(` ${text}\n`, 'utf8');
  if (how === 'invalid-utf8' || how === 'surrogate-utf8') {
    // A string member holding a byte sequence that is not UTF-8: a lone 0xFF, or an encoded lone surrogate.
    const bad = how === 'invalid-utf8' ? [0xff] : [0xed, 0xa0, 0x80];
    const open = text.startsWith('{') && text.length > 2 ? Buffer.from(`{"x":"`) : undefined;
    bytes = open
      ? Buffer.concat([open, Buffer.from(bad), Buffer.from('",'), Buffer.from(text.slice(1), 'utf8')])
      : Buffer.concat([bytes, Buffer.from(bad)]);
  }
  const s = bytes.toString('base64url');
  if (how === 'padded') return padded(s);
  if (how === 'non-canonical') return nonCanonical(s);
  if (how === 'standard-alphabet') return s.replace(/-/g, '+').replace(/_/g, '/');
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Keys and signing

/** A key pair (or secret) the tests sign with. */
export interface ForgeKey {
  readonly name: string;
  /** The algorithms this key can make valid signatures for. */
  readonly algs: readonly string[];
  readonly privateKey: KeyObject | Buffer;
  /** The public JWK (asymmetric keys only). */
  readonly jwk: JsonWebKey | undefined;
  /** The private JWK (asymmetric keys only). */
  readonly privateJwk: JsonWebKey | undefined;
}

export type KeyKind = 'rsa2048' | 'rsa1024' | 'P-256' | 'P-384' | 'P-521' | 'ed25519';

export function makeForgeKey(name: string, kind: KeyKind): ForgeKey {
  const pair =
    kind === 'rsa2048' || kind === 'rsa1024'
      ? generateKeyPairSync('rsa', { modulusLength: kind === 'rsa2048' ? 2048 : 1024 })
      : kind === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: kind });
  const algs =
    kind === 'rsa2048' || kind === 'rsa1024'
      ? ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'].slice(0, kind === 'rsa2048' ? 6 : 5) // PS512 needs more than 1024 bits
      : kind === 'ed25519'
        ? ['EdDSA', 'Ed25519']
        : [{ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[kind]];
  return {
    name,
    algs,
    privateKey: pair.privateKey,
    jwk: pair.publicKey.export({ format: 'jwk' }),
    privateJwk: pair.privateKey.export({ format: 'jwk' }),
  };
}

export function makeSecret(name: string, bytes: Buffer): ForgeKey {
  return { name, algs: ['HS256', 'HS384', 'HS512'], privateKey: bytes, jwk: undefined, privateJwk: undefined };
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Sign `input` with `alg`; `pssSalt` overrides RFC 7518 §3.5's salt length (hash size) to make a bad PSS signature. */
export function signInput(alg: string, key: KeyObject | Buffer, input: string, pssSalt?: number): Buffer {
  const data = Buffer.from(input, 'latin1');
  if (alg === 'EdDSA' || alg === 'Ed25519') return sign(null, data, key as KeyObject);
  const hash = HASH[alg.slice(2)]!;
  if (alg.startsWith('HS'))
    return createHmac(hash, key as Buffer)
      .update(data)
      .digest();
  if (alg.startsWith('RS')) return sign(hash, data, key as KeyObject);
  if (alg.startsWith('PS'))
    return sign(hash, data, {
      key: key as KeyObject,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: pssSalt ?? constants.RSA_PSS_SALTLEN_DIGEST,
    });
  return sign(hash, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
}

// ---------------------------------------------------------------------------------------------------------
// Signature encodings

export const SIGNATURE_MUTATIONS = [
  'padded',
  'standard-alphabet',
  'non-canonical',
  'space',
  'der',
  'high-s',
  'append-byte',
  'prepend-zero',
  'drop-first',
  'drop-last',
  'flip-bit',
  'empty',
  'zeros',
  'pss-salt-0',
  'pss-short',
] as const;
export type SignatureMutation = 'none' | (typeof SIGNATURE_MUTATIONS)[number];

/** High-S ECDSA signatures are valid for every verifier here (RFC 7518 §3.4 does not ask for low S). */
export const VALID_SIGNATURE = fc.constantFrom<SignatureMutation>('none', 'none', 'none', 'high-s');
export const ODD_SIGNATURE = fc.constantFrom<SignatureMutation>(...SIGNATURE_MUTATIONS);

const ORDER: Record<string, bigint> = {
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  ES384: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  ES512:
    0x01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

const toBig = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
const fromBig = (n: bigint, len: number) => Buffer.from(n.toString(16).padStart(len * 2, '0'), 'hex');

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = fromBig(BigInt(n), n > 0xff ? 2 : 1);
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
}

function derInteger(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02]), derLength(v.length), v]);
}

/** An IEEE P1363 (r || s) ECDSA signature as ASN.1 DER, the form RFC 7518 §3.4 rules out. */
export function p1363ToDer(sig: Buffer): Buffer {
  const half = sig.length / 2;
  const body = Buffer.concat([derInteger(sig.subarray(0, half)), derInteger(sig.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** The other valid ECDSA signature for the same message: (r, n − s). */
export function highS(alg: string, sig: Buffer): Buffer {
  const half = sig.length / 2;
  const s = toBig(sig.subarray(half));
  return Buffer.concat([sig.subarray(0, half), fromBig(ORDER[alg]! - s, half)]);
}

/**
 * A PSS signature (randomised) whose first octet is zero, without that octet: k − 1 octets that OpenSSL
 * verifies and RFC 8017 §8.1.2 step 1 refuses. About one signature in 256 starts with zero.
 */
function shortPss(resign: (pssSalt?: number) => Buffer): Buffer {
  for (let i = 0; i < 4096; i++) {
    const sig = resign();
    if (sig[0] === 0) return sig.subarray(1);
  }
  throw new Error('no PSS signature with a leading zero octet in 4096 tries');
}

/**
 * The signature segment for a signature under a mutation. `resign` signs again (PSS: with a new salt, or a
 * salt of the given length) for mutations that need a new signature; mutations that do not apply to `alg`
 * leave the signature as is.
 */
export function encodeSignature(alg: string, sig: Buffer, how: SignatureMutation, resign: (pssSalt?: number) => Buffer): string {
  const ecdsa = alg in ORDER && sig.length > 0;
  switch (how) {
    case 'padded':
      return padded(sig.toString('base64url'));
    case 'standard-alphabet':
      return sig.toString('base64');
    case 'non-canonical':
      return nonCanonical(sig.toString('base64url'));
    case 'space': {
      const s = sig.toString('base64url');
      return `${s.slice(0, 8)} ${s.slice(8)}`;
    }
    case 'der':
      return (ecdsa ? p1363ToDer(sig) : sig).toString('base64url');
    case 'high-s':
      return (ecdsa ? highS(alg, sig) : sig).toString('base64url');
    case 'append-byte':
      return Buffer.concat([sig, Buffer.from([0])]).toString('base64url');
    case 'prepend-zero':
      return Buffer.concat([Buffer.from([0]), sig]).toString('base64url');
    case 'drop-first':
      return sig.subarray(1).toString('base64url');
    case 'drop-last':
      return sig.subarray(0, -1).toString('base64url');
    case 'flip-bit': {
      const c = Buffer.from(sig);
      if (c.length) c[c.length >> 1]! ^= 0x10;
      return c.toString('base64url');
    }
    case 'empty':
      return '';
    case 'zeros':
      return Buffer.alloc(sig.length).toString('base64url');
    case 'pss-salt-0':
      return (alg.startsWith('PS') ? resign(0) : sig).toString('base64url');
    case 'pss-short':
      return (alg.startsWith('PS') ? shortPss(resign) : sig).toString('base64url');
    default:
      return sig.toString('base64url');
  }
}

/** What a compact JWS looks like apart from its three segments. */
export const STRUCTURE_MUTATIONS = [
  'two-segments',
  'four-segments',
  'five-segments',
  'trailing-dot',
  'leading-dot',
  'empty-payload',
] as const;
export type StructureMutation = 'none' | (typeof STRUCTURE_MUTATIONS)[number];

export function assemble(h: string, p: string, s: string, how: StructureMutation): string {
  switch (how) {
    case 'two-segments':
      return `${h}.${p}`;
    case 'four-segments':
      return `${h}.${p}.${s}.${s}`;
    case 'five-segments':
      return `${h}.${p}.${s}.${h}.${p}`;
    case 'trailing-dot':
      return `${h}.${p}.${s}.`;
    case 'leading-dot':
      return `.${h}.${p}.${s}`;
    case 'empty-payload':
      return `${h}..${s}`;
    default:
      return `${h}.${p}.${s}`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// What the oracles add to jose, shared by both differential tests

const B64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The kit's encoding rules that jose does not have, each a reading of the RFCs that jose relaxes:
 * - RFC 7515 §2, §7.1 (and RFC 6750 §2.1 for the Authorization header): each segment is base64url without
 *   padding, whitespace or the standard alphabet; jose's decoder (atob after mapping) accepts `=` padding.
 * - The signature segment is the canonical encoding of its bytes: unused trailing bits must be zero
 *   (RFC 4648 §3.5 lets a decoder refuse them); otherwise several tokens carry one signature.
 * - No byte order mark before the JSON (RFC 8259 §8.1: a parser MAY ignore one; the kit refuses it,
 *   jose's TextDecoder strips it).
 * Returns the decoded header and payload when the token passes, else undefined.
 */
export function strictDecode(token: string): { header: Record<string, unknown>; payload: unknown } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return undefined;
  const sig = parts[2]!;
  if (Buffer.from(sig, 'base64url').toString('base64url') !== sig) return undefined;
  try {
    const [h, p] = parts.slice(0, 2).map((seg) => {
      const bytes = Buffer.from(seg, 'base64url');
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) throw new Error('BOM');
      return JSON.parse(utf8.decode(bytes)) as unknown;
    });
    if (!h || typeof h !== 'object' || Array.isArray(h)) return undefined;
    return { header: h as Record<string, unknown>, payload: p };
  } catch {
    return undefined;
  }
}

/**
 * RFC 8017 §8.1.2, §8.2.2 step 1: an RSA signature is exactly as long as the modulus of the key that
 * verified it. OpenSSL, under both WebCrypto (jose) and node:crypto, verifies a PSS signature short of its
 * leading zero octet.
 */
export function rsaSignatureLengthOk(token: string, key: unknown): boolean {
  const bits = (key as { algorithm?: { modulusLength?: unknown } } | undefined)?.algorithm?.modulusLength;
  if (typeof bits !== 'number') return true;
  return Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url').length === (bits + 7) >> 3;
}

/**
 * The kit implements no JWS extension (RFC 7515 §4.1.11): any `crit` is refused, and so is `b64` (RFC 7797),
 * which jose understands (with `b64: true` it is a no-op there). A narrowing the RFCs allow.
 */
export const usesExtension = (header: Record<string, unknown>): boolean => header.crit !== undefined || header.b64 !== undefined;

/** RFC 7518 §6.2.2, §6.3.2, §6.4.1: members that belong to a private or symmetric key. */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * A JWK as jose should see it: undefined when it carries private-key material (RFC 7518 §6.3.2 lists `q`
 * among the private members; jose imports a JWK with `q` but no `d` as a public key); RSA below 2048 bits is
 * dropped too (RFC 7518 §3.3, which jose also enforces at verification). A valid `key_ops` that allows
 * `verify` is narrowed to `["verify"]`: WebCrypto refuses to import a public key whose `key_ops` also names
 * `sign`, which RFC 7517 §4.3 allows (`sign` and `verify` together is its own example).
 */
export function oracleJwk(jwk: Record<string, unknown>): Record<string, unknown> | undefined {
  if (PRIVATE_MEMBERS.some((m) => jwk[m] !== undefined)) return undefined;
  if (jwk.kty === 'RSA' && typeof jwk.n === 'string' && Buffer.from(jwk.n, 'base64url').length * 8 < 2048) return undefined;
  const ops = jwk.key_ops;
  if (Array.isArray(ops) && ops.every((o) => typeof o === 'string') && new Set(ops).size === ops.length && ops.includes('verify'))
    return { ...jwk, key_ops: ['verify'] };
  return jwk;
}

/** RFC 7519 §2 NumericDate, as a finite number: `1e999` parses to Infinity, which no clock compares with. */
export const finiteOrAbsent = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v));

/** Counts verdicts, by label, so a property cannot pass by refusing (or accepting) everything. */
export class Tally {
  accepted = 0;
  refused = 0;
  readonly byLabel = new Map<string, { accepted: number; refused: number }>();

  add(accepted: boolean, labels: readonly string[]): void {
    if (accepted) this.accepted++;
    else this.refused++;
    for (const l of labels) {
      const e = this.byLabel.get(l) ?? { accepted: 0, refused: 0 };
      if (accepted) e.accepted++;
      else e.refused++;
      this.byLabel.set(l, e);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Cases: valid throughout, or valid but for one to three fields

/** For each field of a case: the values a valid token may have, and odd ones. */
export type FieldTable = Record<string, readonly [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]>;
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
export type CaseOf<F extends FieldTable> = { -readonly [K in keyof F]: ValueOf<F[K][0]> | ValueOf<F[K][1]> };

/**
 * Cases that are valid throughout (still varied) two times in five, else valid but for one to three fields:
 * many independent mutations would make almost every case a refusal for an uninteresting reason.
 */
export function caseArbitrary<F extends FieldTable>(fields: F): fc.Arbitrary<CaseOf<F>> {
  const names = Object.keys(fields);
  const pick = (odd: boolean) =>
    fc.record(Object.fromEntries(names.map((f) => [f, fields[f]![odd ? 1 : 0]]))) as fc.Arbitrary<Record<string, unknown>>;
  return fc.oneof(
    { weight: 2, arbitrary: pick(false) },
    {
      weight: 3,
      arbitrary: fc.tuple(pick(false), pick(true), fc.subarray(names, { minLength: 1, maxLength: 3 })).map(([valid, odd, chosen]) => {
        const c = { ...valid };
        for (const f of chosen) c[f] = odd[f];
        return c;
      }),
    },
  ) as unknown as fc.Arbitrary<CaseOf<F>>;
}

/** Valid cases but for the fields given, which take the values of `focus`: to aim at one rule often. */
export function focusedCases<F extends FieldTable>(fields: F, focus: { [K in keyof F]?: fc.Arbitrary<unknown> }): fc.Arbitrary<CaseOf<F>> {
  return fc.record(Object.fromEntries(Object.keys(fields).map((f) => [f, focus[f] ?? fields[f]![0]]))) as unknown as fc.Arbitrary<
    CaseOf<F>
  >;
}

/** The kit's verdict on a request: accepted, or refused with a typed 400/401 (never a 500, never a stray exception). */
export async function kitVerdict(run: () => unknown): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(ResourceServerError);
    expect([400, 401]).toContain((err as ResourceServerError).status);
    return false;
  }
}
