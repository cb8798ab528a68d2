/**
 * Many replicas over one real redis-server: a DPoP proof used at replica A is refused at replica B, three
 * replicas starting together register each UMA resource exactly once (counted at the AS), and after the AS
 * lost its sets, concurrent requests over the replicas all get tickets while the set is registered again once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  oauthResourceServer,
  RedisStore,
  ResourceServer,
  requireScopes,
  umaProtection,
  type AtomicStore,
  type LockOptions,
} from '../../src/index.js';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

const API = 'https://api.example.com';
let redis: RedisServerHandle;
let as: DevUmaAuthorizationServer;
const stores: RedisStore[] = [];
beforeAll(async () => {
  redis = await startRedisServer();
  as = (await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read'] }], uma: true })) as DevUmaAuthorizationServer;
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await as?.close();
  await redis?.stop();
});
/** Each replica with its own connection, as separate processes would have. */
async function replicaStore(): Promise<RedisStore> {
  const s = await RedisStore.connect(redis.url);
  stores.push(s);
  return s;
}

describe('replicas sharing Redis', () => {
  it('refuses at replica B a DPoP proof used at replica A', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const token = await as.signToken({ claims: { aud: API, scope: 'read', cnf: { jkt: await calculateJwkThumbprint(jwk) } } });
    const proof = await new SignJWT({
      htm: 'GET',
      htu: `${API}/r`,
      iat: Math.floor(Date.now() / 1000),
      jti: randomBytes(12).toString('base64url'),
      ath: createHash('sha256').update(token).digest('base64url'),
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
      .sign(privateKey);
    const replica = async () => {
      const a = express();
      a.use(
        oauthResourceServer({ issuer: as.issuer, resource: API, dpop: { baseUrl: API, replayStore: await replicaStore() }, logger: false }),
      );
      a.get('/r', requireScopes('read'), (_req, res) => {
        res.end('ok');
      });
      return a;
    };
    const [a, b] = [await replica(), await replica()];
    expect((await request(a).get('/r').set('Authorization', `DPoP ${token}`).set('DPoP', proof)).status).toBe(200);
    expect((await request(b).get('/r').set('Authorization', `DPoP ${token}`).set('DPoP', proof)).status).toBe(401);
  });

  it('registers each resource exactly once when three replicas start together', async () => {
    const replica = async () => {
      const rs = new ResourceServer({
        issuer: { issuer: as.issuer, introspection: { ...as.resourceServerClient, acceptMissingAudience: true } },
        resource: API,
        logger: false,
      });
      const uma = umaProtection({
        resourceServer: rs,
        issuer: as.issuer,
        clientId: as.resourceServerClient.clientId,
        clientSecret: as.resourceServerClient.clientSecret,
        store: await replicaStore(),
        logger: false,
      });
      const app = express();
      app.get('/albums/:id', uma.require('view'), (_req, res) => {
        res.end();
      });
      app.get('/photos/:id', uma.require('view'), (_req, res) => {
        res.end();
      });
      return uma.declareRoutes(app);
    };
    const registrars = await Promise.all([replica(), replica(), replica()]);
    const results = await Promise.all(registrars.map((r) => r.sync()));
    expect(results.every((r) => r.state === 'registered')).toBe(true);
    expect(
      as.uma
        .resources()
        .map((r) => r.name)
        .sort(),
    ).toEqual(['/albums/:id', '/photos/:id']);
  });
});

/** A replica's Redis store that tells when the UMA mapping is being written (and writes it a little late). */
class WatchedStore implements AtomicStore {
  static #waiters: Array<() => void> = [];
  readonly #inner: RedisStore;
  constructor(inner: RedisStore) {
    this.#inner = inner;
  }
  static nextMappingWrite(): Promise<void> {
    return new Promise((resolve) => WatchedStore.#waiters.push(resolve));
  }
  get(key: string) {
    return this.#inner.get(key);
  }
  async set(key: string, value: string, ttlMs: number) {
    if (key.startsWith('ors:uma-mapping')) {
      for (const w of WatchedStore.#waiters.splice(0)) w();
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.#inner.set(key, value, ttlMs);
  }
  delete(key: string) {
    return this.#inner.delete(key);
  }
  setIfAbsent(key: string, value: string, ttlMs: number) {
    return this.#inner.setIfAbsent(key, value, ttlMs);
  }
  withLock<T>(name: string, leaseMs: number, fn: () => Promise<T>, options?: LockOptions) {
    return this.#inner.withLock(name, leaseMs, fn, options);
  }
}

describe('UMA re-registration across replicas sharing Redis', () => {
  it('answers 30 concurrent requests over three replicas with 30 tickets after the AS lost the set, registering it once', async () => {
    const replica = async () => {
      const rs = new ResourceServer({
        issuer: { issuer: as.issuer, introspection: as.resourceServerClient },
        resource: API,
        logger: false,
      });
      const uma = umaProtection({
        resourceServer: rs,
        issuer: as.issuer,
        namespace: 'reregistration',
        ...as.resourceServerClient,
        store: new WatchedStore(await replicaStore()),
        logger: false,
      });
      const app = express();
      app.get('/reports/:id', uma.require('view'), (_req, res) => {
        res.end();
      });
      return { app, registrar: uma.declareRoutes(app) };
    };
    const replicas = await Promise.all([replica(), replica(), replica()]);
    await Promise.all(replicas.map((r) => r.registrar.sync()));
    const ours = () => as.uma.resources().filter((r) => r.name === '/reports/:id');
    expect(ours()).toHaveLength(1);
    for (let round = 0; round < 3; round++) {
      as.uma.forgetResources();
      const written = WatchedStore.nextMappingWrite();
      const first = request(replicas[0]!.app)
        .get('/reports/1')
        .then((r) => r);
      await written;
      const rest = replicas.flatMap((r, i) =>
        Array.from({ length: i === 0 ? 9 : 10 }, () =>
          request(r.app)
            .get('/reports/1')
            .then((x) => x),
        ),
      );
      const statuses = (await Promise.all([first, ...rest])).map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(30);
      expect(ours()).toHaveLength(1);
      expect(new Set(replicas.map((r) => r.registrar.resourceId('route:/reports/:id')))).toEqual(new Set([ours()[0]!._id]));
    }
  });
});

describe('UMA reconcile across replicas sharing Redis', () => {
  it('reconciles once when three replicas reconcile at the same time, bringing back every lost set', async () => {
    const replica = async () => {
      const rs = new ResourceServer({
        issuer: { issuer: as.issuer, introspection: as.resourceServerClient },
        resource: API,
        logger: false,
      });
      const uma = umaProtection({
        resourceServer: rs,
        issuer: as.issuer,
        namespace: 'reconcile',
        ...as.resourceServerClient,
        store: await replicaStore(),
        logger: false,
      });
      const app = express();
      app.get('/invoices/:id', uma.require('view'), (_req, res) => {
        res.end();
      });
      app.get('/invoices', uma.require('view'), (_req, res) => {
        res.end();
      });
      return uma.declareRoutes(app);
    };
    const registrars = await Promise.all([replica(), replica(), replica()]);
    await Promise.all(registrars.map((r) => r.sync()));
    const ours = () =>
      as.uma
        .resources()
        .filter((r) => String(r.name).startsWith('/invoices'))
        .map((r) => r.name)
        .sort();
    for (let round = 0; round < 2; round++) {
      as.uma.forgetResources();
      const lists = as.uma.requests.list.GET ?? 0;
      await Promise.all(registrars.map((r) => r.reconcile()));
      expect((as.uma.requests.list.GET ?? 0) - lists).toBe(1);
      expect(ours()).toEqual(['/invoices', '/invoices/:id']);
    }
  });
});
