/**
 * DPoP (RFC 9449) at the resource server: proof validation (§4.3), binding to the token's `cnf.jkt`
 * (§6, §7.1), replay protection (§11.1) and server-provided nonces (§9). Signatures are checked with
 * node:crypto like access tokens (this runs on every DPoP request).
 */
import { createHmac, createPublicKey, hash, randomBytes, timingSafeEqual, type JsonWebKey, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { DpopReplaySetFullError, InvalidDpopProofError, TokenBindingError, UseDpopNonceError } from '../answers/errors.js';
import type { Logger } from '../config/options.js';
import { decodeJws, typIs, withinValidity } from '../token/jwt.js';
import { ExpiringSet } from '../stores/expiring-set.js';
import type { ResolvedDpop } from './dpop-options.js';
import { hasPrivateMembers, jwkMayVerify, verifySignature, type JwsAlgorithm } from '../token/jws.js';
import { keyFits, keyRuleViolation } from '../token/key-rules.js';

export type { DpopOptions } from './dpop-options.js';

/** The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: required members only, sorted. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  let members: Record<string, unknown>;
  if (jwk.kty === 'RSA') members = { e: jwk.e, kty: 'RSA', n: jwk.n };
  else if (jwk.kty === 'EC') members = { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y };
  else if (jwk.kty === 'OKP') members = { crv: jwk.crv, kty: 'OKP', x: jwk.x };
  else throw new InvalidDpopProofError('the DPoP proof key type is not supported');
  for (const v of Object.values(members)) if (typeof v !== 'string') throw new InvalidDpopProofError('the DPoP proof key is malformed');
  return hash('sha256', JSON.stringify(members), 'base64url');
}

/**
 * The `htu` form of a URL (§4.3 check 9): no query or fragment, and the normalisations RFC 3986 §6.2.2 and
 * §6.2.3 name (the SHOULD of check 9): scheme and host lower-cased, default port and dot-segments gone (all
 * by `URL`), percent-encoded unreserved characters decoded (`%7E` is `~`) and the other escapes upper-cased.
 */
export function normalizeHtu(url: string): string | undefined {
  try {
    const u = new URL(url);
    // RFC 9110 §4.2.4: userinfo in an http(s) URI is an error, never a part to drop before comparing.
    if (u.username || u.password) return undefined;
    return `${u.protocol}//${u.host}${u.pathname.replace(/%[0-9a-fA-F]{2}/g, normalizeEscape)}`;
  } catch {
    return undefined;
  }
}

function normalizeEscape(escape: string): string {
  const c = String.fromCharCode(parseInt(escape.slice(1), 16));
  return /^[A-Za-z0-9\-._~]$/.test(c) ? c : escape.toUpperCase();
}

/** What the request offers for a proof check. */
export interface ProofContext {
  method: string;
  /** The request target as the client used it: base URL + path (query is ignored). */
  url: string;
  accessToken: string;
  /** The token's `cnf.jkt`. */
  jkt: string | undefined;
}

/** Validates DPoP proofs for one resource server. */
export class DpopVerifier {
  readonly mode: 'allowed' | 'required';
  readonly algorithms: readonly JwsAlgorithm[];
  readonly baseUrl: string;
  readonly #maxProofAgeSeconds: number;
  /** Recent proofs by replay key, each for the replay window: never evicted, refusing when full. */
  readonly #seen: ExpiringSet;
  /** Whether the replay set is refusing proofs (logged once per episode). */
  #full = false;
  readonly #logger: Logger | undefined;
  /**
   * Imported proof keys by the proof's protected-header segment (which holds the `jwk`): a client signs
   * many proofs with one key, and importing a JWK costs about what the signature check does (~70 µs here).
   */
  readonly #keys = new LRUCache<string, { key: KeyObject; thumbprint: string }>({ max: 10_000 });
  /** Headers longer than this are not remembered (an EC or RSA-4096 key header is well under), bounding the cache. */
  static readonly #MAX_CACHED_HEADER = 2048;
  readonly #nonceKey: Buffer | undefined;
  readonly #rotateMs: number;
  readonly #toleranceSeconds: number;

  /** `settings`: resolved at start-up (resolve-dpop.ts); `toleranceSeconds`: the clock leeway. */
  constructor(settings: ResolvedDpop, toleranceSeconds: number, logger?: Logger) {
    this.mode = settings.mode;
    this.algorithms = settings.algorithms;
    this.baseUrl = settings.baseUrl;
    this.#maxProofAgeSeconds = settings.maxProofAgeSeconds;
    this.#toleranceSeconds = toleranceSeconds;
    this.#logger = logger;
    this.#nonceKey = settings.nonce?.key;
    this.#rotateMs = settings.nonce?.rotateMs ?? Infinity;
    this.replayWindowMs = settings.replayWindowMs;
    this.#seen = new ExpiringSet({ ttlMs: settings.replayWindowMs, maxEntries: settings.maxReplayEntries });
  }

  /** Most proofs remembered at once (`dpop.maxReplayEntries`); beyond it new proofs are answered 503. */
  get maxReplayEntries(): number {
    return this.#seen.maxEntries;
  }

  /** Whether server nonces are on. */
  get noncesRequired(): boolean {
    return this.#nonceKey !== undefined;
  }

  /** A fresh nonce (§9): the current time slot and its MAC, unpredictable and checkable by every replica. */
  currentNonce(now = Date.now()): string {
    const slot = Math.floor(now / this.#rotateMs);
    return this.#nonceFor(slot);
  }

  #nonceFor(slot: number): string {
    const s = slot.toString(36);
    return `${s}.${createHmac('sha256', this.#nonceKey!).update(s).digest('base64url')}`;
  }

  /** Whether a nonce is the current one or the previous one (a grace period of one rotation). */
  #nonceValid(nonce: unknown, now: number): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false;
    const slot = Math.floor(now / this.#rotateMs);
    for (const candidate of [this.#nonceFor(slot), this.#nonceFor(slot - 1)]) {
      const a = Buffer.from(candidate);
      const b = Buffer.from(nonce);
      if (a.length === b.length && timingSafeEqual(a, b)) return true;
    }
    return false;
  }

  /** How long a `jti` must be remembered (§11.1): until the proof would be refused anyway (resolve-dpop.ts). */
  readonly replayWindowMs: number;

  /**
   * Check a proof against the request and the token (§4.3, §7.1). Throws {@link InvalidDpopProofError},
   * {@link UseDpopNonceError} or {@link TokenBindingError}. Returns the replay key (a hash of the key
   * thumbprint and `jti`), already checked against this process's set, for a shared store to check too.
   */
  check(proof: string, ctx: ProofContext): string {
    // Decoding errors of the proof are proof errors, not token errors.
    let jws;
    try {
      jws = decodeJws(proof);
    } catch {
      throw new InvalidDpopProofError('the DPoP proof is not a JWT');
    }
    const { header, payload } = jws;
    // §4.3 checks 4, 5: typ dpop+jwt (a media type: `application/dpop+jwt` and `DPoP+JWT` too, RFC 7515
    // §4.1.9); an asymmetric algorithm from the allow-list.
    if (!typIs(header.typ, 'dpop+jwt')) throw new InvalidDpopProofError('the DPoP proof typ must be dpop+jwt');
    const alg = header.alg as JwsAlgorithm;
    if (typeof header.alg !== 'string' || !this.algorithms.includes(alg))
      throw new InvalidDpopProofError('the DPoP proof algorithm is not accepted');
    if (header.crit !== undefined) throw new InvalidDpopProofError('the DPoP proof uses an unsupported extension');
    // §4.3 checks 6, 7: the embedded key is public and verifies the signature.
    // Keyed by a hash of the header segment: a slice would keep the whole proof alive in the cache.
    const headerLength = proof.indexOf('.');
    const headerKey =
      headerLength <= DpopVerifier.#MAX_CACHED_HEADER ? hash('sha256', proof.slice(0, headerLength), 'base64url') : undefined;
    const known = headerKey === undefined ? undefined : this.#keys.get(headerKey);
    const { key, thumbprint } = known ?? importProofKey(header.jwk, alg);
    // The key serves its algorithm (its type and curve), checked before the signature like the key rules.
    if (!keyFits({ kid: undefined, alg: undefined, key }, alg))
      throw new InvalidDpopProofError('the DPoP proof key does not fit the proof algorithm');
    if (!verifySignature(alg, key, jws.data, jws.signature)) throw new InvalidDpopProofError('the DPoP proof signature is invalid');
    // Remembered only once a signature made with it verified, and only for a header of a sane size: the cache
    // holds keys clients really use, at most 10,000 (a hash and a key object each).
    if (!known && headerKey !== undefined) this.#keys.set(headerKey, { key, thumbprint });
    const { jti, htm, htu, iat, ath, nonce } = payload;
    if (typeof jti !== 'string' || jti.length < 1 || jti.length > 256) throw new InvalidDpopProofError('the DPoP proof jti is missing');
    // §4.3 check 8: htm is the method.
    if (htm !== ctx.method) throw new InvalidDpopProofError('the DPoP proof htm does not match the request method');
    // §4.3 check 9: htu is this request's URI, query and fragment ignored, compared against the configured origin.
    const got = typeof htu === 'string' ? normalizeHtu(htu) : undefined;
    if (got === undefined || got !== normalizeHtu(ctx.url)) {
      throw new InvalidDpopProofError('the DPoP proof htu does not match the request URI');
    }
    // §4.3 check 11, §11.1: iat within the acceptance window.
    const now = Date.now();
    const nowSeconds = now / 1000;
    if (
      typeof iat !== 'number' ||
      iat > nowSeconds + this.#toleranceSeconds ||
      iat < nowSeconds - this.#maxProofAgeSeconds - this.#toleranceSeconds
    ) {
      throw new InvalidDpopProofError('the DPoP proof iat is outside the acceptance window');
    }
    // RFC 7519 §4.1.4, §4.1.5: a proof is a JWT (§4.2), so an exp or nbf it carries must hold too.
    if (!withinValidity(payload, { nowSeconds, toleranceSeconds: this.#toleranceSeconds }))
      throw new InvalidDpopProofError('the DPoP proof is expired or not valid yet');
    // §4.3 check 12: ath is the hash of this very access token.
    if (ath !== hash('sha256', ctx.accessToken, 'base64url'))
      throw new InvalidDpopProofError('the DPoP proof ath does not match the access token');
    // §7.1: the proof key is the key the token is bound to (CONFORMANCE 39).
    if (ctx.jkt === undefined) throw new TokenBindingError('the access token is not bound to a DPoP key');
    if (thumbprint !== ctx.jkt) throw new TokenBindingError('the DPoP proof key does not match the access token binding');
    // §9, §11.3: once nonces are on, a proof without the current (or previous) nonce is refused.
    if (this.#nonceKey && !this.#nonceValid(nonce, now)) throw new UseDpopNonceError(this.currentNonce(now));
    // §11.1: each jti once within the window (per key, hashed to bound memory). A full set refuses the new
    // proof (503) rather than forget one still inside its window.
    const digest = hash('sha256', `${thumbprint}.${jti}`, 'buffer');
    const replayKey = digest.toString('base64url');
    // 128 bits of it here (a collision needs ~2^64 proofs): a shorter key is a quarter less memory per entry.
    const added = this.#seen.add(digest.toString('base64url', 0, 16), now);
    if (added === 'present') throw new InvalidDpopProofError('the DPoP proof was already used');
    if (added === 'full') throw this.#refuseFull(now);
    this.#full = false;
    return replayKey;
  }

  #refuseFull(now: number): DpopReplaySetFullError {
    if (!this.#full) {
      this.#full = true;
      this.#logger?.warn(
        'the DPoP replay set is full: new DPoP proofs are answered 503 until the oldest leave their window; raise dpop.maxReplayEntries',
        {
          maxReplayEntries: this.#seen.maxEntries,
          replayWindowSeconds: this.#seen.ttlMs / 1000,
        },
      );
    }
    return new DpopReplaySetFullError(Math.max(1, Math.ceil(this.#seen.msUntilRoom(now) / 1000)));
  }

  /** An unpredictable value, for tests and callers that mint their own nonces. */
  static randomNonce(): string {
    return randomBytes(16).toString('base64url');
  }
}

/**
 * The public key in a proof header (§4.3 checks 6, 7: a public key, well formed, meant for verifying with this
 * algorithm, and one the key rules accept, as for the authorization server's keys) and its RFC 7638 thumbprint.
 */
function importProofKey(jwk: unknown, alg: string): { key: KeyObject; thumbprint: string } {
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) throw new InvalidDpopProofError('the DPoP proof has no jwk');
  const proofJwk = jwk as Record<string, unknown>;
  if (hasPrivateMembers(proofJwk)) throw new InvalidDpopProofError('the DPoP proof jwk contains a private key');
  // RFC 7517 §4.2-4.4: a key whose own proofJwk say it is not for verifying, or not for this algorithm.
  if (!jwkMayVerify(proofJwk) || (proofJwk.alg !== undefined && proofJwk.alg !== alg))
    throw new InvalidDpopProofError('the DPoP proof jwk is not for this signature');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: proofJwk as JsonWebKey, format: 'jwk' });
  } catch {
    throw new InvalidDpopProofError('the DPoP proof jwk is malformed');
  }
  // RFC 7518 §6.3.1, §6.2.1.2: integers in their minimal octets, coordinates at their full size. Otherwise one
  // key would have several JWK forms, and so several RFC 7638 thumbprints (`jkt` values) for one binding.
  if (!canonicalJwk(proofJwk)) throw new InvalidDpopProofError('the DPoP proof jwk is not in its canonical form');
  const violation = keyRuleViolation(key);
  if (violation !== undefined) throw new InvalidDpopProofError(`the DPoP proof key is not accepted: ${violation}`);
  return { key, thumbprint: jwkThumbprint(proofJwk) };
}

const COORDINATE_OCTETS: Record<string, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66, Ed25519: 32, Ed448: 57 };

/** Whether a public JWK's numbers are in the one form RFC 7518 allows (see importProofKey). */
function canonicalJwk(jwk: Record<string, unknown>): boolean {
  const octets = (v: unknown): Buffer | undefined =>
    typeof v === 'string' && /^[A-Za-z0-9_-]*$/.test(v) ? Buffer.from(v, 'base64url') : undefined;
  if (jwk.kty === 'RSA') {
    const n = octets(jwk.n);
    const e = octets(jwk.e);
    return n !== undefined && e !== undefined && n.length > 0 && e.length > 0 && n[0] !== 0 && e[0] !== 0;
  }
  if (jwk.kty === 'EC' || jwk.kty === 'OKP') {
    const size = typeof jwk.crv === 'string' ? COORDINATE_OCTETS[jwk.crv] : undefined;
    if (size === undefined) return true; // an unknown curve is refused by the key rules
    return octets(jwk.x)?.length === size && (jwk.kty === 'OKP' || octets(jwk.y)?.length === size);
  }
  return true;
}
