/**
 * RedisStore's lock when Redis hangs mid-acquire (a real redis-server, paused with SIGSTOP): the SET whose
 * reply timed out still runs once Redis resumes, and must not leave the lock held, under a token nobody
 * knows, for the whole lease.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/index.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

let redis: RedisServerHandle;
let raw: Redis;
const stores: RedisStore[] = [];
beforeAll(async () => {
  redis = await startRedisServer();
  raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  raw.on('error', () => undefined);
}, 30_000);
afterAll(async () => {
  redis?.resume();
  for (const s of stores) await s.close();
  raw?.disconnect();
  await redis?.close();
});

async function connected(): Promise<RedisStore> {
  const s = await RedisStore.connect(redis.url, { timeoutMs: 200 });
  stores.push(s);
  return s;
}

it('an acquire whose reply timed out does not keep the lock for its lease once Redis resumes', async () => {
  const a = await connected();
  const b = await connected();
  const leaseMs = 60_000;
  redis.pause();
  let ran = false;
  try {
    await expect(
      a.withLock('job', leaseMs, async () => {
        ran = true;
      }),
    ).rejects.toThrow(/did not answer/);
  } finally {
    redis.resume();
  }
  expect(ran).toBe(false);
  // Another replica gets the lock well within the lease (which, left held, would make it time out).
  expect(await b.withLock('job', leaseMs, async () => 'ran', { waitMs: 5_000 })).toBe('ran');
  expect(await raw.exists('ors:lock:job')).toBe(0);
});
