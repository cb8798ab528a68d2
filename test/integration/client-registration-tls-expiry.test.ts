/**
 * Self-registration against a scripted AS: TLS is required where secrets travel (RFC 7591 §3, RFC 7592 §2;
 * http only on loopback), an expired client secret is not reused (RFC 7591 §3.2.1 client_secret_expires_at,
 * RFC 7592 §2.1), and an answer that is not a JSON object is a configuration error, not a TypeError.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError, MemoryStore, registerResourceServer } from '../../src/index.js';

const IAT = 'initial-access-token-do-not-leak';
const RAT = 'registration-access-token-do-not-leak';
const SECRET = 'client-secret-do-not-leak';
// TEST-NET-1 (RFC 5737): never loopback, never answers, so a request there would only time out.
const REMOTE = 'http://192.0.2.2:9';

interface Recorded {
  method: string;
  path: string;
  authorization: string | undefined;
}
interface ScriptedAs {
  issuer: string;
  seen: Recorded[];
  /** Answer of POST /reg: status and raw JSON text. */
  register: (n: number) => { status?: number; text: string };
  /** Answer of GET /reg/<id>. */
  read: (id: string) => { status?: number; text: string };
  registrationEndpoint: (issuer: string) => string;
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

async function scriptedAs(overrides: Partial<Omit<ScriptedAs, 'issuer' | 'seen'>> = {}): Promise<ScriptedAs> {
  let registrations = 0;
  const as: ScriptedAs = {
    issuer: '',
    seen: [],
    register: (n) => ({
      status: 201,
      text: JSON.stringify({ client_id: `c${n}`, client_secret: `${SECRET}-${n}`, client_secret_expires_at: 0 }),
    }),
    read: () => ({ status: 404, text: '{}' }),
    registrationEndpoint: (issuer) => `${issuer}/reg`,
    ...overrides,
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      as.seen.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/oauth-authorization-server') {
        return res.end(
          JSON.stringify({
            issuer: as.issuer,
            registration_endpoint: as.registrationEndpoint(as.issuer),
            token_endpoint: `${as.issuer}/token`,
            response_types_supported: ['code'],
          }),
        );
      }
      const answer =
        req.url === '/reg' && req.method === 'POST'
          ? as.register(++registrations)
          : req.url!.startsWith('/reg/') && req.method === 'GET'
            ? as.read(req.url!.slice(5))
            : { status: 404, text: '{}' };
      res.statusCode = answer.status ?? 200;
      res.end(answer.text);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  as.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return as;
}
const posts = (as: ScriptedAs) => as.seen.filter((r) => r.method === 'POST' && r.path === '/reg').length;
const failure = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigurationError);
  return err as ConfigurationError;
};
const noSecrets = (err: Error) => {
  for (const s of [IAT, RAT, SECRET]) expect(err.message).not.toContain(s);
};

describe('TLS for registration (RFC 7591 §3, RFC 7592 §2)', () => {
  it('refuses a configured registration endpoint that is plain http off loopback, before sending the initial access token', async () => {
    const as = await scriptedAs();
    const err = await failure(
      registerResourceServer({
        issuer: as.issuer,
        registrationEndpoint: `${REMOTE}/reg?k=${IAT}`,
        initialAccessToken: IAT,
        store: new MemoryStore(),
        timeoutMs: 300,
      }),
    );
    expect(err.message).toMatch(/https/);
    noSecrets(err);
  });

  it('refuses a discovered registration endpoint that is plain http off loopback', async () => {
    const as = await scriptedAs({ registrationEndpoint: () => `${REMOTE}/reg` });
    const err = await failure(
      registerResourceServer({ issuer: as.issuer, initialAccessToken: IAT, store: new MemoryStore(), timeoutMs: 300 }),
    );
    expect(err.message).toMatch(/https/);
    noSecrets(err);
  });

  it('keeps the client an AS created with a plain-http registration_client_uri, without management: no orphan, no token sent there', async () => {
    const as = await scriptedAs({
      register: () => ({
        status: 201,
        text: JSON.stringify({
          client_id: 'c1',
          client_secret: SECRET,
          client_secret_expires_at: 0,
          registration_access_token: RAT,
          registration_client_uri: `${REMOTE}/reg/c1`,
        }),
      }),
    });
    const store = new MemoryStore();
    const first = await registerResourceServer({ issuer: as.issuer, store, timeoutMs: 300 });
    expect(first).toEqual({ clientId: 'c1', clientSecret: SECRET, clientSecretExpiresAt: 0 });
    // The next starts reuse it (registered without management): nothing goes to the http URI, nothing new is registered.
    expect((await registerResourceServer({ issuer: as.issuer, store, timeoutMs: 300 })).clientId).toBe('c1');
    expect(posts(as)).toBe(1);
    expect(as.seen.every((r) => r.authorization !== `Bearer ${RAT}`)).toBe(true);
    // http stays allowed on loopback (development).
    const local = await scriptedAs({
      register: () => ({
        status: 201,
        text: JSON.stringify({
          client_id: 'c1',
          client_secret: SECRET,
          client_secret_expires_at: 0,
          registration_access_token: RAT,
          registration_client_uri: 'http://127.0.0.1:1/reg/c1',
        }),
      }),
    });
    await expect(registerResourceServer({ issuer: local.issuer, store: new MemoryStore() })).resolves.toMatchObject({
      clientId: 'c1',
      registrationClientUri: 'http://127.0.0.1:1/reg/c1',
    });
  });
});

describe('an answer that is not a JSON object (RFC 7591 §3.2.1)', () => {
  it('turns null (or an array, a string, a number) into a ConfigurationError, not a TypeError', async () => {
    for (const text of ['null', '[]', '"c1"', '42']) {
      const as = await scriptedAs({ register: () => ({ status: 201, text }) });
      const err = await failure(registerResourceServer({ issuer: as.issuer, store: new MemoryStore() }));
      expect(err).not.toBeInstanceOf(TypeError);
    }
  });
});

describe('an expired client secret (RFC 7591 §3.2.1 client_secret_expires_at)', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('without management, registers anew instead of reusing a secret in the past or within 60 s', async () => {
    for (const expiresAt of [1000, now() + 30]) {
      const as = await scriptedAs({
        register: (n) => ({
          status: 201,
          text: JSON.stringify({
            client_id: `c${n}`,
            client_secret: `${SECRET}-${n}`,
            client_secret_expires_at: n === 1 ? expiresAt : now() + 86400,
          }),
        }),
      });
      const store = new MemoryStore();
      const first = await registerResourceServer({ issuer: as.issuer, store });
      expect(first.clientSecretExpiresAt).toBe(expiresAt);
      const second = await registerResourceServer({ issuer: as.issuer, store });
      expect(posts(as)).toBe(2);
      expect(second).toMatchObject({ clientId: 'c2', clientSecret: `${SECRET}-2` });
      // and the fresh one is what the store now holds
      expect(await registerResourceServer({ issuer: as.issuer, store })).toMatchObject({ clientId: 'c2' });
      expect(posts(as)).toBe(2);
    }
    // A secret that never expires (0), or expires later, is still reused as is.
    for (const expiresAt of [0, now() + 3600]) {
      const as = await scriptedAs({
        register: (n) => ({
          status: 201,
          text: JSON.stringify({ client_id: `c${n}`, client_secret: `${SECRET}-${n}`, client_secret_expires_at: expiresAt }),
        }),
      });
      const store = new MemoryStore();
      await registerResourceServer({ issuer: as.issuer, store });
      expect(await registerResourceServer({ issuer: as.issuer, store })).toMatchObject({ clientId: 'c1' });
      expect(posts(as)).toBe(1);
    }
  });

  it('with management, reads the client again (RFC 7592 §2.1): takes a renewed secret, registers anew when it is still expired', async () => {
    const renewed = await scriptedAs({
      register: (n) => ({
        status: 201,
        text: JSON.stringify({
          client_id: `c${n}`,
          client_secret: `old-${n}`,
          client_secret_expires_at: 1000,
          registration_access_token: RAT,
          registration_client_uri: `${renewed.issuer}/reg/c${n}`,
        }),
      }),
      read: (id) => ({ text: JSON.stringify({ client_id: id, client_secret: 'rotated', client_secret_expires_at: now() + 3600 }) }),
    });
    const renewedStore = new MemoryStore();
    await registerResourceServer({ issuer: renewed.issuer, store: renewedStore });
    expect(await registerResourceServer({ issuer: renewed.issuer, store: renewedStore })).toMatchObject({
      clientId: 'c1',
      clientSecret: 'rotated',
    });
    expect(posts(renewed)).toBe(1);

    const as = await scriptedAs({
      register: (n) => ({
        status: 201,
        text: JSON.stringify({
          client_id: `c${n}`,
          client_secret: `s-${n}`,
          client_secret_expires_at: n === 1 ? 1000 : 0,
          registration_access_token: RAT,
          registration_client_uri: `${as.issuer}/reg/c${n}`,
        }),
      }),
      read: (id) => ({ text: JSON.stringify({ client_id: id, client_secret: 's-1', client_secret_expires_at: 1000 }) }),
    });
    const store = new MemoryStore();
    await registerResourceServer({ issuer: as.issuer, store });
    const again = await registerResourceServer({ issuer: as.issuer, store });
    expect(as.seen.some((r) => r.method === 'GET' && r.path === '/reg/c1')).toBe(true);
    expect(posts(as)).toBe(2);
    expect(again).toMatchObject({ clientId: 'c2', clientSecret: 's-2', clientSecretExpiresAt: 0 });
  });

  it('with management, does not keep a stale expiry when the read does not restate it for the same secret', async () => {
    const as = await scriptedAs({
      register: (n) => ({
        status: 201,
        text: JSON.stringify({
          client_id: `c${n}`,
          client_secret: `s-${n}`,
          client_secret_expires_at: n === 1 ? 1000 : 0,
          registration_access_token: RAT,
          registration_client_uri: `${as.issuer}/reg/c${n}`,
        }),
      }),
      read: (id) => ({ text: JSON.stringify({ client_id: id }) }),
    });
    const store = new MemoryStore();
    await registerResourceServer({ issuer: as.issuer, store });
    expect(await registerResourceServer({ issuer: as.issuer, store })).toMatchObject({ clientId: 'c2' });
  });
});

describe('what the management answers mean (RFC 7592 §2.1)', () => {
  it('keeps the client when the AS answers 403 to the read (not permitted: it exists), instead of orphaning it', async () => {
    const as = await scriptedAs({
      register: (n) => ({
        status: 201,
        text: JSON.stringify({
          client_id: `c${n}`,
          client_secret: `s-${n}`,
          client_secret_expires_at: 0,
          registration_access_token: RAT,
          registration_client_uri: `${as.issuer}/reg/c${n}`,
        }),
      }),
      read: () => ({ status: 403, text: JSON.stringify({ error: 'access_denied' }) }),
    });
    const store = new MemoryStore();
    const first = await registerResourceServer({ issuer: as.issuer, store });
    const again = await registerResourceServer({ issuer: as.issuer, store });
    expect(again.clientId).toBe(first.clientId);
    expect(posts(as)).toBe(1);
  });

  it('is a start-up error, naming the store key, when the stored registration is corrupt', async () => {
    const as = await scriptedAs();
    const store = new MemoryStore();
    await store.set(`ors:client-registration:${as.issuer}`, '{not json', 60_000);
    const err = await failure(registerResourceServer({ issuer: as.issuer, store }));
    expect(err.message).toMatch(/corrupt/);
    expect(err.message).toContain(`ors:client-registration:${as.issuer}`);
    expect(posts(as)).toBe(0);
  });
});
