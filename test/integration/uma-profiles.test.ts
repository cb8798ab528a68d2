/**
 * The Keycloak and UMA 1.0 profiles of the protection API client, against the test AS speaking each
 * flavour (Keycloak: 201 with the whole resource and no Location, 204 on PUT, unique names, scopes as
 * objects, ids unless deep=true; UMA 1.0: resource_set paths and `scopes`).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { MemoryStore, ResourceServer, parseChallenges, umaProtection, type CacheStore } from '../../src/index.js';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';

describe.each(['keycloak', 'uma1'] as const)('UMA profile %s', (profile) => {
  let as: DevUmaAuthorizationServer;
  beforeAll(async () => {
    as = (await startDevAuthorizationServer({
      resources: [{ identifier: 'https://photos.example.com', scopes: ['view'] }],
      uma: { profile },
    })) as DevUmaAuthorizationServer;
  });
  afterAll(async () => {
    await as?.close();
  });

  function setup(store: CacheStore, withDelete = true) {
    const rs = new ResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { ...as.resourceServerClient, acceptMissingAudience: true },
      },
      resource: 'https://photos.example.com',
      logger: false,
    });
    const uma = umaProtection({
      resourceServer: rs,
      issuer: as.issuer,
      profile,
      clientId: as.resourceServerClient.clientId,
      clientSecret: as.resourceServerClient.clientSecret,
      store,
      logger: false,
    });
    const app = express();
    app.get('/albums/:id', uma.require('view'), (_req, res) => {
      res.json({ ok: true });
    });
    if (withDelete) {
      app.delete('/albums/:id', uma.require('delete'), (_req, res) => {
        res.status(204).end();
      });
    }
    return { app, registrar: uma.declareRoutes(app) };
  }
  const scopesOf = (rep: object) => {
    const r = rep as { resource_scopes?: unknown; scopes?: unknown };
    return ((r.resource_scopes ?? r.scopes) as Array<string | { name: string }>).map((s) => (typeof s === 'string' ? s : s.name)).sort();
  };

  it('registers, finds its resources again after losing the mapping, updates and deletes (CONFORMANCE 72)', async () => {
    const store = new MemoryStore();
    expect((await setup(store).registrar.sync()).state).toBe('registered');
    expect(as.uma.resources()).toHaveLength(1);
    expect(scopesOf(as.uma.resources()[0]!)).toEqual(['delete', 'view']);
    // A restart that lost its mapping finds the resource by name (Keycloak would answer 409 to a duplicate name).
    expect((await setup(new MemoryStore()).registrar.sync()).state).toBe('registered');
    expect(as.uma.resources()).toHaveLength(1);
    await setup(store, false).registrar.sync();
    expect(as.uma.resources()).toHaveLength(1);
    expect(scopesOf(as.uma.resources()[0]!)).toEqual(['view']);
  });

  it('answers with a ticket, and lets an RPT with the permission through', async () => {
    const { app, registrar } = setup(new MemoryStore());
    await registrar.sync();
    const challenge = await request(app).get('/albums/1');
    expect(challenge.status).toBe(401);
    const params = Object.fromEntries(parseChallenges(challenge.headers['www-authenticate']!)[0]!.params);
    expect(params.as_uri).toBe(as.issuer);
    const rpt = await as.uma.obtainRpt(params.ticket!);
    expect((await request(app).get('/albums/1').set('Authorization', `Bearer ${rpt}`)).status).toBe(200);
  });
});
