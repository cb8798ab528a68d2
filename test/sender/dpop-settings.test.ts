/**
 * DPoP settings (RFC 9449) of the wrong type or range are refused at start-up with a ConfigurationError naming
 * the setting, for JavaScript callers too: never a raw TypeError from Node, never a message blaming another
 * setting, never a configuration that starts and then answers every DPoP request 500.
 */
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, FileStore, MemoryStore, ResourceServer, type ResourceServerOptions } from '../../src/index.js';

const base = { issuer: 'https://as.example.com', resource: 'https://api.example.com', logger: false as const };
const build = (dpop: unknown) => () => new ResourceServer({ ...base, dpop } as unknown as ResourceServerOptions);

/** The ConfigurationError `dpop` causes (fails when none is thrown). */
function refusal(dpop: unknown): Error {
  try {
    build(dpop)();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return err as Error;
  }
  throw new Error('no ConfigurationError');
}

describe('dpop settings are checked at start-up', () => {
  it.each([
    ['no secret', {}],
    ['a number', { secret: 123 }],
    ['null', { secret: null }],
    ['a 31-character string', { secret: 'x'.repeat(31) }],
    ['31 bytes', { secret: randomBytes(31) }],
  ])('a nonce secret that is not a string or bytes of 32 or more (%s) is a ConfigurationError', (_, nonce) => {
    expect(refusal({ nonce }).message).toMatch(/dpop\.nonce\.secret must be a string or bytes of at least 32 bytes/);
  });

  it.each([[true], ['secret'], [null], [[]]])('a nonce that is not an object (%j) is a ConfigurationError', (nonce) => {
    expect(refusal({ nonce }).message).toMatch(/dpop\.nonce must be an object/);
  });

  it.each([[-5], [0], ['x'], [Infinity], [NaN]])('nonce.rotateSeconds %p is refused, naming rotateSeconds itself', (rotateSeconds) => {
    const { message } = refusal({ nonce: { secret: randomBytes(32), rotateSeconds } });
    expect(message).toMatch(/dpop\.nonce\.rotateSeconds must be a positive number/);
    expect(message).not.toMatch(/maxReplayEntries/);
  });

  it('accepts a nonce secret as a string or bytes, with or without a rotation period', () => {
    expect(build({ nonce: { secret: 'x'.repeat(32) } })().options.dpop?.nonce?.rotateMs).toBe(300_000);
    expect(build({ nonce: { secret: randomBytes(32), rotateSeconds: 30 } })().options.dpop?.nonce?.rotateMs).toBe(30_000);
    expect(build({ nonce: { secret: new Uint8Array(32).fill(7) } })().options.dpop?.nonce?.key).toHaveLength(32);
  });

  it('refuses a replay store that cannot set-if-absent (a FileStore, a string): it would answer every DPoP request 500', () => {
    const file = new FileStore(join(mkdtempSync(join(tmpdir(), 'ors-dpop-')), 'store.json'));
    for (const replayStore of [file, 'redis://localhost', { get: () => undefined }]) {
      expect(refusal({ replayStore }).message).toMatch(/dpop\.replayStore must be an atomic store/);
    }
    expect(build({ replayStore: new MemoryStore() })().options.dpop?.replayStore).toBeInstanceOf(MemoryStore);
  });

  it.each([['yes'], [1], [0], [null], [['allowed']]])('dpop: %j is refused: it must be a boolean or an object', (dpop) => {
    expect(refusal(dpop).message).toMatch(/dpop must be true, false or an object/);
  });

  it('dpop: true turns DPoP on with the defaults; false and absent leave it off', () => {
    expect(build(true)().dpop?.mode).toBe('allowed');
    expect(build(false)().dpop).toBeUndefined();
    expect(build(undefined)().dpop).toBeUndefined();
  });

  it('still names a misspelled option inside dpop and dpop.nonce', () => {
    expect(refusal({ mod: 'required' }).message).toContain('unknown option "dpop.mod": did you mean "dpop.mode"?');
    expect(refusal({ nonce: { secrets: 'x'.repeat(32) } }).message).toContain(
      'unknown option "dpop.nonce.secrets": did you mean "dpop.nonce.secret"?',
    );
  });
});
