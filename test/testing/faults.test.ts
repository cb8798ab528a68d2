/**
 * The development AS's fault controls themselves: which endpoint a path is, request-count and method
 * selection, refused connections after stop() and service again after start(), and bad settings refused.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { endpointOf } from '../../src/testing/faults.js';

let as: DevAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: 'https://api.example.com', scopes: ['read'] }] });
});
afterAll(async () => {
  await as?.close();
});
const status = async (path: string, init?: RequestInit) => (await fetch(`${as.issuer}${path}`, init)).status;

describe('dev AS faults', () => {
  it('names the endpoint of each path', () => {
    expect(endpointOf('/.well-known/openid-configuration')).toBe('discovery');
    expect(endpointOf('/jwks')).toBe('jwks');
    expect(endpointOf('/token')).toBe('token');
    expect(endpointOf('/token/introspection')).toBe('introspection');
    expect(endpointOf('/reg/abc')).toBe('registration');
    expect(endpointOf('/uma/rreg/1')).toBe('uma');
    expect(endpointOf('/authz/protection/resource_set')).toBe('uma');
    expect(endpointOf('/uma1/perm')).toBe('uma');
    expect(endpointOf('/umbrella')).toBeUndefined();
    expect(endpointOf('/jwks2')).toBeUndefined();
  });

  it('faults one request in `every` on the chosen endpoints only, and counts them', async () => {
    const before = as.faults.injected;
    as.faults.inject({ kind: 'status', status: 500 }, { endpoints: ['jwks'], every: 2 });
    try {
      expect([await status('/jwks'), await status('/jwks'), await status('/jwks'), await status('/jwks')]).toEqual([500, 200, 500, 200]);
      expect(await status('/.well-known/openid-configuration')).toBe(200);
      expect(as.faults.injected - before).toBe(2);
    } finally {
      as.faults.clear();
    }
    expect(await status('/jwks')).toBe(200);
  });

  it('selects by method, and answers garbage as a 200 that is not JSON', async () => {
    as.faults.inject({ kind: 'garbage' }, { methods: ['post'] });
    try {
      expect(await status('/jwks')).toBe(200);
      const res = await fetch(`${as.issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }) });
      expect(res.status).toBe(200);
      await expect(res.json()).rejects.toThrow();
    } finally {
      as.faults.clear();
    }
  });

  it('refuses connections after stop() and serves again after start() on the same port', async () => {
    await as.faults.stop();
    try {
      const { port } = new URL(as.issuer);
      const code = await new Promise((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
      });
      expect(code).toBe('ECONNREFUSED');
    } finally {
      await as.faults.start();
    }
    expect(await status('/jwks')).toBe(200);
  });

  it('refuses settings that make no sense', () => {
    expect(() => as.faults.inject({ kind: 'status', status: 200 })).toThrow(RangeError);
    expect(() => as.faults.inject({ kind: 'reset' }, { every: 0 })).toThrow(RangeError);
    expect(() => as.faults.inject({ kind: 'reset' }, { flap: { downMs: 0, upMs: 10 } })).toThrow(RangeError);
  });
});
