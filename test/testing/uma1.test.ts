/**
 * The development UMA AS in the UMA 1.0.x profile (the UMA 1.0 resource set registration draft): `/.well-known/uma-configuration` with the
 * 1.0 member names, resource sets at `{endpoint}/resource_set` (`name` and `scopes` required), permission
 * registration `{resource_set_id, scopes}`, the AAT and the RPT endpoint, and 1.0-named permissions in
 * introspection. Plain fetch throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';
import { wire } from './uma-wire.js';

let as: DevUmaAuthorizationServer;
let meta: Record<string, unknown>;
let sets: string;
let pat: string;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [], uma: { profile: 'uma1' } });
  meta = (await wire('GET', `${as.issuer}/.well-known/uma-configuration`)).json;
  sets = `${String(meta.resource_set_registration_endpoint)}/resource_set`;
  pat = await as.uma.obtainPat();
});
afterAll(async () => {
  await as?.close();
});

const createSet = async (body: Record<string, unknown>) => (await wire('POST', sets, { bearer: pat, json: body })).json._id as string;
const aat = async () =>
  (
    await wire('POST', String(meta.token_endpoint), {
      basic: as.uma.client,
      form: { grant_type: 'client_credentials', scope: 'uma_authorization' },
    })
  ).json.access_token as string;

describe('UMA 1.0 discovery', () => {
  it('serves /.well-known/uma-configuration with the 1.0 members, and no uma2-configuration', async () => {
    expect(meta).toEqual({
      version: '1.0',
      issuer: as.issuer,
      pat_profiles_supported: ['bearer'],
      aat_profiles_supported: ['bearer'],
      rpt_profiles_supported: ['bearer'],
      pat_grant_types_supported: ['client_credentials'],
      aat_grant_types_supported: ['client_credentials'],
      claim_token_profiles_supported: [],
      uma_profiles_supported: [],
      token_endpoint: `${as.issuer}/token`,
      authorization_endpoint: `${as.issuer}/auth`,
      introspection_endpoint: `${as.issuer}/token/introspection`,
      resource_set_registration_endpoint: as.uma.resourceRegistrationEndpoint,
      permission_registration_endpoint: as.uma.permissionEndpoint,
      rpt_endpoint: as.uma.rptEndpoint,
    });
    expect((await wire('GET', `${as.issuer}/.well-known/uma2-configuration`)).status).toBe(404);
  });
});

describe('UMA 1.0 resource set registration', () => {
  it('create at {endpoint}/resource_set: 201, Location, _id; read, update (200 {_id}), list, delete (204)', async () => {
    const res = await wire('POST', sets, {
      bearer: pat,
      json: { name: 'Photo Album', scopes: ['view', 'print'], type: 'album', uri: 'https://photoz.example.com/albums/1' },
    });
    expect(res.status).toBe(201);
    const id = res.json._id as string;
    expect(res.headers.get('location')).toBe(`${sets}/${id}`);
    expect((await wire('GET', `${sets}/${id}`, { bearer: pat })).body).toEqual({
      _id: id,
      name: 'Photo Album',
      scopes: ['view', 'print'],
      type: 'album',
      uri: 'https://photoz.example.com/albums/1',
    });
    const put = await wire('PUT', `${sets}/${id}`, { bearer: pat, json: { name: 'Album', scopes: ['view'] } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ _id: id });
    expect((await wire('GET', `${sets}/${id}`, { bearer: pat })).body).toEqual({ _id: id, name: 'Album', scopes: ['view'] });
    expect((await wire('GET', sets, { bearer: pat })).body).toContain(id);
    expect((await wire('DELETE', `${sets}/${id}`, { bearer: pat })).status).toBe(204);
    expect((await wire('GET', `${sets}/${id}`, { bearer: pat })).status).toBe(404);
  });

  it('name and scopes are required; UMA 2.0 resource_scopes is not a 1.0 description (400 invalid_request)', async () => {
    for (const json of [{ scopes: ['view'] }, { name: 'x' }, { name: 'x', resource_scopes: ['view'] }, { name: 'x', scopes: 'view' }]) {
      const res = await wire('POST', sets, { bearer: pat, json });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('invalid_request');
    }
    expect(
      (await wire('POST', String(meta.resource_set_registration_endpoint), { bearer: pat, json: { name: 'x', scopes: [] } })).status,
    ).toBe(404);
  });
});

describe('UMA 1.0 permission registration', () => {
  it('{resource_set_id, scopes} → 201 {ticket}; errors invalid_resource_set_id, invalid_scope, invalid_request', async () => {
    const id = await createSet({ name: 'Doc', scopes: ['view'] });
    const ok = await wire('POST', as.uma.permissionEndpoint, { bearer: pat, json: { resource_set_id: id, scopes: ['view'] } });
    expect(ok.status).toBe(201);
    expect(Object.keys(ok.json)).toEqual(['ticket']);
    const cases: Array<[unknown, string]> = [
      [{ resource_set_id: 'nope', scopes: [] }, 'invalid_resource_set_id'],
      [{ resource_set_id: id, scopes: ['print'] }, 'invalid_scope'],
      [{ resource_id: id, resource_scopes: ['view'] }, 'invalid_request'],
      [[{ resource_set_id: id, scopes: ['view'] }], 'invalid_request'],
    ];
    for (const [json, error] of cases) {
      const res = await wire('POST', as.uma.permissionEndpoint, { bearer: pat, json });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe(error);
    }
  });
});

describe('UMA 1.0 RPT endpoint and introspection', () => {
  it('AAT + {ticket} → 200 {rpt}; introspection lists {resource_set_id, scopes, exp}, no scope', async () => {
    const id = await createSet({ name: 'Walk', scopes: ['view', 'print'] });
    const ticket = (await wire('POST', as.uma.permissionEndpoint, { bearer: pat, json: { resource_set_id: id, scopes: ['view'] } })).json
      .ticket as string;
    const res = await wire('POST', String(meta.rpt_endpoint), { bearer: await aat(), json: { ticket } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual(['rpt']);
    const intro = (await wire('POST', String(meta.introspection_endpoint), { bearer: pat, form: { token: res.json.rpt as string } })).json;
    expect(intro).toMatchObject({ active: true, permissions: [{ resource_set_id: id, scopes: ['view'], exp: intro.exp }] });
    expect(intro).not.toHaveProperty('scope');
    expect(
      await as.uma.obtainRpt(
        (await wire('POST', as.uma.permissionEndpoint, { bearer: pat, json: { resource_set_id: id, scopes: [] } })).json.ticket as string,
      ),
    ).toEqual(expect.any(String));
  });

  it('invalid_ticket, expired_ticket (400), not_authorized (403); the AAT needs uma_authorization', async () => {
    const id = await createSet({ name: 'Errors', scopes: ['view'] });
    const ticket = async () =>
      (await wire('POST', as.uma.permissionEndpoint, { bearer: pat, json: { resource_set_id: id, scopes: ['view'] } })).json
        .ticket as string;
    const token = await aat();
    const unknown = await wire('POST', String(meta.rpt_endpoint), { bearer: token, json: { ticket: 'nope' } });
    expect([unknown.status, unknown.json.error]).toEqual([400, 'invalid_ticket']);
    const old = await ticket();
    as.uma.expireTickets();
    const expired = await wire('POST', String(meta.rpt_endpoint), { bearer: token, json: { ticket: old } });
    expect([expired.status, expired.json.error]).toEqual([400, 'expired_ticket']);
    as.uma.policy = () => 'request_denied';
    try {
      const denied = await wire('POST', String(meta.rpt_endpoint), { bearer: token, json: { ticket: await ticket() } });
      expect([denied.status, denied.json.error]).toEqual([403, 'not_authorized']);
    } finally {
      as.uma.policy = undefined;
    }
    const withPat = await wire('POST', String(meta.rpt_endpoint), { bearer: pat, json: { ticket: await ticket() } });
    expect([withPat.status, withPat.json.error]).toEqual([403, 'insufficient_scope']);
    expect((await wire('POST', String(meta.rpt_endpoint), { json: { ticket: 'x' } })).status).toBe(401);
  });
});
