/**
 * The plain introspection call on the wire (RFC 7662 §2.1): what each call sends, keep-alive connections reused
 * under concurrent load (counted at the AS), and the answer checks of the direct call: status first, then
 * `application/json`, a JSON object, a boolean `active`, the size bound; anything else is a 503, never an allow.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResourceServerOptions } from '../../src/index.js';
import { startFakeAuthorizationServer, type FakeAuthorizationServer } from '../helpers/fake-authorization-server.js';
import { activeAnswer, introspectingApp } from '../helpers/introspecting-app.js';

const RESOURCE = 'https://api.example.com';
let fake: FakeAuthorizationServer;
beforeEach(async () => {
  fake = await startFakeAuthorizationServer();
});
afterEach(async () => {
  await fake.close();
});

const active = () => activeAnswer(fake, RESOURCE);
const app = (introspection: Record<string, unknown> = {}, extra: Partial<ResourceServerOptions> = {}) =>
  introspectingApp(fake, RESOURCE, introspection, extra);
const get = (a: express.Express, token: string) => request(a).get('/r').set('Authorization', `Bearer ${token}`);

describe('what each introspection call sends', () => {
  it('sends the form (token, token_type_hint) with Basic credentials and nothing an AS does not need (RFC 7662 §2.1)', async () => {
    fake.answer = { json: active() };
    const token = 'abc+def/ghi-._~xyz==';
    expect((await get(app(), token)).status).toBe(200);
    const [r] = fake.introspections;
    expect(r!.method).toBe('POST');
    expect(Object.keys(r!.headers).sort()).toEqual(['accept', 'authorization', 'connection', 'content-length', 'content-type', 'host']);
    expect(r!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(r!.headers.accept).toBe('application/json');
    expect(r!.headers.connection).toBe('keep-alive');
    expect(r!.body).toBe('token=abc%2Bdef%2Fghi-._~xyz%3D%3D&token_type_hint=access_token');
    expect(r!.form.get('token')).toBe(token);
    expect(r!.headers.authorization).toBe(`Basic ${Buffer.from('rs-client:rs-secret').toString('base64')}`);
  });

  it('puts WHATWG-form-encoded credentials in the body with client_secret_post', async () => {
    fake.answer = { json: active() };
    expect(
      (await get(app({ clientId: 'rs client', clientSecret: 's:e~c!', clientAuthMethod: 'client_secret_post' }), 'tok-1')).status,
    ).toBe(200);
    const [r] = fake.introspections;
    expect(r!.headers.authorization).toBeUndefined();
    expect(r!.body).toBe('token=tok-1&token_type_hint=access_token&client_id=rs+client&client_secret=s%3Ae%7Ec%21');
    expect([r!.form.get('client_id'), r!.form.get('client_secret')]).toEqual(['rs client', 's:e~c!']);
  });
});

describe('connections', () => {
  it('reuses its keep-alive connections to the AS under 48 concurrent uncached requests (counted at the AS)', async () => {
    fake.answer = { json: active(), delayMs: 20 };
    const server = app({}, { cache: false }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/r`;
    const wave = async (n: number) => {
      const statuses = await Promise.all(
        Array.from({ length: 48 }, (_, i) =>
          fetch(url, { headers: { authorization: `Bearer wave-${n}-token-${i}` } }).then((res) => res.status),
        ),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
    };
    try {
      await wave(1);
      await wave(2);
      await wave(3);
      expect(fake.introspections).toHaveLength(3 * 48);
      // 144 calls over at most as many connections as calls were ever in flight at once (a connection per call: 144).
      expect(fake.connections).toBeLessThanOrEqual(48);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('answers the direct call does not believe', () => {
  it('accepts application/json with parameters, in any case', async () => {
    fake.answer = { json: active(), contentType: 'Application/JSON; charset=utf-8' };
    expect((await get(app(), 'tok-1')).status).toBe(200);
  });

  it.each([
    [
      'a JSON body labelled text/plain',
      { text: JSON.stringify({ active: true, scope: 'read', aud: RESOURCE }), contentType: 'text/plain' },
    ],
    [
      'a signed response nobody asked for',
      { text: 'eyJhbGciOiJub25lIn0.eyJhY3RpdmUiOnRydWV9.', contentType: 'application/token-introspection+jwt' },
    ],
    ['a JSON array', { json: [{ active: true }] }],
    ['JSON null', { text: 'null', contentType: 'application/json' }],
    ['active as a string', { json: { active: 'true', scope: 'read', aud: RESOURCE } }],
    ['a 201', { status: 201, json: { active: true, scope: 'read', aud: RESOURCE } }],
    ['a redirect (not followed)', { status: 302, text: '', contentType: 'text/plain' }],
    ['a 401 with an empty body', { status: 401, text: '', contentType: 'text/plain' }],
  ])('answers 503 for %s', async (_name, answer) => {
    fake.answer = answer;
    const res = await get(app(), 'tok-1');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('answers 503 for an answer over http.maxResponseBytes, 200 for one under it', async () => {
    fake.answer = { json: { ...active(), padding: 'x'.repeat(2000) } };
    expect((await get(app({}, { http: { maxResponseBytes: 1024 } }), 'tok-1')).status).toBe(503);
    expect((await get(app({}, { http: { maxResponseBytes: 4096 } }), 'tok-2')).status).toBe(200);
  });

  it('answers 401 when the AS says unsupported_token_type (the AS answered: it refuses this token)', async () => {
    fake.answer = { status: 400, json: { error: 'unsupported_token_type' } };
    expect((await get(app(), 'tok-1')).status).toBe(401);
  });
});

describe('an answer cut short', () => {
  /** An AS that sends the head and half the body of its answer, then drops the connection or goes silent. */
  async function cutting(how: 'drop' | 'stall'): Promise<{ server: Server; endpoint: string }> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
        res.write('{"active":true,"scope":"read"');
        if (how === 'drop') setTimeout(() => res.socket?.destroy(), 10);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect` };
  }

  const cuts: Array<[string, 'drop' | 'stall']> = [
    ['drops the connection mid-answer', 'drop'],
    ['stops sending mid-answer (the deadline passes)', 'stall'],
  ];
  it.each(cuts)('answers 503 when the AS %s', async (_name, how) => {
    const { server, endpoint } = await cutting(how);
    try {
      const res = await get(app({ endpoint }, { http: { timeoutMs: 300 } }), 'tok-1');
      expect(res.status).toBe(503);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
