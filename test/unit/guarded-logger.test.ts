/**
 * A configured logger as the kit uses it: whatever it throws is dropped where the kit logs (an answer or the
 * bookkeeping of a call in flight must not break), and a logger without `debug` still has none.
 */
import { describe, expect, it } from '@jest/globals';
import { guardedLogger } from '../../src/config/guarded-logger.js';
import type { Logger } from '../../src/config/options.js';

const throwing: Logger = {
  warn: () => {
    throw new Error('warn broke');
  },
  error: () => {
    throw new Error('error broke');
  },
  debug: () => {
    throw new Error('debug broke');
  },
};

describe('guardedLogger', () => {
  it('forwards every line with its details', () => {
    const seen: unknown[] = [];
    const logger = guardedLogger({
      warn: (m, d) => void seen.push(['warn', m, d]),
      error: (m, d) => void seen.push(['error', m, d]),
      debug: (m, d) => void seen.push(['debug', m, d]),
    });
    logger.warn('w', { a: 1 });
    logger.error('e');
    logger.debug!('d', { b: 2 });
    expect(seen).toEqual([
      ['warn', 'w', { a: 1 }],
      ['error', 'e', undefined],
      ['debug', 'd', { b: 2 }],
    ]);
  });

  it('passes a line without details on with one argument (console.warn would print "undefined")', () => {
    const counts: number[] = [];
    const logger = guardedLogger({
      warn: (...args: unknown[]) => void counts.push(args.length),
      error: (...args: unknown[]) => void counts.push(args.length),
    });
    logger.warn('only a message');
    logger.error('and details', { a: 1 });
    expect(counts).toEqual([1, 2]);
  });

  it('drops a promise the logger rejects (no unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const logger = guardedLogger({
        warn: (() => Promise.reject(new Error('remote sink down'))) as unknown as Logger['warn'],
        error: () => undefined,
      });
      logger.warn('x');
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('drops what the logger throws', () => {
    const logger = guardedLogger(throwing);
    expect(() => logger.warn('x')).not.toThrow();
    expect(() => logger.error('x')).not.toThrow();
    expect(() => logger.debug!('x')).not.toThrow();
  });

  it('has no debug method when the logger has none (the debug channel is then off: nothing is computed for it)', () => {
    expect(guardedLogger({ warn: () => undefined, error: () => undefined }).debug).toBeUndefined();
  });

  it('guards once: a guarded logger guarded again is the same object', () => {
    const once = guardedLogger(throwing);
    expect(guardedLogger(once)).toBe(once);
  });
});
