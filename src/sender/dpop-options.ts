/**
 * The DPoP options (RFC 9449), apart from the verifier: the options module names them without importing the
 * verifier, which itself reads the defaults (no import cycle).
 */
import type { JwsAlgorithm } from '../token/jws-algorithms.js';
import type { AtomicStore } from '../stores/store.js';

/** DPoP settings. */
export interface DpopOptions {
  /** `allowed` (default): Bearer and DPoP; `required`: DPoP only (metadata says `dpop_bound_access_tokens_required`). */
  mode?: 'allowed' | 'required';
  /** Accepted proof algorithms (asymmetric only). Default ES256, ES384, EdDSA, Ed25519, RS256, PS256. */
  algorithms?: readonly JwsAlgorithm[];
  /** How old a proof's `iat` may be, seconds (§11.1). Default 60. */
  maxProofAgeSeconds?: number;
  /** Server nonces (§9): a secret (≥ 32 bytes, shared by replicas) and the rotation period. Default off. */
  nonce?: { secret: string | Uint8Array; rotateSeconds?: number };
  /**
   * The public origin (`https://api.example.com`) `htu` is compared against; never the request's `Host`.
   * Default: `publicBaseUrl`, or the origin of the first resource identifier.
   */
  baseUrl?: string;
  /**
   * Most `jti`s this process remembers for replay detection (§11.1). A `jti` is kept for its whole window
   * and never forgotten early: when the set is full, new proofs are answered 503 with `Retry-After` until the
   * oldest leave. Size it as the peak DPoP requests per second of one process times the window
   * (`DpopVerifier.replayWindowMs`); ~90 bytes per entry. Default: 30,000 proofs/s (more than one
   * process can check) times the window: 2,130,000 for the default 71 s.
   */
  maxReplayEntries?: number;
  /**
   * A shared store for the replay set, so a proof used at one replica is refused at every other (§11.1).
   * When it fails, the request is answered 503 (fail closed) unless `replayStoreFailure` is `local`.
   */
  replayStore?: AtomicStore;
  /** What to do when the replay store fails: `closed` (default, 503) or `local` (this process's set only). */
  replayStoreFailure?: 'closed' | 'local';
}

/**
 * DPoP settings after defaults and validation (see resolve-dpop.ts): everything the verifier needs, fixed at
 * start-up.
 */
export interface ResolvedDpop {
  readonly mode: 'allowed' | 'required';
  readonly algorithms: readonly JwsAlgorithm[];
  /** The public origin `htu` is compared against, without a trailing slash. */
  readonly baseUrl: string;
  readonly maxProofAgeSeconds: number;
  /** Server nonces: the MAC key and the rotation period; undefined when off. */
  readonly nonce: { readonly key: Buffer; readonly rotateMs: number } | undefined;
  /** How long a `jti` is remembered (§11.1): until the proof would be refused anyway. */
  readonly replayWindowMs: number;
  readonly maxReplayEntries: number;
  readonly replayStore: AtomicStore | undefined;
  readonly replayStoreFailure: 'closed' | 'local';
}
