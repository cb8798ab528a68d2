/** MemoryStore's set-if-absent and leased lock (in-process semantics), and telling atomic stores apart. */
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, isAtomicStore, LockTimeoutError, MemoryStore } from '../../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'ors-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MemoryStore as an AtomicStore', () => {
  it('is told apart from a plain CacheStore', () => {
    expect(isAtomicStore(new MemoryStore())).toBe(true);
    expect(isAtomicStore(new FileStore(join(dir, 's.json')))).toBe(false);
    expect(isAtomicStore(undefined)).toBe(false);
  });

  it('setIfAbsent: one of 20 concurrent callers wins; again once the value expired; a TTL of 0 never stores', async () => {
    const s = new MemoryStore();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.setIfAbsent('k', `caller-${i}`, 30)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await s.get('k')).toBe(`caller-${results.indexOf(true)}`);
    await sleep(80);
    expect(await s.setIfAbsent('k', 'later', 60_000)).toBe(true);
    expect(await s.setIfAbsent('zero', 'v', 0)).toBe(false);
    expect(await s.get('zero')).toBeUndefined();
  });

  it('never evicts a set-if-absent claim for cache traffic; when full of live claims it refuses until the oldest expire', async () => {
    let now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const s = new MemoryStore({ maxEntries: 3 });
      expect(await s.setIfAbsent('jti-1', 'a', 60_000)).toBe(true);
      now += 10_000;
      expect(await s.setIfAbsent('jti-2', 'b', 60_000)).toBe(true);
      // A flood of cached values (an LRU of 3) must not push the claims out.
      for (let i = 0; i < 100; i++) await s.set(`verdict-${i}`, 'v', 60_000);
      expect(await s.setIfAbsent('jti-1', 'again', 60_000)).toBe(false);
      expect(await s.get('jti-1')).toBe('a');
      expect(await s.setIfAbsent('jti-3', 'c', 60_000)).toBe(true);
      // Three live claims: a fourth is refused, none is forgotten.
      await expect(s.setIfAbsent('jti-4', 'd', 60_000)).rejects.toThrow(/maxClaims/);
      expect(await s.setIfAbsent('jti-1', 'again', 60_000)).toBe(false);
      // The first claim's TTL is over: its place is free, the others stay.
      now += 50_000;
      expect(await s.setIfAbsent('jti-4', 'd', 60_000)).toBe(true);
      expect(await s.get('jti-1')).toBeUndefined();
      expect(await s.setIfAbsent('jti-2', 'again', 60_000)).toBe(false);
      // Claims of another TTL expire on their own schedule.
      await s.delete('jti-4');
      expect(await s.setIfAbsent('flight', '1', 5_000)).toBe(true);
      now += 5_000;
      expect(await s.get('flight')).toBeUndefined();
      expect(await s.setIfAbsent('jti-5', 'e', 60_000)).toBe(true);
    } finally {
      clock.mockRestore();
    }
  });

  it('set with a TTL of 0 removes the value', async () => {
    const s = new MemoryStore();
    await s.set('k', 'v', 60_000);
    await s.set('k', 'w', 0);
    expect(await s.get('k')).toBeUndefined();
  });

  it('withLock: one holder at a time, results and rejections passed through, the lock released', async () => {
    const s = new MemoryStore();
    let inside = 0;
    let most = 0;
    const ran = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        s.withLock('m', 5_000, async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(2);
          inside--;
          return i;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await expect(s.withLock('m', 5_000, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await s.withLock('m', 5_000, async () => 'free again', { waitMs: 0 })).toBe('free again');
  });

  it('withLock: a holder past its lease loses the lock, and its late release leaves the new holder alone', async () => {
    const s = new MemoryStore();
    let endFirst!: () => void;
    const first = s.withLock('lease', 300, () => new Promise<void>((r) => (endFirst = r)));
    await expect(s.withLock('lease', 5_000, async () => 'early', { waitMs: 10 })).rejects.toBeInstanceOf(LockTimeoutError);
    let endSecond!: () => void;
    let secondIn!: () => void;
    const entered = new Promise<void>((r) => (secondIn = r));
    const second = s.withLock('lease', 5_000, () => (secondIn(), new Promise<void>((r) => (endSecond = r))), { waitMs: 5_000 });
    await entered;
    endFirst();
    await first;
    await expect(s.withLock('lease', 5_000, async () => 'third', { waitMs: 10 })).rejects.toBeInstanceOf(LockTimeoutError);
    endSecond();
    await second;
  });
});
