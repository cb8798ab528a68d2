/**
 * The UMA grant of the development AS (UMA 2.0 Grant §3.3: request, assessment, success, errors, upgrade) and
 * its test controls (policy, permission-level exp, down, PAT invalidation, counters), over plain fetch.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer, type UmaPermission } from '../../src/testing/index.js';
import { wire, type WireAnswer } from './uma-wire.js';

const UMA_GRANT = 'urn:ietf:params:oauth:grant-type:uma-ticket';

let as: DevUmaAuthorizationServer;
let pat: string;
beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [], uma: { profile: 'uma2', ticketTtlSeconds: 60, rptTtlSeconds: 600 } });
  pat = await as.uma.obtainPat();
});
afterAll(async () => {
  await as?.close();
});
beforeEach(() => {
  as.uma.policy = undefined;
  as.uma.permissionTtlSeconds = undefined;
  as.uma.rptTtlSeconds = 600;
  as.uma.down = false;
});

const register = async (scopes: string[], name?: string) =>
  (await wire('POST', as.uma.resourceRegistrationEndpoint, { bearer: pat, json: { resource_scopes: scopes, ...(name ? { name } : {}) } }))
    .json._id as string;
const ticketFor = async (permissions: Array<{ resource_id: string; resource_scopes: string[] }>) =>
  (await wire('POST', as.uma.permissionEndpoint, { bearer: pat, json: permissions })).json.ticket as string;
const grant = (params: Record<string, string>): Promise<WireAnswer> =>
  wire('POST', `${as.issuer}/token`, { basic: as.uma.client, form: { grant_type: UMA_GRANT, ...params } });
const introspect = async (token: string) =>
  (await wire('POST', `${as.issuer}/token/introspection`, { bearer: pat, form: { token, token_type_hint: 'access_token' } })).json;

describe('the uma-ticket grant (Grant §3.3.1, §3.3.5)', () => {
  it('issues an RPT for an authenticated client: RFC 6749 §5.1 response, no scope, no-store', async () => {
    const id = await register(['read']);
    const res = await grant({ ticket: await ticketFor([{ resource_id: id, resource_scopes: ['read'] }]) });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600 });
    const unauthenticated = await wire('POST', `${as.issuer}/token`, { form: { grant_type: UMA_GRANT, ticket: 'x' } });
    expect(unauthenticated.status).toBe(400);
    expect(unauthenticated.json.error).toBe('invalid_request');
  });

  it('tickets are single-use: the second redemption is invalid_grant (§3.3.6)', async () => {
    const ticket = await ticketFor([{ resource_id: await register(['read']), resource_scopes: ['read'] }]);
    expect((await grant({ ticket })).status).toBe(200);
    const again = await grant({ ticket });
    expect(again.status).toBe(400);
    expect(again.json.error).toBe('invalid_grant');
  });

  it('unknown and expired tickets are invalid_grant 400; a missing ticket is invalid_request (§3.3.6)', async () => {
    expect((await grant({ ticket: 'never-issued' })).json.error).toBe('invalid_grant');
    const ticket = await ticketFor([{ resource_id: await register(['read']), resource_scopes: ['read'] }]);
    as.uma.expireTickets();
    const expired = await grant({ ticket });
    expect(expired.status).toBe(400);
    expect(expired.json.error).toBe('invalid_grant');
    const missing = await grant({});
    expect(missing.status).toBe(400);
    expect(missing.json.error).toBe('invalid_request');
  });

  it('a ticket lives ticketTtlSeconds (a non-positive lifetime expires it at once)', async () => {
    as.uma.ticketTtlSeconds = 0;
    try {
      const ticket = await ticketFor([{ resource_id: await register(['read']), resource_scopes: ['read'] }]);
      expect((await grant({ ticket })).json.error).toBe('invalid_grant');
    } finally {
      as.uma.ticketTtlSeconds = 60;
    }
  });

  it('claim_token without claim_token_format is invalid_request (§3.3.1)', async () => {
    const ticket = await ticketFor([{ resource_id: await register(['read']), resource_scopes: ['read'] }]);
    const res = await grant({ ticket, claim_token: 'abc' });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });

  it("scope: adds scopes the ticket's resources have; others are invalid_scope (§3.3.4, §3.3.6)", async () => {
    const id = await register(['read', 'download']);
    const ok = await grant({ ticket: await ticketFor([{ resource_id: id, resource_scopes: ['read'] }]), scope: 'download' });
    expect(ok.json).not.toHaveProperty('scope');
    expect((await introspect(ok.json.access_token as string)).permissions).toEqual([
      { resource_id: id, resource_scopes: ['read', 'download'] },
    ]);
    const bad = await grant({ ticket: await ticketFor([{ resource_id: id, resource_scopes: ['read'] }]), scope: 'delete' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_scope');
  });

  it('upgrade: with rpt, the old permissions are carried over, upgraded is true and the old RPT revoked (§3.3.5.1)', async () => {
    const a = await register(['read']);
    const b = await register(['write']);
    const first = (await grant({ ticket: await ticketFor([{ resource_id: a, resource_scopes: ['read'] }]) })).json.access_token as string;
    const res = await grant({ ticket: await ticketFor([{ resource_id: b, resource_scopes: ['write'] }]), rpt: first });
    expect(res.json.upgraded).toBe(true);
    const intro = await introspect(res.json.access_token as string);
    expect(intro.permissions).toEqual(
      expect.arrayContaining([
        { resource_id: a, resource_scopes: ['read'] },
        { resource_id: b, resource_scopes: ['write'] },
      ]),
    );
    expect(await introspect(first)).toEqual({ active: false });
    const unknownRpt = await grant({ ticket: await ticketFor([{ resource_id: b, resource_scopes: ['write'] }]), rpt: 'not-an-rpt' });
    expect(unknownRpt.json.upgraded).toBe(false);
  });
});

describe('the policy (Grant §3.3.4, §3.3.6)', () => {
  it('is told the requested permissions, the client and the pushed claims; partial and empty grants are RPTs', async () => {
    const id = await register(['read', 'write']);
    const seen: unknown[] = [];
    as.uma.policy = (requested, clientId, context) => {
      seen.push({ requested, clientId, claimToken: context.claimToken, claimTokenFormat: context.claimTokenFormat });
      return requested.map((p) => ({ ...p, resource_scopes: p.resource_scopes.filter((s) => s === 'read') }));
    };
    const res = await grant({
      ticket: await ticketFor([{ resource_id: id, resource_scopes: ['read', 'write'] }]),
      claim_token: 'eyJ',
      claim_token_format: 'urn:ietf:params:oauth:token-type:jwt',
    });
    expect(seen).toEqual([
      {
        requested: [{ resource_id: id, resource_scopes: ['read', 'write'] }],
        clientId: as.uma.client.clientId,
        claimToken: 'eyJ',
        claimTokenFormat: 'urn:ietf:params:oauth:token-type:jwt',
      },
    ]);
    expect((await introspect(res.json.access_token as string)).permissions).toEqual([{ resource_id: id, resource_scopes: ['read'] }]);
    as.uma.policy = () => [];
    const empty = await grant({ ticket: await ticketFor([{ resource_id: id, resource_scopes: ['read'] }]) });
    expect(await introspect(empty.json.access_token as string)).toMatchObject({ active: true, permissions: [] });
  });

  it('request_denied → 403 {"error":"request_denied"}', async () => {
    as.uma.policy = () => 'request_denied';
    const res = await grant({ ticket: await ticketFor([{ resource_id: await register(['read']), resource_scopes: ['read'] }]) });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: 'request_denied' });
  });

  it('need_info and request_submitted → 403 with a new ticket that can be redeemed', async () => {
    const id = await register(['read']);
    const ticket = await ticketFor([{ resource_id: id, resource_scopes: ['read'] }]);
    as.uma.policy = () => ({
      error: 'need_info',
      required_claims: [{ name: 'email', claim_token_format: ['urn:ietf:params:oauth:token-type:jwt'] }],
    });
    const needInfo = await grant({ ticket });
    expect(needInfo.status).toBe(403);
    expect(needInfo.json).toEqual({
      error: 'need_info',
      ticket: expect.any(String),
      required_claims: [{ name: 'email', claim_token_format: ['urn:ietf:params:oauth:token-type:jwt'] }],
    });
    expect(needInfo.json.ticket).not.toBe(ticket);
    as.uma.policy = () => 'request_submitted';
    const submitted = await grant({ ticket: needInfo.json.ticket as string });
    expect(submitted.status).toBe(403);
    expect(submitted.json).toEqual({ error: 'request_submitted', ticket: expect.any(String) });
    as.uma.policy = undefined;
    const rpt = await as.uma.obtainRpt(submitted.json.ticket as string);
    expect((await introspect(rpt)).permissions).toEqual([{ resource_id: id, resource_scopes: ['read'] }]);
  });
});

describe('RPT lifetimes (FedAuthz §5.1.1)', () => {
  it('permissionTtlSeconds sets a permission-level exp; a policy may set exp itself; rptTtlSeconds sets the token exp', async () => {
    const id = await register(['read']);
    as.uma.permissionTtlSeconds = 30;
    as.uma.rptTtlSeconds = 120;
    const intro = await introspect(await as.uma.obtainRpt(await ticketFor([{ resource_id: id, resource_scopes: ['read'] }])));
    const [p] = intro.permissions as UmaPermission[];
    expect(p!.exp).toBe((intro.iat as number) + 30);
    expect(intro.exp).toBe((intro.iat as number) + 120);
    // A permission may outlive the token (the token-level exp then wins at the RS), or be expired already.
    as.uma.policy = (requested) => requested.map((q) => ({ ...q, exp: 4102444800 }));
    expect(
      (
        (await introspect(await as.uma.obtainRpt(await ticketFor([{ resource_id: id, resource_scopes: ['read'] }]))))
          .permissions as UmaPermission[]
      )[0]!.exp,
    ).toBe(4102444800);
    as.uma.policy = undefined;
    as.uma.permissionTtlSeconds = -60;
    const stale = await introspect(await as.uma.obtainRpt(await ticketFor([{ resource_id: id, resource_scopes: ['read'] }])));
    expect((stale.permissions as UmaPermission[])[0]!.exp).toBe((stale.iat as number) - 60);
  });
});

describe('test controls', () => {
  it('down: the protection API answers 503 until it is back up', async () => {
    const id = await register(['read']);
    as.uma.down = true;
    expect((await wire('GET', as.uma.resourceRegistrationEndpoint, { bearer: pat })).status).toBe(503);
    expect((await wire('POST', as.uma.permissionEndpoint, { bearer: pat, json: { resource_id: id, resource_scopes: [] } })).status).toBe(
      503,
    );
    expect((await wire('POST', `${as.issuer}/token/introspection`, { bearer: pat, form: { token: 'x' } })).status).toBe(503);
    as.uma.down = false;
    expect((await wire('GET', as.uma.resourceRegistrationEndpoint, { bearer: pat })).status).toBe(200);
  });

  it('invalidatePats: every PAT issued so far answers 401 invalid_token; new ones work', async () => {
    const before = as.uma.patsIssued;
    const old = await as.uma.obtainPat();
    expect(as.uma.patsIssued).toBe(before + 1);
    await as.uma.invalidatePats();
    const res = await wire('GET', as.uma.resourceRegistrationEndpoint, { bearer: old });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    pat = await as.uma.obtainPat();
    expect((await wire('GET', as.uma.resourceRegistrationEndpoint, { bearer: pat })).status).toBe(200);
    expect(await introspect(old)).toEqual({ active: false });
  });

  it('counts requests per endpoint and method, and lists what the AS holds', async () => {
    const before = structuredClone(as.uma.requests);
    const id = await register(['read'], 'Counted');
    await wire('GET', `${as.uma.resourceRegistrationEndpoint}/${id}`, { bearer: pat });
    await as.uma.obtainRpt(await ticketFor([{ resource_id: id, resource_scopes: ['read'] }]));
    await wire('GET', as.uma.configurationUrl);
    const after = as.uma.requests;
    expect((after.resourceRegistration.POST ?? 0) - (before.resourceRegistration.POST ?? 0)).toBe(1);
    expect((after.resourceRegistration.GET ?? 0) - (before.resourceRegistration.GET ?? 0)).toBe(1);
    expect((after.permission.POST ?? 0) - (before.permission.POST ?? 0)).toBe(1);
    expect((after.rpt.POST ?? 0) - (before.rpt.POST ?? 0)).toBe(1);
    expect((after.discovery.GET ?? 0) - (before.discovery.GET ?? 0)).toBe(1);
    expect(as.uma.resources()).toContainEqual({ _id: id, resource_scopes: ['read'], name: 'Counted' });
  });
});
