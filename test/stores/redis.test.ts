/**
 * RedisStore against a real redis-server (started from PATH on a loopback port, stopped in afterAll):
 * the store operations, set-if-absent and the leased lock across two clients (two replicas), the kit's
 * introspection verdicts shared by two replicas through Redis, and a Redis that hangs or stops mid-test.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { Redis } from 'ioredis';
import {
  getAuth,
  isAtomicStore,
  LockTimeoutError,
  oauthResourceServer,
  RedisStore,
  requireScopes,
  type CacheStore,
} from '../../src/index.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { startFakeAuthorizationServer, type FakeAuthorizationServer } from '../helpers/fake-authorization-server.js';

const RESOURCE = 'https://api.example.com';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let redis: RedisServerHandle;
let raw: Redis;
const clients: Redis[] = [];
const owned: RedisStore[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  raw = client();
}, 30_000);
afterAll(async () => {
  for (const s of owned) await s.close();
  for (const c of clients) c.disconnect();
  await redis?.close();
});

/** An ioredis client of the test's own (as a user would create it). */
function client(): Redis {
  const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}
/** One replica's store over its own connection, on a client the user made. */
const storeOn = (options: { prefix?: string; timeoutMs?: number } = {}) => new RedisStore({ client: client(), ...options });
/** One replica's store that opened its own connection. */
async function connected(options: { timeoutMs?: number } = {}): Promise<RedisStore> {
  const s = await RedisStore.connect(redis.url, options);
  owned.push(s);
  return s;
}
/** Retry `fn` until it resolves (bounded), for what settles asynchronously (a reconnection, a background write). */
async function eventually<T>(fn: () => Promise<T>, attempts = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await sleep(100);
    }
  }
  throw last;
}
/** A promise and the function that resolves it. */
function gate(): [Promise<void>, () => void] {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return [p, open];
}

describe('RedisStore as a CacheStore', () => {
  it('gets, sets with a TTL in ms and deletes, under the prefix, visible to another replica', async () => {
    const a = storeOn();
    const b = storeOn();
    expect(isAtomicStore(a)).toBe(true);
    expect(await a.get('basic')).toBeUndefined();
    await a.set('basic', 'v1', 60_000);
    expect(await b.get('basic')).toBe('v1');
    expect(await raw.get('ors:basic')).toBe('v1');
    const pttl = await raw.pttl('ors:basic');
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(60_000);
    await b.delete('basic');
    expect(await a.get('basic')).toBeUndefined();
    await storeOn({ prefix: 'other-app:' }).set('basic', 'v2', 60_000);
    expect(await raw.get('other-app:basic')).toBe('v2');
  });

  it('forgets a value past its TTL; a TTL of 0 removes the value; a very long TTL keeps it', async () => {
    const s = storeOn();
    await s.set('short', 'x', 30);
    await sleep(80);
    expect(await s.get('short')).toBeUndefined();
    await s.set('zeroed', 'x', 60_000);
    await s.set('zeroed', 'y', 0);
    expect(await s.get('zeroed')).toBeUndefined();
    await s.set('forever', 'x', 100 * 365 * 24 * 3600 * 1000);
    expect(await raw.pttl('ors:forever')).toBe(-1);
  });

  it('connects by URL (ioredis imported on demand) and refuses an unreachable Redis at start-up', async () => {
    const s = await connected();
    await s.set('by-url', 'v', 60_000);
    expect(await s.get('by-url')).toBe('v');
    await expect(RedisStore.connect('redis://127.0.0.1:1', { timeoutMs: 300 })).rejects.toThrow();
  });
});

describe('setIfAbsent', () => {
  it('of 20 concurrent callers on two replicas exactly one wins, and its value stays', async () => {
    const a = storeOn();
    const b = storeOn();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).setIfAbsent('race', `caller-${i}`, 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await a.get('race')).toBe(`caller-${results.indexOf(true)}`);
    expect(await b.setIfAbsent('race', 'late', 60_000)).toBe(false);
  });

  it('wins again once the value has expired', async () => {
    const s = storeOn();
    expect(await s.setIfAbsent('expiring', 'first', 30)).toBe(true);
    await sleep(80);
    expect(await s.setIfAbsent('expiring', 'second', 60_000)).toBe(true);
    expect(await s.get('expiring')).toBe('second');
  });
});

describe('setIfAbsent never forgets a claim early (a DPoP jti)', () => {
  it('refuses while Redis may evict keys before their TTL (a memory limit and an evicting maxmemory-policy), and works with noeviction', async () => {
    const real = Date.now.bind(Date);
    let offset = 0;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => real() + offset);
    try {
      await raw.config('SET', 'maxmemory', '512mb');
      await raw.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const s = storeOn();
      await expect(s.setIfAbsent('claim', '1', 60_000)).rejects.toThrow(/maxmemory-policy allkeys-lru/);
      expect(await raw.exists('ors:claim')).toBe(0);
      // volatile-* policies evict exactly the keys with a TTL, which every claim has. The setting is read
      // again after a minute.
      await raw.config('SET', 'maxmemory-policy', 'volatile-ttl');
      offset += 61_000;
      await expect(s.setIfAbsent('claim', '1', 60_000)).rejects.toThrow(/maxmemory-policy volatile-ttl/);
      // noeviction: a full Redis refuses writes instead (and the kit fails closed).
      await raw.config('SET', 'maxmemory-policy', 'noeviction');
      offset += 61_000;
      expect(await s.setIfAbsent('claim', '1', 60_000)).toBe(true);
      // Without a memory limit nothing is evicted, whatever the policy.
      await raw.config('SET', 'maxmemory', '0');
      await raw.config('SET', 'maxmemory-policy', 'allkeys-lru');
      expect(await storeOn().setIfAbsent('claim-2', '1', 60_000)).toBe(true);
    } finally {
      clock.mockRestore();
      await raw.config('SET', 'maxmemory', '0');
      await raw.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });
});

describe('withLock', () => {
  it('excludes across two replicas: never two holders at once, and every caller runs', async () => {
    const a = storeOn();
    const b = storeOn();
    let inside = 0;
    let most = 0;
    const ran = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).withLock('mutex', 5_000, async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(5);
          inside--;
          return i;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(ran).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(await raw.exists('ors:lock:mutex')).toBe(0);
  });

  it("passes fn's rejection through and releases the lock", async () => {
    const s = storeOn();
    await expect(s.withLock('failing', 5_000, () => Promise.reject(new Error('work failed')))).rejects.toThrow('work failed');
    expect(await raw.exists('ors:lock:failing')).toBe(0);
  });

  it('frees the lock of a holder that died once its lease expires; until then others time out', async () => {
    const dying = client();
    const [acquired, markAcquired] = gate();
    // The holder's process dies while it holds the lock: its connection is gone and it never releases.
    void new RedisStore({ client: dying }).withLock('orphan', 500, () => {
      markAcquired();
      dying.disconnect();
      return new Promise<never>(() => undefined);
    });
    await acquired;
    const survivor = storeOn();
    await expect(survivor.withLock('orphan', 1_000, async () => 'too early', { waitMs: 20 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(await survivor.withLock('orphan', 1_000, async () => 'taken over', { waitMs: 10_000 })).toBe('taken over');
  });

  it('a holder that outlived its lease does not release the lock another replica took over', async () => {
    const a = storeOn();
    const b = storeOn();
    const [aIn, enteredA] = gate();
    const [aMayEnd, endA] = gate();
    const [bIn, enteredB] = gate();
    const [bMayEnd, endB] = gate();
    const aDone = a.withLock('lease', 200, () => (enteredA(), aMayEnd));
    await aIn;
    const bDone = b.withLock('lease', 10_000, () => (enteredB(), bMayEnd), { waitMs: 10_000 });
    await bIn; // A's lease expired while A was still working
    endA();
    await aDone; // A "releases": compare-and-delete leaves B's lock alone
    expect(await raw.exists('ors:lock:lease')).toBe(1);
    await expect(storeOn().withLock('lease', 1_000, async () => 'third', { waitMs: 50 })).rejects.toBeInstanceOf(LockTimeoutError);
    endB();
    await bDone;
    expect(await raw.exists('ors:lock:lease')).toBe(0);
  });
});

describe('the introspection verdicts shared by replicas through Redis', () => {
  let fake: FakeAuthorizationServer;
  beforeAll(async () => {
    fake = await startFakeAuthorizationServer();
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    fake.introspections.length = 0;
  });

  const now = () => Math.floor(Date.now() / 1000);
  const active = () => ({
    active: true,
    scope: 'read',
    client_id: 'c1',
    sub: 'u1',
    aud: RESOURCE,
    iss: fake.issuer,
    exp: now() + 300,
    token_type: 'Bearer',
  });
  function replica(store: CacheStore) {
    const a = express();
    a.use(
      oauthResourceServer({
        issuer: {
          issuer: fake.issuer,
          validation: 'introspection',
          introspection: { clientId: 'rs-client', clientSecret: 'rs-secret', endpoint: fake.introspectionEndpoint },
        },
        resource: RESOURCE,
        logger: false,
        http: { timeoutMs: 2000 },
        cache: { store },
      }),
    );
    a.get('/r', requireScopes('read'), (req, res) => {
      res.json({ sub: getAuth(req)!.subject });
    });
    return a;
  }
  const get = (a: express.Express, token: string) => request(a).get('/r').set('Authorization', `Bearer ${token}`);
  const introspectionKeys = () => raw.keys('ors:*introspection*');
  /** Ask replica A, then wait until its background write of the verdict has reached Redis (a key not there before). */
  async function viaA(replicaA: express.Express, token: string): Promise<[number, string]> {
    const before = new Set(await introspectionKeys());
    const { status } = await get(replicaA, token);
    const key = await eventually(async () => {
      const added = (await introspectionKeys()).find((k) => !before.has(k));
      if (!added) throw new Error('the verdict has not reached Redis');
      return added;
    });
    return [status, key];
  }

  it('two replicas, one AS call per token; keys are hashes of the token, TTLs bounded by exp', async () => {
    const replicaA = replica(storeOn());
    const replicaB = replica(await connected());
    const token = 'opaque-token-shared-0123456789';
    fake.answer = { json: active() };
    const [status, key] = await viaA(replicaA, token);
    expect(status).toBe(200);
    expect((await get(replicaB, token)).status).toBe(200);
    expect(key).not.toContain(token);
    const pttl = await raw.pttl(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300_000);

    fake.answer = { json: { active: false } };
    expect((await viaA(replicaA, 'refused-token-0123456789'))[0]).toBe(401);
    expect((await get(replicaB, 'refused-token-0123456789')).status).toBe(401);
    expect(fake.introspections).toHaveLength(2);
  });

  it('Redis hung: store calls reject at the timeout and each replica asks the AS; then it recovers', async () => {
    const a = await connected({ timeoutMs: 200 });
    const b = storeOn({ timeoutMs: 200 });
    const replicaA = replica(a);
    const replicaB = replica(b);
    fake.answer = { json: active() };
    redis.pause();
    try {
      await expect(a.get('anything')).rejects.toThrow('Redis GET did not answer within 200 ms');
      await expect(b.setIfAbsent('anything', 'v', 60_000)).rejects.toThrow('Redis SET did not answer within 200 ms');
      expect((await get(replicaA, 'hung-token-0123456789')).status).toBe(200);
      expect((await get(replicaB, 'hung-token-0123456789')).status).toBe(200);
      expect(fake.introspections).toHaveLength(2);
    } finally {
      redis.resume();
    }
    await eventually(() => Promise.all([a.get('anything'), b.get('anything')]));
    expect((await viaA(replicaA, 'after-hang-token-0123456789'))[0]).toBe(200);
    expect((await get(replicaB, 'after-hang-token-0123456789')).status).toBe(200);
    expect(fake.introspections).toHaveLength(3);
  });

  it('Redis stopped: store calls reject and each replica asks the AS; started again on the same port: shared again', async () => {
    const a = await connected({ timeoutMs: 200 });
    const b = storeOn({ timeoutMs: 200 });
    const replicaA = replica(a);
    const replicaB = replica(b);
    fake.answer = { json: active() };
    await redis.stop();
    try {
      await expect(a.get('anything')).rejects.toThrow();
      await expect(b.set('anything', 'v', 60_000)).rejects.toThrow();
      expect((await get(replicaA, 'outage-token-0123456789')).status).toBe(200);
      expect((await get(replicaB, 'outage-token-0123456789')).status).toBe(200);
      expect(fake.introspections).toHaveLength(2);
    } finally {
      await redis.start();
    }
    // Both clients reconnect by themselves; the new server starts empty.
    await eventually(() => Promise.all([a.get('anything'), b.get('anything')]));
    expect((await viaA(replicaA, 'recovered-token-0123456789'))[0]).toBe(200);
    expect((await get(replicaB, 'recovered-token-0123456789')).status).toBe(200);
    expect(fake.introspections).toHaveLength(3);
  });
});
