/**
 * Introspection against an AS that misbehaves on demand: what is sent (RFC 7662 §2.1), which answers are
 * believed (§2.2), and that every failure is a 503 with Retry-After, never an allow and never a 401.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { generateKeyPair, jwtVerify } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAuth, parseChallenges, FileStore, MemoryStore, type Logger, type ResourceServerOptions } from '../../src/index.js';
import { startFakeAuthorizationServer, type FakeAuthorizationServer } from '../helpers/fake-authorization-server.js';
import { activeAnswer, introspectingApp } from '../helpers/introspecting-app.js';

const RESOURCE = 'https://api.example.com';
const TOKEN = 'opaque-token-0123456789';
let fake: FakeAuthorizationServer;
beforeEach(async () => {
  fake = await startFakeAuthorizationServer();
});
afterEach(async () => {
  await fake.close();
});

const now = () => Math.floor(Date.now() / 1000);
const active = (extra: Record<string, unknown> = {}) => activeAnswer(fake, RESOURCE, extra);

function app(introspection: Record<string, unknown> = {}, extra: Partial<ResourceServerOptions> = {}) {
  return introspectingApp(fake, RESOURCE, introspection, { http: { timeoutMs: 300 }, ...extra }, (req, res) => {
    res.json({ sub: getAuth(req)!.subject });
  });
}
const get = (a: express.Express, token = TOKEN) => request(a).get('/r').set('Authorization', `Bearer ${token}`);
const challenge = (res: request.Response) => Object.fromEntries(parseChallenges(res.headers['www-authenticate']!)[0]!.params);

describe('what the resource server sends', () => {
  it('POSTs a form with token and token_type_hint=access_token, authenticated as the resource server (CONFORMANCE 26, 27)', async () => {
    fake.answer = { json: active() };
    expect((await get(app())).status).toBe(200);
    const [r] = fake.introspections;
    expect(r!.method).toBe('POST');
    expect(r!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(r!.form.get('token')).toBe(TOKEN);
    expect(r!.form.get('token_type_hint')).toBe('access_token');
    // RFC 6749 §2.3.1: id and secret are form-encoded, then joined and base64-encoded.
    const [id, secret] = Buffer.from(r!.headers.authorization!.replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':')
      .map(decodeURIComponent);
    expect([id, secret]).toEqual(['rs-client', 'rs-secret']);
  });

  it('authenticates with client_secret_post when configured', async () => {
    fake.answer = { json: active() };
    expect((await get(app({ clientAuthMethod: 'client_secret_post' }))).status).toBe(200);
    const [r] = fake.introspections;
    expect(r!.headers.authorization).toBeUndefined();
    expect(r!.form.get('client_id')).toBe('rs-client');
    expect(r!.form.get('client_secret')).toBe('rs-secret');
  });
});

describe('client authentication and shared verdicts', () => {
  it('authenticates with private_key_jwt: a client assertion signed with the configured key (RFC 7523)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    fake.answer = { json: active() };
    expect(
      (await get(app({ clientAuthMethod: 'private_key_jwt', clientSecret: undefined, privateKey: { key: privateKey, kid: 'rs-key' } })))
        .status,
    ).toBe(200);
    const form = fake.introspections[0]!.form;
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const { payload, protectedHeader } = await jwtVerify(form.get('client_assertion')!, publicKey);
    expect(protectedHeader.kid).toBe('rs-key');
    expect(payload).toMatchObject({ iss: 'rs-client', sub: 'rs-client' });
    expect(fake.introspections[0]!.headers.authorization).toBeUndefined();
  });

  it('shares verdicts through a store: two replicas, one AS call per token', async () => {
    fake.answer = { json: active() };
    const store = new MemoryStore();
    const replicaA = app({}, { cache: { store } });
    const replicaB = app({}, { cache: { store } });
    expect((await get(replicaA)).status).toBe(200);
    expect((await get(replicaB)).status).toBe(200);
    fake.answer = { json: { active: false } };
    expect((await get(replicaA, 'bad-token')).status).toBe(401);
    expect((await get(replicaB, 'bad-token')).status).toBe(401);
    expect(fake.introspections).toHaveLength(2);
  });

  it('makes one AS call for 100 concurrent requests spread over three replicas sharing a store', async () => {
    fake.answer = { json: active(), delayMs: 100 };
    const store = new MemoryStore();
    const replicas = [app({}, { cache: { store } }), app({}, { cache: { store } }), app({}, { cache: { store } })];
    const servers = replicas.map((a) => a.listen(0, '127.0.0.1'));
    try {
      await Promise.all(servers.map((s) => new Promise((r) => s.once('listening', r))));
      const urls = servers.map((s) => `http://127.0.0.1:${(s.address() as { port: number }).port}/r`);
      const statuses = await Promise.all(
        Array.from({ length: 100 }, (_, i) => fetch(urls[i % 3]!, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.status)),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(fake.introspections).toHaveLength(1);
    } finally {
      for (const s of servers) s.close();
    }
  });

  it('bypasses a failing store and asks the AS', async () => {
    fake.answer = { json: active() };
    const broken = {
      get: () => Promise.reject(new Error('down')),
      set: () => Promise.reject(new Error('down')),
      delete: () => Promise.reject(new Error('down')),
    };
    expect((await get(app({}, { cache: { store: broken } }))).status).toBe(200);
    expect(fake.introspections).toHaveLength(1);
  });
});

describe('answers no access token needs', () => {
  it('refuses an active answer nested thousands deep with 401, never 500', async () => {
    fake.answer = { text: `{"active":true,"scope":"read","aud":"${RESOURCE}","x":${'['.repeat(5000)}${']'.repeat(5000)}}` };
    const res = await get(app());
    expect(res.status).toBe(401);
    expect(challenge(res).error).toBe('invalid_token');
  });
});

describe('verdicts shared through a store', () => {
  /** A MemoryStore that counts the calls a request makes: a waiter polls it every few ms while it waits. */
  class CountingStore extends MemoryStore {
    calls = 0;
    override get(key: string) {
      this.calls++;
      return super.get(key);
    }
    override setIfAbsent(key: string, value: string, ttlMs: number) {
      this.calls++;
      return super.setIfAbsent(key, value, ttlMs);
    }
  }

  it('lets the next request ask the AS at once after a failed claimant (no wait for the claim to lapse)', async () => {
    let n = 0;
    fake.answer = () => (n++ === 0 ? { status: 503, json: { error: 'temporarily_unavailable' } } : { json: active() });
    const store = new CountingStore();
    const a = app({}, { http: { timeoutMs: 3000 }, cache: { store } });
    expect((await get(a)).status).toBe(503);
    store.calls = 0;
    expect((await get(a)).status).toBe(200);
    expect(store.calls).toBeLessThanOrEqual(3); // read the verdict, claim, (nothing to poll): a waiter polls ~200 times
  });

  it('asks the AS at once when an atomic store fails (Redis down): no wait for a claim it cannot make', async () => {
    fake.answer = { json: active() };
    let calls = 0;
    const down = () => {
      calls++;
      return Promise.reject(new Error('down'));
    };
    const broken = { get: down, set: down, delete: down, setIfAbsent: down, withLock: down };
    const a = app({}, { http: { timeoutMs: 3000 }, cache: { store: broken } });
    expect((await get(a)).status).toBe(200);
    expect(fake.introspections).toHaveLength(1);
    expect(calls).toBeLessThanOrEqual(3); // one read, one claim attempt, one write: no polling
  });

  it('shares an unsupported_token_type refusal, so another replica neither waits nor asks again', async () => {
    fake.answer = { status: 400, json: { error: 'unsupported_token_type' } };
    const store = new CountingStore();
    const [a, b] = [app({}, { http: { timeoutMs: 3000 }, cache: { store } }), app({}, { http: { timeoutMs: 3000 }, cache: { store } })];
    expect((await get(a)).status).toBe(401);
    store.calls = 0;
    expect((await get(b)).status).toBe(401);
    expect(store.calls).toBe(1); // the shared refusal, read once
    expect(fake.introspections).toHaveLength(1);
  });

  it('keeps a shared refusal only for what is left of its life at the replica that reads it', async () => {
    const store = new MemoryStore();
    const [a, b] = [app({ negativeCacheSeconds: 1 }, { cache: { store } }), app({ negativeCacheSeconds: 1 }, { cache: { store } })];
    fake.answer = { json: { active: false } };
    expect((await get(a)).status).toBe(401);
    await new Promise((r) => setTimeout(r, 700));
    expect((await get(b)).status).toBe(401); // read from the store, with about 300 ms left
    fake.answer = { json: active() };
    await new Promise((r) => setTimeout(r, 500));
    expect((await get(b)).status).toBe(200); // B asks the AS again: the refusal's life is over
  });

  it('shares no refusal at all when negativeCacheSeconds is 0, whatever the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ors-neg-'));
    try {
      const store = new FileStore(join(dir, 'store.json'));
      let n = 0;
      fake.answer = () => (n++ === 0 ? { json: { active: false } } : { json: active() });
      const a = app({ negativeCacheSeconds: 0 }, { cache: { store } });
      expect((await get(a)).status).toBe(401);
      expect((await get(a)).status).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('which answers are believed', () => {
  it.each([
    ['"active":"true" (a string)', { active: 'true', scope: 'read' }],
    ['"active":1', { active: 1, scope: 'read' }],
    ['no active member', { scope: 'read' }],
  ])('treats %s as not active (CONFORMANCE 28)', async (_name, json) => {
    fake.answer = { json };
    const res = await get(app());
    expect(res.status).not.toBe(200);
  });

  it('answers {"active": false} with 401 invalid_token, never 500 (CONFORMANCE 29)', async () => {
    fake.answer = { json: { active: false } };
    const res = await get(app());
    expect(res.status).toBe(401);
    expect(challenge(res).error).toBe('invalid_token');
  });

  it('refuses an active answer whose exp is past or nbf is in the future (CONFORMANCE 30)', async () => {
    fake.answer = { json: active({ exp: now() - 60 }) };
    expect((await get(app(), 't-expired')).status).toBe(401);
    fake.answer = { json: active({ nbf: now() + 600 }) };
    expect((await get(app(), 't-future')).status).toBe(401);
  });

  it('checks aud when present and refuses a missing aud unless told otherwise (CONFORMANCE 31)', async () => {
    fake.answer = { json: active({ aud: ['https://other.example.com'] }) };
    expect((await get(app(), 't1')).status).toBe(401);
    fake.answer = { json: active({ aud: undefined }) };
    expect((await get(app(), 't2')).status).toBe(401);
    expect((await get(app({ acceptMissingAudience: true }), 't3')).status).toBe(200);
  });

  it('refuses an answer naming another issuer, or a DPoP-bound token presented as Bearer', async () => {
    fake.answer = { json: active({ iss: 'https://evil.example' }) };
    expect((await get(app(), 't1')).status).toBe(401);
    fake.answer = { json: active({ token_type: 'DPoP' }) };
    expect((await get(app(), 't2')).status).toBe(401);
  });

  it('never returns introspection data to the client (CONFORMANCE 33)', async () => {
    fake.answer = { json: active({ username: 'secret-username', scope: 'other' }) };
    const res = await get(app());
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.headers) + res.text).not.toContain('secret-username');
    expect(res.text).not.toContain(TOKEN);
  });

  it('caches an active answer no longer than the token exp (CONFORMANCE 32)', async () => {
    // exp a few whole seconds ahead (now() floors: `now() + 1` can be a few milliseconds away under load).
    const exp = now() + 3;
    fake.answer = { json: active({ exp }) };
    const a = app({ cacheTtlSeconds: 60 }, { clockToleranceSeconds: 0 });
    expect((await get(a)).status).toBe(200);
    expect((await get(a)).status).toBe(200);
    expect(fake.introspections).toHaveLength(1);
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 100));
    fake.answer = { json: { active: false } };
    expect((await get(a)).status).toBe(401);
  });
});

describe('answers read one way, on both paths (direct, and openid-client for private_key_jwt)', () => {
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  beforeEach(async () => {
    privateKey = (await generateKeyPair('ES256')).privateKey;
  });
  const paths: Array<[string, () => Record<string, unknown>]> = [
    ['direct', () => ({})],
    ['openid-client', () => ({ clientAuthMethod: 'private_key_jwt', clientSecret: undefined, privateKey: { key: privateKey, kid: 'k' } })],
  ];
  // The answer's members as JSON text, without the braces: cases add members a JSON.stringify could not write.
  const members = (extra: Record<string, unknown> = {}) => JSON.stringify(active(extra)).slice(1, -1);

  it.each(paths)('%s: an answer naming "active" twice is no answer (503), whichever value comes last (RFC 8259 §4)', async (_n, opts) => {
    for (const [i, text] of [
      `{"active":false,${members()}}`,
      `{${members()},"active":false}`,
      `{"\\u0061ctive":false,${members()}}`,
      // Marks before it: fetch's text() drops one, json() another; nothing is read past the check.
      `\ufeff\ufeff\ufeff{"active":false,${members()}}`,
      `{${members({ cnf: { jkt: 'a' } }).replace('"jkt":"a"', '"jkt":"a","jkt":"b"')}}`,
    ].entries()) {
      fake.answer = { text };
      const res = await get(app(opts()), `t-${i}`);
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('temporarily_unavailable');
    }
  });

  it.each(paths)('%s: an error answer naming "error" twice is no refusal of the token (503), a plain one is (401)', async (_n, opts) => {
    fake.answer = { status: 400, text: '{"error":"invalid_request","error":"unsupported_token_type"}' };
    expect((await get(app(opts()), 't-twice')).status).toBe(503);
    fake.answer = { status: 400, text: '{"error":"unsupported_token_type"}' };
    expect((await get(app(opts()), 't-once')).status).toBe(401);
  });

  it.each(paths)('%s: a 200 that is not application/json is no answer (503, RFC 7662 §2.2)', async (_n, opts) => {
    fake.answer = { text: JSON.stringify(active()), contentType: 'text/plain' };
    expect((await get(app(opts()))).status).toBe(503);
  });

  it.each(paths)('%s: a byte order mark before the answer is ignored (RFC 8259 §8.1 allows it)', async (_n, opts) => {
    fake.answer = { text: `\ufeff${JSON.stringify(active())}` };
    expect((await get(app(opts()))).status).toBe(200);
  });

  it.each(paths)('%s: a "__proto__" member is a plain member: a scope inside it grants nothing', async (_n, opts) => {
    fake.answer = { text: `{${members({ scope: undefined })},"__proto__":{"scope":"read"}}` };
    const res = await get(app(opts()));
    expect(res.status).toBe(403);
    expect(challenge(res).error).toBe('insufficient_scope');
  });
});

describe('when the AS fails', () => {
  const failures: Array<[string, () => void]> = [
    ['does not answer in time', () => (fake.answer = 'hang')],
    ['answers 500', () => (fake.answer = { status: 500, text: 'oops', contentType: 'text/plain' })],
    ['answers 503', () => (fake.answer = { status: 503, json: { error: 'temporarily_unavailable' } })],
    ['answers garbage instead of JSON', () => (fake.answer = { text: '{"active": tru', contentType: 'application/json' })],
    ['answers a JSON array', () => (fake.answer = { json: [true] })],
    ['answers HTML', () => (fake.answer = { text: '<html></html>', contentType: 'text/html' })],
  ];
  it.each(failures)('answers 503 with Retry-After when the AS %s (never an allow, never a 401)', async (_name, set) => {
    set();
    const res = await get(app());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.body.error).toBe('temporarily_unavailable');
  });

  it('answers 503 when the AS refuses our credentials, and logs it once without secrets', async () => {
    const logged: string[] = [];
    const logger: Logger = {
      warn: (m, d) => logged.push(`${m} ${JSON.stringify(d)}`),
      error: (m, d) => logged.push(`${m} ${JSON.stringify(d)}`),
    };
    fake.answer = { status: 401, json: { error: 'invalid_client' } };
    const a = app({}, { logger });
    for (const t of ['t1', 't2', 't3']) expect((await get(a, t)).status).toBe(503);
    expect(logged.filter((l) => l.includes('refused the resource server credentials'))).toHaveLength(1);
    expect(logged.join('\n')).not.toContain('rs-secret');
    expect(logged.join('\n')).not.toMatch(/\bt[123]\b/);
  });

  it("answers 503, not the logger's error, when the logger throws; the next request asks the AS again and recovers", async () => {
    const broken: Logger = {
      warn: () => {
        throw new Error('logger broke');
      },
      error: () => {
        throw new Error('logger broke');
      },
    };
    fake.answer = { status: 500, text: 'down', contentType: 'text/plain' };
    for (const extra of [{}, { cache: false as const }]) {
      const a = app({}, { logger: broken, ...extra });
      const before = fake.introspections.length;
      const failed = await get(a);
      expect(failed.status).toBe(503);
      expect(failed.text).not.toContain('logger broke');
      // The AS is back: the recovery is logged (and throws again); the request is served, not stuck on the first.
      fake.answer = { json: active() };
      expect((await get(a)).status).toBe(200);
      expect(fake.introspections.length - before).toBe(2);
      fake.answer = { status: 500, text: 'down', contentType: 'text/plain' };
    }
  });

  it('serves a slow answer that arrives within the deadline', async () => {
    fake.answer = { json: active(), delayMs: 100 };
    expect((await get(app())).status).toBe(200);
  });

  it('serves a cached active answer while the AS is down only when serveStaleSeconds allows', async () => {
    fake.answer = { json: active() };
    const stale = app({ cacheTtlSeconds: 1, serveStaleSeconds: 60 });
    const strict = app({ cacheTtlSeconds: 1 });
    expect((await get(stale)).status).toBe(200);
    expect((await get(strict)).status).toBe(200);
    fake.answer = { status: 500, text: 'down' };
    await new Promise((r) => setTimeout(r, 1100));
    expect((await get(stale)).status).toBe(200);
    expect((await get(strict)).status).toBe(503);
  });
});

describe('RFC 9701 signed responses', () => {
  const jwtApp = () => app({ endpoint: undefined, jwtResponse: true }, { http: { timeoutMs: 2000 } });
  const signedAnswer = async (claims: Record<string, unknown>, options?: { typ?: string; foreignKey?: boolean }) => ({
    text: await fake.signIntrospection(
      { iss: fake.issuer, aud: 'rs-client', iat: now(), token_introspection: active(), ...claims },
      options,
    ),
    contentType: 'application/token-introspection+jwt',
  });

  it('asks for a JWT response and reads token_introspection from a valid one (CONFORMANCE 34)', async () => {
    fake.answer = await signedAnswer({});
    const res = await get(jwtApp());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sub: 'u1' });
    expect(fake.introspections[0]!.headers.accept).toBe('application/token-introspection+jwt');
  });

  it.each([
    ['signed by another key', {}, { foreignKey: true }],
    ['with typ JWT', {}, { typ: 'JWT' }],
    ['for another audience', { aud: 'someone-else' }, {}],
    ['from another issuer', { iss: 'https://evil.example' }, {}],
    ['issued long ago (stale iat)', { iat: now() - 3600 }, {}],
    ['issued in the future (iat an hour ahead)', { iat: now() + 3600 }, {}],
  ])('never believes a response %s (CONFORMANCE 34)', async (_name, claims, options) => {
    fake.answer = await signedAnswer(claims, options);
    const res = await get(jwtApp());
    expect(res.status).toBe(503);
  });

  it('never believes a plain JSON answer when a signed one was asked for (no downgrade, CONFORMANCE 34)', async () => {
    fake.answer = { json: active() };
    const res = await get(jwtApp());
    expect(res.status).toBe(503);
    expect(fake.introspections[0]!.headers.accept).toBe('application/token-introspection+jwt');
  });
});
