/**
 * One replica of an introspecting API, as a process of its own (started by a test with child_process.fork
 * through ts-register.mjs): an Express app guarded by the kit, sharing introspection verdicts through a real
 * Redis. It tells its port over IPC (`{ ready: port }`).
 *
 * With `GATE_CLAIM=1`, its first claim of a token (the store's `setIfAbsent` of a `:flight` key) waits: the
 * replica tells `{ claiming: true }` and goes on when told `'go'`. That holds a replica between its read of
 * the shared verdict and its claim, where another replica may finish in between (what a slow link to Redis
 * or a busy event loop does at random), so the test can put the race exactly there.
 */
import express from 'express';
import { oauthResourceServer, RedisStore, requireScopes, type AtomicStore } from '../../src/index.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const redis = await RedisStore.connect(env('REDIS_URL'));
let gate: Promise<void> | undefined;
const store: AtomicStore = {
  get: (k) => redis.get(k),
  set: (k, v, ttl) => redis.set(k, v, ttl),
  delete: (k) => redis.delete(k),
  withLock: (name, lease, fn, o) => redis.withLock(name, lease, fn, o),
  async setIfAbsent(key, value, ttlMs) {
    if (process.env.GATE_CLAIM === '1' && key.endsWith(':flight') && !gate) {
      gate = new Promise<void>((resolve) => process.on('message', (m) => m === 'go' && resolve()));
      process.send!({ claiming: true });
      await gate;
    }
    return redis.setIfAbsent(key, value, ttlMs);
  },
};

const app = express();
app.use(
  oauthResourceServer({
    issuer: {
      issuer: env('ISSUER'),
      validation: 'introspection',
      introspection: { clientId: 'rs-client', clientSecret: 'rs-secret', endpoint: env('ENDPOINT') },
    },
    resource: env('RESOURCE'),
    cache: { store },
    logger: false,
  }),
);
app.get('/r', requireScopes('read'), (_req, res) => {
  res.end('ok');
});
const server = app.listen(0, '127.0.0.1', () => {
  process.send!({ ready: (server.address() as { port: number }).port });
});
process.on('disconnect', () => {
  server.close();
  void redis.close();
  server.closeAllConnections();
});
