/**
 * Trust that can be withdrawn: what `resolveIssuer` said is remembered for `resolveIssuerTtlSeconds` only,
 * cached verified tokens count only while that trust holds, `forgetIssuer()` withdraws it at once (keys and
 * shared verdicts included), and a resolver that fails never prolongs an earlier answer. The clock is moved
 * by replacing Date.now (the kit reads it for every time rule); nothing here waits for the TTL.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import {
  ConfigurationError,
  getAuth,
  MemoryStore,
  oauthResourceServer,
  ResourceServer,
  type ResourceServerOptions,
  type TrustedIssuer,
} from '../../src/index.js';
import { resolveOptions } from '../../src/config/resolve-options.js';
import { makeKey, signWith, startJwksServer, type JwksServer, type TestKey } from '../helpers/jwks-server.js';
import { startFakeAuthorizationServer, type FakeAuthorizationServer } from '../helpers/fake-authorization-server.js';

const AUD = 'https://api.example.com';
const TENANT = 'https://tenant-a.example.com';
const TTL_MS = 300_000; // the documented default of resolveIssuerTtlSeconds

let keyA: TestKey;
let keyB: TestKey;
let jwksA: JwksServer;
let jwksB: JwksServer;
beforeAll(async () => {
  keyA = await makeKey('RS256');
  keyB = await makeKey('ES256');
  jwksA = await startJwksServer([keyA]);
  jwksB = await startJwksServer([keyB]);
});
afterAll(async () => {
  await jwksA.close();
  await jwksB.close();
});

/** What the resolver currently says (or the error it throws), and every `iss` it was asked about. */
let tenants: Map<string, TrustedIssuer>;
let failure: Error | undefined;
let asked: string[];
const resolveIssuer = (iss: string): TrustedIssuer | undefined => {
  asked.push(iss);
  if (failure) throw failure;
  return tenants.get(iss);
};
let offsetMs: number;
/** Move the kit's clock forward without waiting. */
const advance = (ms: number) => {
  offsetMs += ms;
};
beforeEach(() => {
  tenants = new Map([[TENANT, { issuer: TENANT, jwksUri: jwksA.url }]]);
  failure = undefined;
  asked = [];
  offsetMs = 0;
  const real = Date.now.bind(Date);
  jest.spyOn(Date, 'now').mockImplementation(() => real() + offsetMs);
});
afterEach(() => {
  jest.restoreAllMocks();
});

/** A token of the tenant that outlives every clock move here (an expiry must never be why a token is refused). */
const tenantToken = (key = keyA, iss = TENANT) => signWith(key, iss, AUD, { exp: Math.floor(Date.now() / 1000) + 7200 });

function api(extra: Partial<ResourceServerOptions> = {}) {
  const mw = oauthResourceServer({ resolveIssuer, resource: AUD, logger: false, ...extra });
  const app = express();
  app.use(mw);
  app.get('/r', (req, res) => {
    res.json({ iss: getAuth(req)!.issuer });
  });
  const get = (token: string) => request(app).get('/r').set('authorization', `Bearer ${token}`);
  return { mw, get };
}

/** A refusal as a client sees it: 401 invalid_token, the issuer named as the reason. */
function expectIssuerRefused(res: request.Response) {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
  expect(res.body).toMatchObject({ error: 'invalid_token', error_description: 'the access token issuer is not trusted' });
}

const req = (token: string) => ({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });
const auth = (rs: ResourceServer, token: string) => Promise.resolve().then(() => rs.authenticate(req(token)));

describe('a tenant removed from the resolver', () => {
  it('has a NEW token refused (401) once resolveIssuerTtlSeconds (default 300) has passed', async () => {
    const { get } = api();
    expect((await get(await tenantToken())).status).toBe(200);
    tenants.delete(TENANT);
    // Within the TTL the answer is remembered: that is the documented bound, not an accident.
    advance(TTL_MS - 1000);
    expect((await get(await tenantToken())).status).toBe(200);
    advance(2000);
    expectIssuerRefused(await get(await tenantToken()));
    expect(asked).toEqual([TENANT, TENANT]);
  });

  it('has the SAME cached token refused once the TTL has passed, though its verdict is still in the cache', async () => {
    const { get } = api({ cache: { maxTtlSeconds: 3600 } });
    const token = await tenantToken();
    expect((await get(token)).status).toBe(200);
    expect((await get(token)).status).toBe(200); // a cache hit: the resolver is not asked
    expect(asked).toHaveLength(1);
    tenants.delete(TENANT);
    advance(TTL_MS + 1000);
    expectIssuerRefused(await get(token));
    expectIssuerRefused(await get(token));
  });

  it('is refused at once after forgetIssuer(), reached from the middleware object: cached and new tokens alike', async () => {
    const { mw, get } = api();
    const token = await tenantToken();
    expect((await get(token)).status).toBe(200);
    tenants.delete(TENANT);
    expect(mw.resourceServer.forgetIssuer(TENANT)).toBe(true);
    expectIssuerRefused(await get(token));
    expectIssuerRefused(await get(await tenantToken()));
    expect(mw.resourceServer.forgetIssuer(TENANT)).toBe(false); // nothing left to forget
  });

  it('forgetIssuer() drops the issuer’s keys: trusted again, its keys are fetched again', async () => {
    const rs = new ResourceServer({ resolveIssuer, resource: AUD, logger: false });
    await auth(rs, await tenantToken());
    const fetched = jwksA.requests;
    rs.forgetIssuer(TENANT); // the resolver still vouches for it
    expect((await auth(rs, await tenantToken()))?.context.issuer).toBe(TENANT);
    expect(jwksA.requests).toBe(fetched + 1);
    expect(asked).toEqual([TENANT, TENANT]);
  });

  it('never forgets a configured issuer', async () => {
    const rs = new ResourceServer({ issuer: { issuer: TENANT, jwksUri: jwksA.url }, resource: AUD, logger: false });
    const token = await tenantToken();
    await auth(rs, token);
    expect(rs.forgetIssuer(TENANT)).toBe(false);
    expect((await auth(rs, token))?.context.issuer).toBe(TENANT);
  });
});

describe('asking the resolver again', () => {
  it('after the TTL, concurrent requests make one resolver call (single flight), and cached tokens count again', async () => {
    const rs = new ResourceServer({ resolveIssuer, resource: AUD, logger: false });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => tenantToken()));
    // The first ever answer is shared as well.
    await Promise.all(tokens.map((t) => auth(rs, t)));
    expect(asked).toHaveLength(1);
    advance(TTL_MS + 1000);
    const fresh = await Promise.all(Array.from({ length: 20 }, () => tenantToken()));
    const results = await Promise.all([...tokens, ...fresh].map((t) => auth(rs, t)));
    expect(results.every((r) => r?.context.issuer === TENANT)).toBe(true);
    expect(asked).toHaveLength(2);
  });

  it('refuses with 503 when the resolver throws on the re-ask, never keeping the old answer; recovers by itself', async () => {
    const logged: string[] = [];
    const { get } = api({ logger: { warn: (m) => logged.push(`warn: ${m}`), error: (m) => logged.push(`error: ${m}`) } });
    const token = await tenantToken();
    expect((await get(token)).status).toBe(200);
    advance(TTL_MS + 1000);
    failure = new Error('tenant database down');
    for (const t of [token, await tenantToken()]) {
      const res = await get(t);
      expect(res.status).toBe(503);
      expect(res.text).not.toContain(t);
    }
    expect(asked).toHaveLength(3); // a failure is not remembered either
    failure = undefined;
    expect((await get(token)).status).toBe(200);
    // Logged when the outage begins and when it ends, not per request.
    expect(logged).toEqual([expect.stringMatching(/^error: resolveIssuer threw/), 'warn: resolveIssuer answers again']);
    tenants.delete(TENANT);
    advance(TTL_MS + 1000);
    for (let i = 0; i < 2; i++) expectIssuerRefused(await get(token));
    expect(logged.slice(2)).toEqual(['warn: resolveIssuer no longer trusts an issuer: its tokens are refused']);
  });

  it('gives a resolver that does not answer http.timeoutMs, answers 503, and asks again on the next request', async () => {
    let hang = true;
    const slow = (iss: string) => (hang ? new Promise<undefined>(() => undefined) : resolveIssuer(iss));
    const rs = new ResourceServer({ resolveIssuer: slow, resource: AUD, logger: false, http: { timeoutMs: 200 } });
    await expect(auth(rs, await tenantToken())).rejects.toMatchObject({ status: 503 });
    hang = false;
    expect((await auth(rs, await tenantToken()))?.context.issuer).toBe(TENANT);
  });

  it('does not remember a refusal: a tenant added to the resolver is trusted at its next token', async () => {
    tenants.clear();
    const { get } = api();
    expectIssuerRefused(await get(await tenantToken()));
    tenants.set(TENANT, { issuer: TENANT, jwksUri: jwksA.url });
    expect((await get(await tenantToken())).status).toBe(200);
  });

  it('refuses (401, never 500) a tenant whose answer became unusable, and forgets the answer it replaced', async () => {
    const { get } = api();
    const token = await tenantToken();
    expect((await get(token)).status).toBe(200);
    tenants.set(TENANT, { issuer: TENANT, jwks: { keys: [] } }); // no usable key: a broken tenant record
    advance(TTL_MS + 1000);
    expectIssuerRefused(await get(token));
    expectIssuerRefused(await get(await tenantToken()));
  });

  it('applies a changed answer after the TTL: the tenant’s new keys, and its cached tokens checked against them', async () => {
    const { get } = api();
    const old = await tenantToken(keyA);
    expect((await get(old)).status).toBe(200);
    tenants.set(TENANT, { issuer: TENANT, jwksUri: jwksB.url }); // the tenant moved to new keys
    advance(TTL_MS + 1000);
    expect((await get(await tenantToken(keyB))).status).toBe(200);
    const res = await get(old);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });

  it('asks again about an issuer pushed out of the remembered ones (100 at most), its cached tokens included', async () => {
    const rs = new ResourceServer({ resolveIssuer, resource: AUD, logger: false });
    const staticKeys = { keys: [keyA.publicJwk] };
    tenants.set(TENANT, { issuer: TENANT, jwks: staticKeys });
    const token = await tenantToken();
    await auth(rs, token);
    for (let i = 0; i < 100; i++) {
      const iss = `https://tenant-${i}.example.com`;
      tenants.set(iss, { issuer: iss, jwks: staticKeys });
      await auth(rs, await tenantToken(keyA, iss));
    }
    tenants.delete(TENANT);
    // Pushed out, it can no longer be forgotten by name: its cached verdict must not outlive it.
    expect(rs.forgetIssuer(TENANT)).toBe(false);
    await expect(auth(rs, token)).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER', status: 401 });
  });
});

describe('forgetting while a request is under way', () => {
  it('does not believe an answer of the resolver that was awaited when the issuer was forgotten', async () => {
    let answer: (v: TrustedIssuer) => void = () => undefined;
    const gated = () => new Promise<TrustedIssuer>((resolve) => (answer = resolve));
    const rs = new ResourceServer({ resolveIssuer: gated, resource: AUD, logger: false });
    const pending = auth(rs, await tenantToken());
    await new Promise((r) => setImmediate(r)); // the resolver has been called
    expect(rs.forgetIssuer(TENANT)).toBe(true);
    answer({ issuer: TENANT, jwksUri: jwksA.url });
    await expect(pending).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER' });
  });

  describe('with introspection', () => {
    let as: FakeAuthorizationServer;
    beforeEach(async () => {
      as = await startFakeAuthorizationServer();
      tenants = new Map([
        [
          as.issuer,
          {
            issuer: as.issuer,
            validation: 'introspection',
            introspection: { clientId: 'rs', clientSecret: 'rs-secret', endpoint: as.introspectionEndpoint },
          },
        ],
      ]);
    });
    afterEach(async () => {
      await as.close();
    });
    const active = () => ({
      json: {
        active: true,
        iss: as.issuer,
        aud: AUD,
        sub: 'u1',
        client_id: 'c1',
        scope: 'read',
        exp: Math.floor(Date.now() / 1000) + 7200,
      },
    });

    it('refuses a request whose introspection was under way when the issuer was forgotten; one after it does not join it', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      as.answer = async () => {
        await gate;
        return active();
      };
      const rs = new ResourceServer({ resolveIssuer, resource: AUD, logger: false });
      const token = await tenantToken(keyA, as.issuer);
      const before = auth(rs, token);
      const arrived = async (n: number) => {
        while (as.introspections.length < n) await new Promise((r) => setTimeout(r, 5));
      };
      await arrived(1);
      rs.forgetIssuer(as.issuer);
      // The resolver still trusts the issuer: the same token, sent after the forget, is introspected anew.
      const after = auth(rs, token);
      await arrived(2);
      release();
      await expect(before).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER', status: 401 });
      expect((await after)?.context.issuer).toBe(as.issuer);
    });

    it.each([
      ['an active answer', () => active()],
      ['an unsupported_token_type refusal', () => ({ status: 400, json: { error: 'unsupported_token_type' } })],
    ])(
      'does not remember the refusal of a request whose issuer was forgotten meanwhile (%s landed late): the token is not refused later',
      async (_name, firstAnswer) => {
        // Each introspection waits for its own gate, so the one begun after the forget can land first.
        const gates: Array<() => void> = [];
        as.answer = async () => {
          const first = gates.length === 0;
          await new Promise<void>((r) => gates.push(r));
          return first ? firstAnswer() : active();
        };
        const rs = new ResourceServer({ resolveIssuer, resource: AUD, logger: false });
        const token = await tenantToken(keyA, as.issuer);
        const arrived = async (n: number) => {
          while (gates.length < n) await new Promise((r) => setTimeout(r, 5));
        };
        const before = auth(rs, token);
        await arrived(1);
        rs.forgetIssuer(as.issuer);
        const after = auth(rs, token); // the resolver still trusts the issuer: introspected anew
        await arrived(2);
        gates[1]!();
        expect((await after)?.context.issuer).toBe(as.issuer);
        gates[0]!();
        await expect(before).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER', status: 401 });
        // That refusal said "this server no longer trusted the issuer then", nothing about the token: it must not
        // replace the token's verdict in the cache.
        expect((await auth(rs, token))?.context.issuer).toBe(as.issuer);
        expect(gates).toHaveLength(2);
      },
    );

    it('does not share that refusal with other replicas: one that still trusts the issuer accepts the token', async () => {
      const gates: Array<() => void> = [];
      as.answer = async () => {
        await new Promise<void>((r) => gates.push(r));
        return active();
      };
      const store = new MemoryStore();
      const [r1, r2] = [0, 1].map(() => new ResourceServer({ resolveIssuer, resource: AUD, logger: false, cache: { store } }));
      const token = await tenantToken(keyA, as.issuer);
      const before = auth(r1!, token);
      while (gates.length < 1) await new Promise((r) => setTimeout(r, 5));
      r1!.forgetIssuer(as.issuer);
      gates[0]!();
      await expect(before).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER', status: 401 });
      const other = auth(r2!, token);
      // r2 asks the AS itself (its answer is gated); with a shared refusal it would have answered already.
      let settled = false;
      other.then(
        () => (settled = true),
        () => (settled = true),
      );
      while (gates.length < 2 && !settled) await new Promise((r) => setTimeout(r, 5));
      gates[1]?.();
      expect((await other)?.context.issuer).toBe(as.issuer);
    });

    it('serves no stale verdict to a request whose issuer was forgotten while the AS failed to answer', async () => {
      const tenant = tenants.get(as.issuer)!;
      tenants.set(as.issuer, { ...tenant, introspection: { ...tenant.introspection!, cacheTtlSeconds: 1, serveStaleSeconds: 600 } });
      as.answer = active();
      const rs = new ResourceServer({ resolveIssuer, resource: AUD, logger: false });
      const token = await tenantToken(keyA, as.issuer);
      expect((await auth(rs, token))?.context.issuer).toBe(as.issuer);
      advance(2000); // past the cache life, within the stale window: the AS is asked again
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      as.answer = async () => {
        await gate;
        return { status: 500, text: 'down', contentType: 'text/plain' };
      };
      const pending = auth(rs, token);
      while (as.introspections.length < 2) await new Promise((r) => setTimeout(r, 5));
      rs.forgetIssuer(as.issuer);
      release();
      await expect(pending).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER', status: 401 });
    });

    it('across replicas: one that forgot the issuer does not believe shared verdicts obtained before', async () => {
      const store = new MemoryStore();
      const [r1, r2] = [0, 1].map(() => new ResourceServer({ resolveIssuer, resource: AUD, logger: false, cache: { store } }));
      as.answer = active();
      await auth(r2!, await tenantToken(keyA, as.issuer)); // r2 trusts the issuer already
      const token = await tenantToken(keyA, as.issuer);
      expect((await auth(r1!, token))?.context.issuer).toBe(as.issuer);
      expect((await auth(r2!, token))?.context.issuer).toBe(as.issuer);
      expect(as.introspections).toHaveLength(2); // r2 believed r1's shared verdict about `token`
      as.answer = { json: { active: false } }; // meanwhile the token was revoked at the AS
      r2!.forgetIssuer(as.issuer); // the resolver still trusts it: r2 asks again, and must not take the old verdict
      await expect(auth(r2!, token)).rejects.toMatchObject({ code: 'ERR_TOKEN_INACTIVE', status: 401 });
      expect(as.introspections).toHaveLength(3);
    });
  });
});

describe('resolveIssuerTtlSeconds', () => {
  it('defaults to 300 seconds, accepts 0 (ask for every request), and refuses a negative or infinite value', () => {
    expect(resolveOptions({ resolveIssuer, resource: AUD }).resolveIssuerTtlMs).toBe(300_000);
    expect(resolveOptions({ resolveIssuer, resource: AUD, resolveIssuerTtlSeconds: 0 }).resolveIssuerTtlMs).toBe(0);
    for (const bad of [-1, Infinity, Number.NaN])
      expect(() => resolveOptions({ resolveIssuer, resource: AUD, resolveIssuerTtlSeconds: bad })).toThrow(ConfigurationError);
  });

  it('at 0, asks the resolver for every request, cached tokens included', async () => {
    const { get } = api({ resolveIssuerTtlSeconds: 0 });
    const token = await tenantToken();
    expect((await get(token)).status).toBe(200);
    expect((await get(token)).status).toBe(200);
    expect(asked).toHaveLength(2);
    tenants.clear();
    expectIssuerRefused(await get(token));
  });
});
