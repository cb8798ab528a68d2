/**
 * One AS call per new token across replicas that are separate processes on one real redis-server (the README's
 * promise: 100 requests with one new token spread over three replicas cost one introspection). A replica that
 * read the shared verdict before another replica wrote it, and then won the claim the other had just released,
 * must read the verdict once more instead of asking the AS again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { startFakeAuthorizationServer, type FakeAuthorizationServer } from '../helpers/fake-authorization-server.js';

const RESOURCE = 'https://api.example.com';
const helpers = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'helpers');
let redis: RedisServerHandle;
let fake: FakeAuthorizationServer;
let inspect: Redis;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  fake = await startFakeAuthorizationServer();
  inspect = new Redis(redis.url);
});
afterAll(async () => {
  for (const c of children) c.kill();
  inspect?.disconnect();
  await fake?.close();
  await redis?.close();
});

interface Replica {
  child: ChildProcess;
  url: string;
}

/** A replica process (test/helpers/introspection-replica.ts), with its port once it listens. */
async function replica(env: Record<string, string> = {}): Promise<Replica> {
  const child = fork(join(helpers, 'introspection-replica.ts'), [], {
    execArgv: ['--import', join(helpers, 'ts-register.mjs')],
    env: { ...process.env, REDIS_URL: redis.url, ISSUER: fake.issuer, ENDPOINT: fake.introspectionEndpoint, RESOURCE, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { ready?: number }) => m.ready && resolve(m.ready));
    child.once('exit', (code) => reject(new Error(`replica exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/r` };
}

const now = () => Math.floor(Date.now() / 1000);
const activeAnswer = () => ({
  json: { active: true, scope: 'read', aud: RESOURCE, iss: fake.issuer, exp: now() + 300, token_type: 'Bearer' },
});
const get = (r: Replica, token: string) =>
  fetch(r.url, { headers: { authorization: `Bearer ${token}` } }).then(async (res) => (await res.text(), res.status));

describe('introspection across replica processes sharing Redis', () => {
  it('does not ask the AS again when the claim is won after another replica shared its verdict', async () => {
    fake.introspections.length = 0;
    fake.answer = activeAnswer();
    const [a, b] = await Promise.all([replica(), replica({ GATE_CLAIM: '1' })]);
    const token = 'opaque-race-token-0001';
    // B reads the shared verdict (none yet) and is held just before it claims the token.
    const claiming = new Promise((resolve) => b.child.on('message', (m: { claiming?: boolean }) => m.claiming && resolve(true)));
    const atB = get(b, token);
    await claiming;
    // A asks the AS, shares its verdict and releases its claim meanwhile.
    expect(await get(a, token)).toBe(200);
    for (let i = 0; i < 200 && (await inspect.keys('*:flight')).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await inspect.keys('*:flight')).toEqual([]);
    expect(fake.introspections).toHaveLength(1);
    // B now wins the free claim: it must find A's verdict instead of calling the AS.
    b.child.send('go');
    expect(await atB).toBe(200);
    expect(fake.introspections).toHaveLength(1);
  }, 60_000);

  it('costs one AS call per new token for 100 requests spread over three replica processes, round after round', async () => {
    fake.introspections.length = 0;
    fake.answer = activeAnswer();
    const replicas = await Promise.all([replica(), replica(), replica()]);
    const rounds = 20;
    for (let round = 0; round < rounds; round++) {
      const token = `opaque-spread-token-${round}-${Date.now()}`;
      const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) => get(replicas[i % 3]!, token)));
      expect(statuses.every((s) => s === 200)).toBe(true);
    }
    expect(fake.introspections).toHaveLength(rounds);
  }, 60_000);
});
