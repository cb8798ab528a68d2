/**
 * DPoP options (RFC 9449) resolved once, at start-up: defaults applied, every rule checked, the values the
 * verifier needs computed. A mistake throws a ConfigurationError when the resource server is created.
 */
import { isUint8Array } from 'node:util/types';
import { fail, positive } from '../config/option-checks.js';
import { DEFAULTS } from '../config/options.js';
import { isAtomicStore } from '../stores/store.js';
import { ASYMMETRIC_ALGORITHMS } from '../token/jws-algorithms.js';
import type { DpopOptions, ResolvedDpop } from './dpop-options.js';

/** Where the resource server is reached, to default `baseUrl` from; and the clock leeway. */
export interface DpopContext {
  readonly publicBaseUrl: string | undefined;
  readonly resources: readonly string[];
  readonly clockToleranceSeconds: number;
}

/** Resolve `options.dpop` (`true` means the defaults); undefined when DPoP is off. */
export function resolveDpop(input: DpopOptions | boolean | undefined, context: DpopContext): ResolvedDpop | undefined {
  if (input === undefined || input === false) return undefined;
  // From JavaScript, `dpop: 'yes'` or `1` would otherwise turn DPoP on with defaults the author never chose.
  if (input !== true && !isObject(input)) fail('dpop must be true, false or an object of DPoP settings');
  const options: DpopOptions = input === true ? {} : input;
  const mode = options.mode ?? DEFAULTS.dpopMode;
  if (mode !== 'allowed' && mode !== 'required') fail('dpop.mode must be "allowed" or "required"');
  const algorithms = options.algorithms ?? DEFAULTS.dpopAlgorithms;
  // RFC 9449 §4.2: asymmetric algorithms only; an empty or unknown list would be advertised in `algs` and
  // serve nobody.
  const asymmetric = ASYMMETRIC_ALGORITHMS as readonly string[];
  if (!Array.isArray(algorithms) || !algorithms.length || !algorithms.every((alg) => asymmetric.includes(alg))) {
    fail(`dpop.algorithms must be a non-empty list of asymmetric JWS algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')})`);
  }
  // htu is compared against a configured origin, never the request's Host (RFC 9449 §4.3 check 9).
  const base = options.baseUrl ?? context.publicBaseUrl ?? context.resources.find((r) => /^https?:\/\//.test(r));
  if (!base) fail('DPoP needs dpop.baseUrl (the public origin requests arrive at)');
  let origin: string;
  try {
    origin = new URL(base).origin;
  } catch {
    fail('dpop.baseUrl must be an absolute URL');
  }
  const maxProofAgeSeconds = options.maxProofAgeSeconds ?? DEFAULTS.dpopMaxProofAgeSeconds;
  positive(maxProofAgeSeconds, 'dpop.maxProofAgeSeconds');
  const nonce = resolveNonce(options.nonce);
  // §11.1: a jti is remembered until the proof would be refused anyway. A proof whose `iat` is at the future
  // edge (now + leeway) stays acceptable for the age limit plus the leeway on both sides; with nonces on, a proof
  // also dies with its nonce, at most two rotations after it is first seen (the current nonce and the previous
  // one are accepted). One second more for the whole-second `iat`.
  const iatWindowMs = (maxProofAgeSeconds + 2 * context.clockToleranceSeconds) * 1000;
  const replayWindowMs = Math.min(iatWindowMs, nonce ? 2 * nonce.rotateMs : Infinity) + 1000;
  const maxReplayEntries = options.maxReplayEntries ?? Math.ceil((DEFAULTS.dpopProofsPerSecond * replayWindowMs) / 1000);
  if (!Number.isInteger(maxReplayEntries) || maxReplayEntries < 1) fail('dpop.maxReplayEntries must be a positive integer');
  // A store without set-if-absent cannot decide which replica saw a jti first: every proof would fail there.
  if (options.replayStore !== undefined && !isAtomicStore(options.replayStore))
    fail('dpop.replayStore must be an atomic store (setIfAbsent and withLock: a MemoryStore or RedisStore)');
  const replayStoreFailure = options.replayStoreFailure ?? 'closed';
  if (replayStoreFailure !== 'closed' && replayStoreFailure !== 'local') fail('dpop.replayStoreFailure must be "closed" or "local"');
  return {
    mode,
    algorithms,
    baseUrl: origin,
    maxProofAgeSeconds,
    nonce,
    replayWindowMs,
    maxReplayEntries,
    replayStore: options.replayStore,
    replayStoreFailure,
  };
}

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `dpop.nonce` (§9): the MAC key (the secret as bytes) and the rotation period; undefined when off. */
function resolveNonce(input: DpopOptions['nonce'] | undefined): ResolvedDpop['nonce'] {
  if (input === undefined) return undefined;
  if (!isObject(input)) fail('dpop.nonce must be an object { secret, rotateSeconds? }');
  const { secret, rotateSeconds = DEFAULTS.dpopNonceRotateSeconds } = input as { secret?: unknown; rotateSeconds?: unknown };
  // isUint8Array, not instanceof: a Buffer from another realm (a test sandbox, a worker) is bytes too.
  const key = typeof secret === 'string' ? Buffer.from(secret) : isUint8Array(secret) ? Buffer.from(secret) : undefined;
  if (!key || key.length < 32) fail('dpop.nonce.secret must be a string or bytes of at least 32 bytes');
  return { key, rotateMs: positive(rotateSeconds, 'dpop.nonce.rotateSeconds') * 1000 };
}
