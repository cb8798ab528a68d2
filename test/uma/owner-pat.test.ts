/**
 * Per-owner PATs (UMA 2.0 FedAuthz §1.3: one PAT per resource owner): an owner's resources are registered
 * and asked about with that owner's PAT, obtained from the refresh token stored for the owner (rotated when
 * the AS rotates it); the resource server's own PAT serves everything else. Against a recording AS.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore, storeOwnerAuthorization, UmaRegistrar } from '../../src/index.js';

let server: Server;
let base = '';
const calls: Array<{ method: string; url: string; auth: string | undefined; form?: URLSearchParams }> = [];
let nextId = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      res.setHeader('content-type', 'application/json');
      if (req.url === '/token') {
        const form = new URLSearchParams(text);
        calls.push({ method: 'POST', url: '/token', auth: req.headers.authorization, form });
        if (form.get('grant_type') === 'client_credentials')
          return res.end(JSON.stringify({ access_token: 'pat-rs', token_type: 'Bearer', expires_in: 300 }));
        const rt = form.get('refresh_token');
        if (rt === 'rt-alice')
          return res.end(JSON.stringify({ access_token: 'pat-alice', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt-alice-2' }));
        res.statusCode = 400;
        return res.end(JSON.stringify({ error: 'invalid_grant' }));
      }
      calls.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
      if (req.method === 'POST' && req.url === '/rreg/') {
        res.statusCode = 201;
        return res.end(JSON.stringify({ _id: `id-${++nextId}` }));
      }
      if (req.method === 'GET' && req.url === '/rreg/') return res.end(JSON.stringify([]));
      if (req.method === 'POST' && req.url === '/perm') {
        res.statusCode = 201;
        return res.end(JSON.stringify({ ticket: 'ticket-1' }));
      }
      res.statusCode = 404;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function registrar(store: MemoryStore) {
  return new UmaRegistrar({
    issuer: base,
    clientId: 'rs',
    clientSecret: 'secret',
    store,
    endpoints: { token: `${base}/token`, resourceRegistration: `${base}/rreg/`, permission: `${base}/perm` },
    logger: false,
  });
}

describe('per-owner PATs', () => {
  it("registers an owner's resource and asks for its tickets with the owner's PAT, the rest with the server's", async () => {
    const store = new MemoryStore();
    await storeOwnerAuthorization(store, { issuer: base, owner: 'alice', refreshToken: 'rt-alice' });
    const r = registrar(store);
    calls.length = 0;
    await r.register({ key: 'album:1', name: 'Album 1', scopes: ['view'], owner: 'alice' });
    await r.requestTicket('album:1', ['view']);
    await r.register({ key: 'shared', name: 'Shared', scopes: ['view'] });
    const api = calls.filter((c) => c.url !== '/token').map((c) => `${c.method} ${c.url} ${c.auth}`);
    expect(api).toEqual(['POST /rreg/ Bearer pat-alice', 'POST /perm Bearer pat-alice', 'POST /rreg/ Bearer pat-rs']);
    // The owner's refresh token was exchanged, and the rotated one kept for next time.
    expect(calls.find((c) => c.form?.get('grant_type') === 'refresh_token')?.form?.get('refresh_token')).toBe('rt-alice');
    expect(await store.get(`ors:pat-refresh:${base}:alice`)).toBe('rt-alice-2');
  });

  it("leaves owners' resources out of the server's sync (its PAT does not list them): no duplicates", async () => {
    const store = new MemoryStore();
    await storeOwnerAuthorization(store, { issuer: base, owner: 'alice', refreshToken: 'rt-alice' });
    const r = registrar(store);
    await r.register({ key: 'album:9', name: 'Album 9', scopes: ['view'], owner: 'alice' });
    calls.length = 0;
    const status = await r.sync();
    expect(status.state).toBe('registered');
    expect(calls.filter((c) => c.method === 'POST' && c.url === '/rreg/')).toHaveLength(0);
    expect(r.resourceId('album:9')).toBeTruthy();
  });

  it('storeOwnerAuthorization takes { issuer, owner, refreshToken }, all non-empty strings: anything else is a TypeError, nothing stored', async () => {
    const keys: string[] = [];
    class Recording extends MemoryStore {
      override set(key: string, value: string, ttlMs: number) {
        keys.push(key);
        return super.set(key, value, ttlMs);
      }
    }
    const store = new Recording();
    const positional = storeOwnerAuthorization as unknown as (store: MemoryStore, ...args: unknown[]) => Promise<void>;
    const form = /storeOwnerAuthorization\(store, \{ issuer, owner, refreshToken \}\)/;
    await expect(positional(store, base, 'alice', 'rt-alice')).rejects.toThrow(TypeError);
    await expect(positional(store, base, 'alice', 'rt-alice')).rejects.toThrow(form);
    for (const [authorization, missing] of [
      [{ issuer: base, owner: 'alice' }, 'refreshToken'],
      [{ issuer: base, owner: '', refreshToken: 'rt-alice' }, 'owner'],
      [{ owner: 'alice', refreshToken: 'rt-alice' }, 'issuer'],
      [{ issuer: base, owner: 'alice', refreshToken: 42 }, 'refreshToken'],
    ] as const) {
      const err = await positional(store, authorization).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(form);
      expect((err as Error).message).toContain(`${missing} must be a non-empty string`);
    }
    expect(keys).toEqual([]);
    await storeOwnerAuthorization(store, { issuer: base, owner: 'alice', refreshToken: 'rt-alice' });
    expect(keys).toEqual([`ors:pat-refresh:${base}:alice`]);
  });

  it('refuses clearly when no authorization of the owner is stored', async () => {
    const r = registrar(new MemoryStore());
    await expect(r.register({ key: 'album:x', scopes: ['view'], owner: 'bob' })).rejects.toThrow(/no stored authorization of owner bob/);
  });
});
