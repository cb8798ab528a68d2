/**
 * The development UMA AS in Keycloak's flavour (Keycloak Authorization Services): `/authz/protection/resource_set` and
 * `/permission`, 201 with the whole resource and no Location, 204 on PUT, scopes as `{name}` objects, unique
 * names, the search parameters of the list, array-only permission requests accepting names, JWS tickets, and
 * `rsid`/`rsname`/`scopes` in RPT introspection. Plain fetch throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';
import { jwsPayload, wire } from './uma-wire.js';

const UMA_GRANT = 'urn:ietf:params:oauth:grant-type:uma-ticket';

let as: DevUmaAuthorizationServer;
let pat: string;
let rreg: string;
let perm: string;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [], uma: { profile: 'keycloak' } });
  pat = await as.uma.obtainPat();
  rreg = as.uma.resourceRegistrationEndpoint;
  perm = as.uma.permissionEndpoint;
});
afterAll(async () => {
  await as?.close();
});

const create = async (body: Record<string, unknown>) => (await wire('POST', rreg, { bearer: pat, json: body })).json;

describe('Keycloak discovery and tokens', () => {
  it('publishes uma2-configuration with the /authz/protection endpoints', async () => {
    const res = await wire('GET', `${as.issuer}/.well-known/uma2-configuration`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      issuer: as.issuer,
      resource_registration_endpoint: `${as.issuer}/authz/protection/resource_set`,
      permission_endpoint: `${as.issuer}/authz/protection/permission`,
      introspection_endpoint: `${as.issuer}/token/introspection`,
    });
    expect(res.json.grant_types_supported).toContain(UMA_GRANT);
  });

  it('resource_set without uma_protection → 403 invalid_scope "Requires uma_protection scope."; /permission takes any resource-server token', async () => {
    const plain = (await wire('POST', `${as.issuer}/token`, { basic: as.resourceServerClient, form: { grant_type: 'client_credentials' } }))
      .json.access_token as string;
    const res = await wire('GET', rreg, { bearer: plain });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'invalid_scope', error_description: 'Requires uma_protection scope.' });
    const { _id } = await create({ name: 'perm-only', resource_scopes: ['view'] });
    expect((await wire('POST', perm, { bearer: plain, json: [{ resource_id: _id, resource_scopes: ['view'] }] })).status).toBe(201);
    // A token of a client that is not a resource server is refused.
    const other = (await wire('POST', `${as.issuer}/token`, { basic: as.uma.client, form: { grant_type: 'client_credentials' } })).json
      .access_token as string;
    expect((await wire('POST', perm, { bearer: other, json: [{ resource_id: _id }] })).json.error).toBe('invalid_clientId');
    expect((await wire('GET', rreg, { bearer: 'bogus' })).status).toBe(401);
  });
});

describe('Keycloak resource_set (ResourceService)', () => {
  it('create: 201 with the whole resource, no Location; scopes in as strings or objects, out as {name}', async () => {
    const res = await wire('POST', rreg, {
      bearer: pat,
      json: {
        name: 'Album A',
        type: 'urn:photoz:album',
        uris: ['/album/a/*'],
        resource_scopes: ['view', { name: 'delete' }],
        displayName: 'Album A',
      },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBeNull();
    expect(res.json).toEqual({
      _id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Album A',
      displayName: 'Album A',
      type: 'urn:photoz:album',
      owner: { id: as.resourceServerClient.clientId, name: as.resourceServerClient.clientId },
      ownerManagedAccess: false,
      uris: ['/album/a/*'],
      resource_scopes: [{ name: 'view' }, { name: 'delete' }],
      attributes: {},
    });
    const withOwner = await create({ name: 'Album B', owner: 'alice', ownerManagedAccess: true, uri: '/album/b', resource_scopes: [] });
    expect(withOwner).toMatchObject({ owner: { id: 'alice', name: 'alice' }, ownerManagedAccess: true, uris: ['/album/b'] });
  });

  it('names are unique per owner: 409 invalid_request', async () => {
    await create({ name: 'Unique', resource_scopes: [] });
    const res = await wire('POST', rreg, { bearer: pat, json: { name: 'Unique', resource_scopes: [] } });
    expect(res.status).toBe(409);
    expect(res.json).toEqual({ error: 'invalid_request', error_description: 'Resource with name [Unique] already exists.' });
    expect((await wire('POST', rreg, { bearer: pat, json: { name: 'Unique', owner: 'bob', resource_scopes: [] } })).status).toBe(201);
  });

  it('read 200 / 404 empty; PUT 204 replaces; DELETE 204 then 404; 405 on other methods; 400 on bad bodies', async () => {
    const { _id } = await create({ name: 'Doc', resource_scopes: ['view', 'edit'], uris: ['/doc'] });
    expect((await wire('GET', `${rreg}/${_id as string}`, { bearer: pat })).json).toMatchObject({
      _id,
      name: 'Doc',
      resource_scopes: [{ name: 'view' }, { name: 'edit' }],
    });
    const put = await wire('PUT', `${rreg}/${_id as string}`, {
      bearer: pat,
      json: { name: 'Doc 2', resource_scopes: [{ name: 'view' }] },
    });
    expect(put.status).toBe(204);
    expect(put.body).toBeUndefined();
    const read = (await wire('GET', `${rreg}/${_id as string}`, { bearer: pat })).json;
    expect(read).toMatchObject({ name: 'Doc 2', resource_scopes: [{ name: 'view' }], uris: [] });
    expect((await wire('DELETE', `${rreg}/${_id as string}`, { bearer: pat })).status).toBe(204);
    const gone = await wire('GET', `${rreg}/${_id as string}`, { bearer: pat });
    expect(gone.status).toBe(404);
    expect(gone.body).toBeUndefined();
    expect((await wire('PUT', `${rreg}/${_id as string}`, { bearer: pat, json: { name: 'x' } })).status).toBe(404);
    expect((await wire('PATCH', rreg, { bearer: pat, json: {} })).status).toBe(405);
    expect((await wire('POST', rreg, { bearer: pat, json: { name: 'Bad', resource_scopes: [3] } })).json.error).toBe('invalid_request');
  });
});

describe('Keycloak list and search', () => {
  let server: DevUmaAuthorizationServer;
  let p: string;
  const ids: Record<string, string> = {};
  const search = async (query: string) => (await wire('GET', `${server.uma.resourceRegistrationEndpoint}?${query}`, { bearer: p })).body;
  beforeAll(async () => {
    server = await startDevAuthorizationServer({ resources: [], uma: { profile: 'keycloak' } });
    p = await server.uma.obtainPat();
    const add = async (body: Record<string, unknown>) => {
      ids[body.name as string] = (await wire('POST', server.uma.resourceRegistrationEndpoint, { bearer: p, json: body })).json
        ._id as string;
    };
    await add({ name: 'Photo Album', type: 'album', uris: ['/albums/{id}'], resource_scopes: ['view'] });
    await add({ name: 'Photo', type: 'photo', uris: ['/photos/*'], resource_scopes: ['view', 'print'] });
    await add({ name: 'Profile', type: 'profile', uris: ['/profile'], resource_scopes: ['edit'], owner: 'alice' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists ids by default and objects with deep=true', async () => {
    expect(await search('')).toEqual([ids['Photo Album'], ids.Photo, ids.Profile]);
    const deep = (await search('deep=true')) as Array<Record<string, unknown>>;
    expect(deep.map((r) => r.name)).toEqual(['Photo Album', 'Photo', 'Profile']);
  });

  it('name is partial and case-insensitive unless exactName=true; type, owner, scope, uri filter', async () => {
    expect(await search('name=photo')).toEqual([ids['Photo Album'], ids.Photo]);
    expect(await search('name=Photo&exactName=true')).toEqual([ids.Photo]);
    expect(await search('type=profile')).toEqual([ids.Profile]);
    expect(await search('owner=alice')).toEqual([ids.Profile]);
    expect(await search('scope=print')).toEqual([ids.Photo]);
    expect(await search('scope=unknown')).toEqual([]);
    expect(await search('uri=/profile')).toEqual([ids.Profile]);
  });

  it("matchingUri=true pattern-matches the resource server's own resources when nothing matched exactly", async () => {
    expect(await search(`uri=${encodeURIComponent('/photos/1.jpg')}&matchingUri=false`)).toEqual([]);
    expect(await search(`uri=${encodeURIComponent('/photos/1.jpg')}&matchingUri=true&deep=true`)).toMatchObject([{ _id: ids.Photo }]);
    expect(await search(`uri=${encodeURIComponent('/albums/7')}&matchingUri=true`)).toEqual([ids['Photo Album']]);
  });

  it('pages with first and max, 100 by default', async () => {
    expect(await search('first=1&max=1')).toEqual([ids.Photo]);
    for (let i = 0; i < 100; i++)
      await wire('POST', server.uma.resourceRegistrationEndpoint, { bearer: p, json: { name: `bulk-${i}`, resource_scopes: [] } });
    expect(((await search('')) as string[]).length).toBe(100);
    expect(((await search('first=100')) as string[]).length).toBe(3);
  });
});

describe('Keycloak permission endpoint, grant and introspection', () => {
  it('arrays only: an object or an empty array is 400 invalid_permission_request', async () => {
    const { _id } = await create({ name: 'Arr', resource_scopes: ['view'] });
    for (const json of [{ resource_id: _id, resource_scopes: ['view'] }, []]) {
      const res = await wire('POST', perm, { bearer: pat, json });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('invalid_permission_request');
    }
  });

  it('resource_id may be a name; unknown → invalid_resource_id; unknown scope → invalid_scope', async () => {
    await create({ name: 'By Name', resource_scopes: ['view'] });
    expect((await wire('POST', perm, { bearer: pat, json: [{ resource_id: 'By Name', resource_scopes: ['view'] }] })).status).toBe(201);
    const unknown = await wire('POST', perm, { bearer: pat, json: [{ resource_id: 'Nope' }] });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({
      error: 'invalid_resource_id',
      error_description: 'Resource set with id [Nope] does not exists in this server.',
    });
    expect((await wire('POST', perm, { bearer: pat, json: [{ resource_id: 'By Name', resource_scopes: ['edit'] }] })).json.error).toBe(
      'invalid_scope',
    );
  });

  it('the ticket is a JWS naming the permissions; the RPT introspects with rsid, rsname, scopes and the UMA names, no scope', async () => {
    const { _id } = await create({ name: 'Walk', resource_scopes: ['view', 'edit'] });
    const ticket = (await wire('POST', perm, { bearer: pat, json: [{ resource_id: _id, resource_scopes: ['view'] }] })).json
      .ticket as string;
    expect(ticket.split('.')).toHaveLength(3);
    expect(jwsPayload(ticket)).toMatchObject({ iss: as.issuer, permissions: [{ rsid: _id, scopes: ['view'] }] });
    await expect(jwtVerify(ticket, createRemoteJWKSet(new URL(as.jwksUri)), { issuer: as.issuer })).resolves.toBeDefined();
    const token = await wire('POST', `${as.issuer}/token`, { basic: as.uma.client, form: { grant_type: UMA_GRANT, ticket } });
    expect(token.status).toBe(200);
    const intro = (
      await wire('POST', `${as.issuer}/token/introspection`, {
        basic: as.resourceServerClient,
        form: { token: token.json.access_token as string, token_type_hint: 'requesting_party_token' },
      })
    ).json;
    expect(intro).toMatchObject({
      active: true,
      exp: expect.any(Number),
      iat: expect.any(Number),
      permissions: [{ rsid: _id, rsname: 'Walk', scopes: ['view'], resource_id: _id, resource_scopes: ['view'] }],
    });
    expect(intro).not.toHaveProperty('scope');
  });

  it('a denial is 403 access_denied / not_authorized', async () => {
    const { _id } = await create({ name: 'Denied', resource_scopes: ['view'] });
    as.uma.policy = () => 'request_denied';
    try {
      const ticket = (await wire('POST', perm, { bearer: pat, json: [{ resource_id: _id, resource_scopes: ['view'] }] })).json
        .ticket as string;
      const res = await wire('POST', `${as.issuer}/token`, { basic: as.uma.client, form: { grant_type: UMA_GRANT, ticket } });
      expect(res.status).toBe(403);
      expect(res.json).toEqual({ error: 'access_denied', error_description: 'not_authorized' });
    } finally {
      as.uma.policy = undefined;
    }
  });
});
