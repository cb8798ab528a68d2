/**
 * The README's UMA code, as written: a `ResourceServer` with plain introspection settings (no
 * `acceptMissingAudience`) and `umaProtection`. The AS's RPT has no `aud` (UMA binds an RPT by its
 * permissions): it must open the route it holds a permission for, and only that one. A refused token is
 * explained in the debug log. In every profile of the kit's UMA test AS.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, ResourceServer, parseChallenges, umaProtection } from '../../src/index.js';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';

const resource = 'https://photos.example.com';
const dir = mkdtempSync(join(tmpdir(), 'ors-uma-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ticketOf = (res: request.Response) => Object.fromEntries(parseChallenges(res.headers['www-authenticate']!)[0]!.params).ticket!;

describe.each(['uma2', 'keycloak', 'uma1'] as const)("the README's UMA code (%s)", (profile) => {
  let as: DevUmaAuthorizationServer;
  let app: express.Express;
  const debug: string[] = [];
  beforeAll(async () => {
    as = await startDevAuthorizationServer({ resources: [{ identifier: resource, scopes: ['view'] }], uma: { profile } });
    const { issuer } = as;
    const { clientId, clientSecret } = as.resourceServerClient;
    const logger = { warn: () => undefined, error: () => undefined, debug: (m: string) => debug.push(m) };
    // As in the README (plus the profile and a logger that keeps debug lines).
    const server = new ResourceServer({ issuer: { issuer, introspection: { clientId, clientSecret } }, resource, logger });
    const uma = umaProtection({
      resourceServer: server,
      issuer,
      clientId,
      clientSecret,
      profile,
      store: new FileStore(join(dir, `${profile}.json`)),
    });
    app = express();
    app.get('/albums/:id', uma.require('view'), (req, res) => {
      res.json({ album: req.params.id });
    });
    app.delete('/albums/:id', uma.require('delete'), (_req, res) => {
      res.status(204).end();
    });
    app.get('/photos/:id', uma.require('view'), (_req, res) => {
      res.end('photo');
    });
    expect((await uma.declareRoutes(app).sync()).state).toBe('registered');
  });
  afterAll(async () => {
    await as?.close();
  });

  it('lets the RPT the AS issued for the ticket through (the RPT has no aud)', async () => {
    const challenge = await request(app).get('/albums/1');
    expect(challenge.status).toBe(401);
    const rpt = await as.uma.obtainRpt(ticketOf(challenge));
    const ok = await request(app).get('/albums/1').set('Authorization', `Bearer ${rpt}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ album: '1' });
  });

  it("refuses it, with a new ticket, on another resource's route and for a scope it lacks, and says why in the debug log", async () => {
    const rpt = await as.uma.obtainRpt(ticketOf(await request(app).get('/albums/2')));
    debug.length = 0;
    const other = await request(app).get('/photos/2').set('Authorization', `Bearer ${rpt}`);
    expect(other.status).toBe(401);
    expect(ticketOf(other)).toBeTruthy();
    expect(debug).toEqual([expect.stringMatching(/no permission for this resource/)]);
    debug.length = 0;
    const del = await request(app).delete('/albums/2').set('Authorization', `Bearer ${rpt}`);
    expect(del.status).toBe(401);
    expect(debug).toEqual([expect.stringMatching(/lacks scopes: delete/)]);
  });

  it('refuses an ordinary access token for this resource (no permissions), with a ticket, and says why', async () => {
    const token = await as.mintAccessToken({ resource, scope: 'view' });
    debug.length = 0;
    const res = await request(app).get('/albums/3').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^UMA /);
    expect(debug).toEqual([expect.stringMatching(/not an RPT/)]);
  });

  it('explains a token the AS does not know', async () => {
    debug.length = 0;
    const res = await request(app).get('/albums/4').set('Authorization', 'Bearer not-an-rpt');
    expect(res.status).toBe(401);
    // The verifier explains the refused token (which check), the UMA route what it did about it.
    expect(debug).toEqual([expect.stringMatching(/^access token refused$/), expect.stringMatching(/the RPT was refused/)]);
  });
});
