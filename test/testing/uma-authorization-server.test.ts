/**
 * The development UMA authorization server, `uma2` profile, held to the wire format of UMA 2.0 Federated
 * Authorization (discovery §2, PAT §1.3, resource registration §3.2, permission endpoint §4, introspection
 * §5.1.1) with plain fetch, and the full walk PAT → register → ticket → uma-ticket grant → RPT → introspection.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDevAuthorizationServer, type DevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';
import { wire } from './uma-wire.js';

const UMA_GRANT = 'urn:ietf:params:oauth:grant-type:uma-ticket';
const ORDERS = 'https://api.example.com/orders';

let as: DevUmaAuthorizationServer;
let meta: Record<string, unknown>;
let rreg: string;
let perm: string;
let pat: string;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: ORDERS, scopes: ['read:orders'], format: 'opaque' }], uma: true });
  meta = (await wire('GET', `${as.issuer}/.well-known/uma2-configuration`)).json;
  rreg = String(meta.resource_registration_endpoint);
  perm = String(meta.permission_endpoint);
  pat = await as.uma.obtainPat();
});
afterAll(async () => {
  await as?.close();
});

const register = async (description: Record<string, unknown>) =>
  (await wire('POST', rreg, { bearer: pat, json: description })).json._id as string;

describe('discovery (Grant §2, FedAuthz §2)', () => {
  it('serves the RFC 8414 document plus the UMA members at issuer + /.well-known/uma2-configuration', async () => {
    const res = await wire('GET', `${as.issuer}/.well-known/uma2-configuration`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json).toMatchObject({
      issuer: as.issuer,
      token_endpoint: `${as.issuer}/token`,
      introspection_endpoint: `${as.issuer}/token/introspection`,
      resource_registration_endpoint: as.uma.resourceRegistrationEndpoint,
      permission_endpoint: as.uma.permissionEndpoint,
    });
    expect(res.json.grant_types_supported).toEqual(expect.arrayContaining([UMA_GRANT, 'client_credentials']));
    expect(res.json.scopes_supported).toEqual(expect.arrayContaining(['uma_protection']));
    expect(as.uma.configurationUrl).toBe(`${as.issuer}/.well-known/uma2-configuration`);
  });

  it('has no UMA 1.0 document, and a dev AS without `uma` has no UMA at all', async () => {
    expect((await wire('GET', `${as.issuer}/.well-known/uma-configuration`)).status).toBe(404);
    const plain: DevAuthorizationServer = await startDevAuthorizationServer({ resources: [] });
    try {
      expect(plain.uma).toBeUndefined();
      expect((await wire('GET', `${plain.issuer}/.well-known/uma2-configuration`)).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe('the PAT (FedAuthz §1.3)', () => {
  it('is a client-credentials token with scope uma_protection for the resource-server client', async () => {
    const res = await wire('POST', `${as.issuer}/token`, {
      basic: as.resourceServerClient,
      form: { grant_type: 'client_credentials', scope: 'uma_protection' },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ token_type: 'Bearer', scope: 'uma_protection' });
    // Only resource servers may hold it.
    const other = await wire('POST', `${as.issuer}/token`, {
      basic: as.uma.client,
      form: { grant_type: 'client_credentials', scope: 'uma_protection' },
    });
    expect(other.status).toBe(400);
    expect(other.json.error).toBe('invalid_scope');
  });

  it('missing → 401 Bearer challenge without error code (RFC 6750 §3.1)', async () => {
    for (const url of [rreg, perm]) {
      const res = await wire('POST', url, { json: { resource_scopes: [] } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(res.headers.get('www-authenticate')).not.toMatch(/error=/);
    }
  });

  it('unknown → 401 error="invalid_token"', async () => {
    for (const [method, url] of [
      ['GET', rreg],
      ['POST', perm],
    ] as const) {
      const res = await wire(method, url, { bearer: 'not-a-pat', ...(method === 'POST' ? { json: [] } : {}) });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
      expect(res.json.error).toBe('invalid_token');
    }
  });

  it('without uma_protection → 403 insufficient_scope', async () => {
    const plain = (await wire('POST', `${as.issuer}/token`, { basic: as.resourceServerClient, form: { grant_type: 'client_credentials' } }))
      .json.access_token as string;
    for (const [method, url] of [
      ['GET', rreg],
      ['POST', perm],
    ] as const) {
      const res = await wire(method, url, { bearer: plain, ...(method === 'POST' ? { json: [] } : {}) });
      expect(res.status).toBe(403);
      expect(res.json.error).toBe('insufficient_scope');
      expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    }
  });
});

describe('resource registration (FedAuthz §3.2)', () => {
  it('Create: 201, Location and {_id, user_access_policy_uri} (§3.2.1)', async () => {
    const res = await wire('POST', rreg, {
      bearer: pat,
      json: { resource_scopes: ['read', 'https://api.example.com/scopes/export'], name: 'Invoice 42', type: 'urn:ex:invoice' },
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.json).sort()).toEqual(['_id', 'user_access_policy_uri']);
    expect(typeof res.json._id).toBe('string');
    expect(res.headers.get('location')).toBe(`${rreg}/${res.json._id as string}`);
    expect((await wire('GET', String(res.json.user_access_policy_uri))).status).toBe(200);
    // "POST rreguri/" with the trailing slash works the same.
    expect((await wire('POST', `${rreg}/`, { bearer: pat, json: { resource_scopes: [] } })).status).toBe(201);
  });

  it('Read: 200, the whole registered description plus _id, extension members included (§3.2.2, §1.1)', async () => {
    const description = {
      resource_scopes: ['view'],
      name: 'Album',
      'name#fr': 'Album photo',
      description: 'Photos',
      icon_uri: 'https://x.example/i.png',
      type: 't',
      x_ext: { a: 1 },
    };
    const id = await register(description);
    const res = await wire('GET', `${rreg}/${id}`, { bearer: pat });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: id, ...description });
  });

  it('Update: 200 {_id}, a complete replacement (§3.2.3)', async () => {
    const id = await register({ resource_scopes: ['view', 'print'], name: 'Album', type: 't', description: 'old' });
    const res = await wire('PUT', `${rreg}/${id}`, { bearer: pat, json: { resource_scopes: ['view'], name: 'Album 2' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: id });
    expect((await wire('GET', `${rreg}/${id}`, { bearer: pat })).body).toEqual({ _id: id, resource_scopes: ['view'], name: 'Album 2' });
  });

  it('Delete: 204, then 404 not_found for read, update and delete (§3.2.4, §3.2)', async () => {
    const id = await register({ resource_scopes: ['view'] });
    const res = await wire('DELETE', `${rreg}/${id}`, { bearer: pat });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const again = await wire(method, `${rreg}/${id}`, { bearer: pat, ...(method === 'PUT' ? { json: { resource_scopes: [] } } : {}) });
      expect(again.status).toBe(404);
      expect(again.json.error).toBe('not_found');
    }
  });

  it('List: 200, a JSON array of _id strings (§3.2.5)', async () => {
    const a = await register({ resource_scopes: ['a'] });
    const b = await register({ resource_scopes: ['b'] });
    const res = await wire('GET', rreg, { bearer: pat });
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body)).toBe(true);
    expect((res.body as unknown[]).every((x) => typeof x === 'string')).toBe(true);
    expect(res.body).toEqual(expect.arrayContaining([a, b]));
    // Another PAT of the same owner sees the same registry.
    expect((await wire('GET', `${rreg}/`, { bearer: await as.uma.obtainPat() })).body).toEqual(res.body);
  });

  it('other methods → 405 unsupported_method_type with Allow (§3.2)', async () => {
    const id = await register({ resource_scopes: ['a'] });
    for (const [method, url, allow] of [
      ['PATCH', `${rreg}/${id}`, 'GET, PUT, DELETE'],
      ['POST', `${rreg}/${id}`, 'GET, PUT, DELETE'],
      ['PUT', rreg, 'GET, POST'],
      ['DELETE', rreg, 'GET, POST'],
    ] as const) {
      const res = await wire(method, url, { bearer: pat, json: { resource_scopes: [] } });
      expect(res.status).toBe(405);
      expect(res.json.error).toBe('unsupported_method_type');
      expect(res.headers.get('allow')).toBe(allow);
    }
  });

  it('malformed descriptions → 400 invalid_request (§3.1, §3.2)', async () => {
    const id = await register({ resource_scopes: ['a'] });
    const bad: Array<{ json?: unknown; raw?: string }> = [
      { json: { name: 'no scopes' } },
      { json: { resource_scopes: 'read' } },
      { json: { resource_scopes: ['read', 7] } },
      { json: { resource_scopes: [], name: 3 } },
      { json: [] },
      { raw: '{not json' },
    ];
    for (const body of bad) {
      for (const [method, url] of [
        ['POST', rreg],
        ['PUT', `${rreg}/${id}`],
      ] as const) {
        const res = await wire(method, url, { bearer: pat, ...body });
        expect(res.status).toBe(400);
        expect(res.json.error).toBe('invalid_request');
      }
    }
    // The failed PUTs left the resource alone.
    expect((await wire('GET', `${rreg}/${id}`, { bearer: pat })).body).toEqual({ _id: id, resource_scopes: ['a'] });
  });
});

describe('permission endpoint (FedAuthz §4)', () => {
  it('one object or an array of several → 201 with a single ticket; empty resource_scopes is legal (§4.1, §4.2)', async () => {
    const a = await register({ resource_scopes: ['view', 'print'] });
    const b = await register({ resource_scopes: ['view'] });
    const one = await wire('POST', perm, { bearer: pat, json: { resource_id: a, resource_scopes: ['view'] } });
    expect(one.status).toBe(201);
    expect(Object.keys(one.json)).toEqual(['ticket']);
    expect(typeof one.json.ticket).toBe('string');
    const many = await wire('POST', perm, {
      bearer: pat,
      json: [
        { resource_id: a, resource_scopes: ['print'] },
        { resource_id: b, resource_scopes: [] },
      ],
    });
    expect(many.status).toBe(201);
    expect(typeof many.json.ticket).toBe('string');
    expect(many.json.ticket).not.toBe(one.json.ticket);
  });

  it('400 invalid_resource_id, invalid_scope, invalid_request (§4.3)', async () => {
    const a = await register({ resource_scopes: ['view'] });
    const cases: Array<[unknown, string]> = [
      [{ resource_id: 'nope', resource_scopes: [] }, 'invalid_resource_id'],
      [
        [
          { resource_id: a, resource_scopes: ['view'] },
          { resource_id: 'nope', resource_scopes: [] },
        ],
        'invalid_resource_id',
      ],
      [{ resource_id: a, resource_scopes: ['print'] }, 'invalid_scope'],
      [{ resource_id: a }, 'invalid_request'],
      [[], 'invalid_request'],
      ['a string', 'invalid_request'],
    ];
    for (const [json, error] of cases) {
      const res = await wire('POST', perm, { bearer: pat, json });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe(error);
    }
    expect((await wire('GET', perm, { bearer: pat })).status).toBe(405);
  });
});

describe('the full walk (FedAuthz §1–§5, Grant §3.3)', () => {
  it('PAT → register → ticket → uma-ticket grant → RPT → introspection with permissions and no scope', async () => {
    const myPat = (
      await wire('POST', `${as.issuer}/token`, {
        basic: as.resourceServerClient,
        form: { grant_type: 'client_credentials', scope: 'uma_protection' },
      })
    ).json.access_token as string;
    const created = await wire('POST', rreg, { bearer: myPat, json: { resource_scopes: ['read', 'write'], name: 'Order 7' } });
    const id = created.json._id as string;
    const ticket = (await wire('POST', perm, { bearer: myPat, json: { resource_id: id, resource_scopes: ['read'] } })).json
      .ticket as string;

    const token = await wire('POST', String(meta.token_endpoint), { basic: as.uma.client, form: { grant_type: UMA_GRANT, ticket } });
    expect(token.status).toBe(200);
    expect(token.headers.get('cache-control')).toBe('no-store');
    expect(token.json).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
    const rpt = token.json.access_token as string;

    // FedAuthz §5.1: RFC 7662 introspection authorized with the PAT, hint access_token.
    const intro = await wire('POST', String(meta.introspection_endpoint), {
      bearer: myPat,
      form: { token: rpt, token_type_hint: 'access_token' },
    });
    expect(intro.status).toBe(200);
    expect(intro.json).toMatchObject({
      active: true,
      exp: expect.any(Number),
      iat: expect.any(Number),
      permissions: [{ resource_id: id, resource_scopes: ['read'] }],
    });
    expect(intro.json).not.toHaveProperty('scope');
    expect((intro.json.exp as number) - (intro.json.iat as number)).toBe(3600);
    // Client authentication works as well, with the same answer.
    const byClient = await wire('POST', String(meta.introspection_endpoint), { basic: as.resourceServerClient, form: { token: rpt } });
    expect(byClient.json).toEqual(intro.json);
  });

  it('ordinary tokens keep oidc-provider introspection (scope, no permissions); a bad PAT cannot introspect', async () => {
    const token = await as.mintAccessToken({ resource: ORDERS, scope: 'read:orders' });
    const intro = await wire('POST', `${as.issuer}/token/introspection`, { bearer: pat, form: { token } });
    expect(intro.json).toMatchObject({ active: true, scope: 'read:orders', aud: ORDERS });
    expect(intro.json).not.toHaveProperty('permissions');
    const bad = await wire('POST', `${as.issuer}/token/introspection`, { bearer: 'bogus', form: { token } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect((await wire('POST', `${as.issuer}/token/introspection`, { bearer: pat, form: { token: 'unknown' } })).json).toEqual({
      active: false,
    });
  });
});
