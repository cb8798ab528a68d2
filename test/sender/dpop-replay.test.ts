/**
 * The DPoP replay set (RFC 9449 §11.1): a used proof stays refused for its whole acceptance window, whatever
 * the traffic. A full set refuses new proofs (503 with Retry-After, logged once per episode) rather than
 * forget old ones, and accepts again once the oldest leave their window. The same holds for a shared
 * replay store. The clock is Date.now(), moved by the test: no sleeps.
 */
import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { MemoryStore, type AtomicStore, type Logger } from '../../src/index.js';
import { DEFAULTS } from '../../src/config/options.js';
import { authenticate, dpopFixture, proofFor, type DpopFixture } from '../helpers/dpop-fixture.js';
import { ecSigner } from '../helpers/odd-keys.js';

let fx: DpopFixture;
let client: { jwk: object; jkt: string; sign: (d: Buffer) => Buffer };
let token: string;
beforeAll(async () => {
  fx = await dpopFixture();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  client = {
    jwk,
    jkt: createHash('sha256')
      .update(JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y }))
      .digest('base64url'),
    sign: ecSigner(privateKey, 'sha256'),
  };
  token = await fx.accessToken(client.jkt);
});

const proof = () => proofFor(token, 'ES256', client.jwk, client.sign);
/** A logger that records warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
}
/** Date.now() stopped at the real time, then moved only by the test. */
let restoreClock: (() => void) | undefined;
function mockClock() {
  let now = Date.now();
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
  restoreClock = () => spy.mockRestore();
  return {
    advance(ms: number) {
      now += ms;
    },
  };
}
afterEach(() => {
  restoreClock?.();
  restoreClock = undefined;
});

describe('the replay set never forgets a proof inside its window (RFC 9449 §11.1)', () => {
  it('refuses a captured proof after the set filled with fresh ones; the new proof gets a 503 instead', async () => {
    const rs = fx.server({ maxReplayEntries: 4 });
    const captured = proof();
    expect((await authenticate(rs, token, captured)).scheme).toBe('dpop');
    for (let i = 0; i < 3; i++) await authenticate(rs, token, proof());
    // The set holds 4 live proofs: a fifth is not accepted (it could not be remembered), none is forgotten.
    await expect(authenticate(rs, token, proof())).rejects.toMatchObject({ status: 503, code: 'ERR_DPOP_REPLAY_FULL' });
    await expect(authenticate(rs, token, captured)).rejects.toMatchObject({
      status: 401,
      oauthError: 'invalid_dpop_proof',
      message: 'the DPoP proof was already used',
    });
  });

  it('answers an overflow 503 with Retry-After and logs it once per episode, then accepts again once the window passed', async () => {
    const clock = mockClock();
    const logger = recordingLogger();
    // Window: 10 s of age + 0 s leeway on each side + 1 s = 11 s.
    const rs = fx.server({ maxReplayEntries: 2, maxProofAgeSeconds: 10 }, { clockToleranceSeconds: 0, logger });
    expect(rs.dpop!.replayWindowMs).toBe(11_000);
    const early = proof();
    await authenticate(rs, token, early);
    clock.advance(4_000);
    await authenticate(rs, token, proof());
    const refusals: unknown[] = [];
    for (let i = 0; i < 5; i++) refusals.push(await authenticate(rs, token, proof()).catch((e: unknown) => e));
    const answer = rs.answer(refusals[0]);
    expect(answer.status).toBe(503);
    // The oldest entry leaves 11 s after it came, 4 s ago.
    expect(answer.headers['retry-after']).toBe('7');
    expect(JSON.parse(answer.body!)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(refusals.every((e) => (e as { status?: number }).status === 503)).toBe(true);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/replay set is full/);
    // Still inside its window, the early proof is a replay.
    await expect(authenticate(rs, token, early)).rejects.toMatchObject({ status: 401, message: 'the DPoP proof was already used' });

    clock.advance(7_000); // the early proof's window is over: one place is free
    expect((await authenticate(rs, token, proof())).scheme).toBe('dpop');
    expect(logger.warnings).toHaveLength(1);
    // Full again: a new episode, logged once more.
    await expect(authenticate(rs, token, proof())).rejects.toMatchObject({ status: 503 });
    await expect(authenticate(rs, token, proof())).rejects.toMatchObject({ status: 503 });
    expect(logger.warnings).toHaveLength(2);
  });

  it('keeps a jti exactly as long as a proof could be accepted: the iat window with leeway, or the nonce life when shorter', () => {
    expect(fx.server({}).dpop!.replayWindowMs).toBe((60 + 2 * 5 + 1) * 1000);
    expect(fx.server({ maxProofAgeSeconds: 30 }, { clockToleranceSeconds: 2 }).dpop!.replayWindowMs).toBe((30 + 4 + 1) * 1000);
    // Nonces (current and previous accepted) live at most two rotations after a proof is first seen.
    expect(fx.server({ nonce: { secret: randomBytes(32), rotateSeconds: 10 } }).dpop!.replayWindowMs).toBe((2 * 10 + 1) * 1000);
    expect(fx.server({ nonce: { secret: randomBytes(32), rotateSeconds: 300 } }).dpop!.replayWindowMs).toBe(71_000);
  });

  it('sizes the default bound as the peak proof rate of one process times the window, and refuses an unbounded one', () => {
    for (const rs of [fx.server({}), fx.server({ maxProofAgeSeconds: 300 })]) {
      expect(rs.dpop!.maxReplayEntries).toBe(Math.ceil((DEFAULTS.dpopProofsPerSecond * rs.dpop!.replayWindowMs) / 1000));
    }
    expect(fx.server({ maxReplayEntries: 5000 }).dpop!.maxReplayEntries).toBe(5000);
    expect(() => fx.server({ maxReplayEntries: Infinity })).toThrow(/maxReplayEntries must be a positive integer/);
    expect(() => fx.server({ maxReplayEntries: 0 })).toThrow(/maxReplayEntries must be a positive integer/);
  });
});

describe('a shared replay store never forgets a proof inside its window either', () => {
  it('stores each jti in the shared store for the whole window', async () => {
    const ttls: number[] = [];
    class Recording extends MemoryStore {
      override setIfAbsent(key: string, value: string, ttlMs: number) {
        ttls.push(ttlMs);
        return super.setIfAbsent(key, value, ttlMs);
      }
    }
    const rs = fx.server({ replayStore: new Recording() });
    await authenticate(rs, token, proof());
    expect(ttls).toEqual([rs.dpop!.replayWindowMs]);
  });

  it('with a MemoryStore as the shared set: a full store refuses (503), and replica B still refuses the proof used at replica A', async () => {
    const shared = new MemoryStore({ maxEntries: 3 });
    const a = fx.server({ replayStore: shared });
    const b = fx.server({ replayStore: shared });
    const captured = proof();
    await authenticate(a, token, captured);
    await authenticate(a, token, proof());
    await authenticate(a, token, proof());
    const full = await authenticate(a, token, proof()).catch((e: unknown) => e);
    expect(a.answer(full)).toMatchObject({ status: 503, headers: { 'retry-after': expect.stringMatching(/^\d+$/) } });
    await expect(authenticate(b, token, captured)).rejects.toMatchObject({ status: 401, message: 'the DPoP proof was already used' });
  });

  it('logs a failing replay store once per outage, not once per request', async () => {
    let down = true;
    const flaky = new MemoryStore();
    const store: AtomicStore = {
      get: (k) => flaky.get(k),
      set: (k, v, t) => flaky.set(k, v, t),
      delete: (k) => flaky.delete(k),
      setIfAbsent: (k, v, t) => (down ? Promise.reject(new Error('down')) : flaky.setIfAbsent(k, v, t)),
      withLock: (n, l, f, o) => flaky.withLock(n, l, f, o),
    };
    const logger = recordingLogger();
    const rs = fx.server({ replayStore: store }, { logger });
    for (let i = 0; i < 4; i++) await expect(authenticate(rs, token, proof())).rejects.toMatchObject({ status: 503 });
    expect(logger.warnings).toHaveLength(1);
    down = false;
    await authenticate(rs, token, proof());
    down = true;
    await expect(authenticate(rs, token, proof())).rejects.toMatchObject({ status: 503 });
    expect(logger.warnings).toHaveLength(2);
  });
});
