/**
 * The resource server registers itself at oidc-provider (RFC 7591, initial access token) and manages the
 * registration (RFC 7592): first start registers, later starts reuse, a changed configuration updates,
 * an AS that forgot the client leads to a clean re-registration, and the credentials work for introspection.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigurationError,
  FileStore,
  getAuth,
  MemoryStore,
  oauthResourceServer,
  registerResourceServer,
  requireScopes,
} from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://api.example.com/orders';
const IAT = 'initial-access-token-for-tests';
const dir = mkdtempSync(join(tmpdir(), 'ors-reg-'));
let as: DevAuthorizationServer;

beforeAll(async () => {
  as = await startDevAuthorizationServer({
    resources: [{ identifier: API, scopes: ['read:orders'], format: 'opaque' }],
    registration: { initialAccessToken: IAT },
  });
});
afterAll(async () => {
  await as?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function readRegistration(uri: string, rat: string) {
  const res = await fetch(uri, { headers: { authorization: `Bearer ${rat}` } });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

describe('self-registration (RFC 7591 / 7592)', () => {
  it('registers on first start, reuses on the next, stores the credentials readable only by the owner', async () => {
    const path = join(dir, 'first.json');
    const first = await registerResourceServer({
      issuer: as.issuer,
      initialAccessToken: IAT,
      store: new FileStore(path),
      metadata: { client_name: 'Orders API' },
    });
    expect(first.clientId).toBeTruthy();
    expect(first.registrationClientUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/reg\//);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const second = await registerResourceServer({
      issuer: as.issuer,
      initialAccessToken: IAT,
      store: new FileStore(path),
      metadata: { client_name: 'Orders API' },
    });
    expect(second.clientId).toBe(first.clientId);
    expect(second.clientSecret).toBe(first.clientSecret);
  });

  it('updates the registration when the configuration changed (RFC 7592 §2.2)', async () => {
    const store = new FileStore(join(dir, 'update.json'));
    const first = await registerResourceServer({
      issuer: as.issuer,
      initialAccessToken: IAT,
      store,
      metadata: { client_name: 'Orders API' },
    });
    const updated = await registerResourceServer({
      issuer: as.issuer,
      initialAccessToken: IAT,
      store,
      metadata: { client_name: 'Orders API v2' },
    });
    expect(updated.clientId).toBe(first.clientId);
    const read = await readRegistration(updated.registrationClientUri!, updated.registrationAccessToken!);
    expect(read.status).toBe(200);
    expect(read.body.client_name).toBe('Orders API v2');
  });

  it('registers anew, cleanly, when the AS has forgotten the client (401 on the configuration endpoint)', async () => {
    const store = new FileStore(join(dir, 'forgotten.json'));
    const first = await registerResourceServer({ issuer: as.issuer, initialAccessToken: IAT, store });
    const del = await fetch(first.registrationClientUri!, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${first.registrationAccessToken}` },
    });
    expect(del.status).toBe(204);
    const again = await registerResourceServer({ issuer: as.issuer, initialAccessToken: IAT, store });
    expect(again.clientId).not.toBe(first.clientId);
    expect((await readRegistration(again.registrationClientUri!, again.registrationAccessToken!)).status).toBe(200);
  });

  it('turns registration errors into clear start-up errors (RFC 7591 §3.2.2)', async () => {
    await expect(
      registerResourceServer({ issuer: as.issuer, initialAccessToken: 'wrong', store: new FileStore(join(dir, 'e1.json')) }),
    ).rejects.toThrow(ConfigurationError);
    const err = await registerResourceServer({
      issuer: as.issuer,
      initialAccessToken: IAT,
      store: new FileStore(join(dir, 'e2.json')),
      metadata: { redirect_uris: ['not a url'], response_types: ['code'], grant_types: ['authorization_code'] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/invalid_redirect_uri|invalid_client_metadata/);
    expect((err as Error).message).not.toContain(IAT);
  });

  it('refuses a misspelled option name (metdata) with a ConfigurationError naming the right one, before any call or store access', async () => {
    const touched: string[] = [];
    class Recording extends MemoryStore {
      override get(key: string) {
        touched.push(key);
        return super.get(key);
      }
    }
    const options = { issuer: as.issuer, initialAccessToken: IAT, store: new Recording(), metdata: { client_name: 'orders' } };
    const call = registerResourceServer(options as unknown as Parameters<typeof registerResourceServer>[0]);
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toContain(
      'unknown option "registerResourceServer.metdata": did you mean "registerResourceServer.metadata"?',
    );
    expect(touched).toEqual([]);
  });

  it('registers one client when replicas sharing a store, or one process, register at the same time', async () => {
    const shared = new MemoryStore();
    const replicas = await Promise.all(
      [1, 2, 3].map(() => registerResourceServer({ issuer: as.issuer, initialAccessToken: IAT, store: shared })),
    );
    expect(new Set(replicas.map((c) => c.clientId)).size).toBe(1);
    const path = join(dir, 'together.json');
    const local = await Promise.all(
      [1, 2, 3].map(() => registerResourceServer({ issuer: as.issuer, initialAccessToken: IAT, store: new FileStore(path) })),
    );
    expect(new Set(local.map((c) => c.clientId)).size).toBe(1);
  });

  it('gives credentials that work for introspection', async () => {
    const creds = await registerResourceServer({ issuer: as.issuer, initialAccessToken: IAT, store: new FileStore(join(dir, 'use.json')) });
    const app = express();
    app.use(oauthResourceServer({ issuer: { issuer: as.issuer, introspection: creds }, resource: API, logger: false }));
    app.get('/orders', requireScopes('read:orders'), (req, res) => {
      res.json({ by: getAuth(req)!.validatedBy });
    });
    const token = await as.mintAccessToken({ resource: API, scope: 'read:orders' });
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ by: 'introspection' });
  });
});
