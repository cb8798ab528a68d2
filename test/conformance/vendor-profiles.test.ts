/**
 * Token profiles: the access tokens of the hosted authorization servers most people use, each in the shape
 * its vendor documents, accepted under that vendor's profile; the same token minted for another API, another
 * issuer or another tenant (Cognito: another app client, or an ID token) refused. Strict RFC 9068 stays the
 * default (CONFORMANCE 16, 19, 20, 22 keep holding for an issuer without a profile).
 *
 * Where each token shape comes from (the vendor's own documentation):
 * - Keycloak: Server Administration Guide, "Audience support" (aud from audience mappers or Audience Resolve,
 *   the client in azp): https://www.keycloak.org/docs/latest/server_admin/#audience-support ; the access token
 *   header typ is "JWT" unless the client's "at+jwt" option (keycloak/keycloak#37573) is on; payload typ "Bearer"
 *   (ID tokens: "ID").
 * - Auth0: "Access Token Profiles" (the default Auth0 token profile: azp instead of client_id, no jti, aud with
 *   the userinfo URL; RBAC adds `permissions`): https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles
 * - Okta: "OpenID Connect & OAuth 2.0 API", access token (header kid and alg only; cid, uid, scp as an array,
 *   jti "AT.…", aud the authorization server's audience such as api://default):
 *   https://developer.okta.com/docs/reference/api/oidc/#access-token
 * - Microsoft Entra ID: "Access token claims reference" (header typ always JWT; aud the application ID URI or
 *   GUID, v2.0 always the API's client ID; iss per tenant, https://login.microsoftonline.com/{tid}/v2.0 or
 *   https://sts.windows.net/{tid}/; appid v1.0, azp v2.0; scp a space-separated string, user tokens only; roles
 *   the application permissions in client-credentials tokens, the user's assigned roles in user tokens; uti, no jti):
 *   https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
 * - Amazon Cognito: "Understanding the access token" (header kid and alg only; no aud; client_id, token_use
 *   "access", scope, jti; ID tokens carry token_use "id" and aud = the app client ID):
 *   https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigurationError, ResourceServer, type ResourceServerOptions, type TokenProfile, type TrustedIssuer } from '../../src/index.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/test-issuer.js';

const API = 'https://api.example.com';
const OTHER_API = 'https://other.example.com';

const req = (token: string) => ({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });
const auth = (rs: ResourceServer, token: string) => Promise.resolve().then(() => rs.authenticate(req(token)));

/** A server trusting `ti` with `profile` (its own keys; the resource identifiers given). */
function server(
  ti: TestIssuer,
  profile: TokenProfile | undefined,
  resource: string | string[] = API,
  extra: Partial<ResourceServerOptions> = {},
): ResourceServer {
  const issuer: TrustedIssuer = { ...ti.trustedIssuer, ...(profile === undefined ? {} : { profile }) };
  return new ResourceServer({ issuer, resource, logger: false, ...extra });
}

/** The same keys under another issuer identifier: another realm, tenant, user pool of the same vendor. */
function sameKeysAs(ti: TestIssuer, issuer: string): TestIssuer {
  return { ...ti, issuer, trustedIssuer: { issuer, jwks: ti.jwks } };
}

/** Sign `claims` (nothing added but iat/exp, which `signTestToken` fills in) with the given header `typ`. */
function mint(ti: TestIssuer, claims: Record<string, unknown>, typ: string | undefined): Promise<string> {
  const strip = { sub: undefined, client_id: undefined, jti: undefined, aud: undefined };
  return signTestToken(ti, { audience: [], claims: { ...strip, ...claims }, header: { typ } });
}

function header(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('the default stays strict RFC 9068 (CONFORMANCE 16, 22)', () => {
  let ti: TestIssuer;
  beforeAll(async () => {
    ti = await createTestIssuer({ issuer: 'https://as.example.com' });
  });

  it('without a profile, typ JWT, a client only in azp and a token without jti are each refused', async () => {
    const rs = server(ti, undefined);
    const ok = { iss: ti.issuer, sub: 'u', aud: API, client_id: 'c', jti: 'j' };
    expect((await auth(rs, await mint(ti, ok, 'at+jwt')))?.context.clientId).toBe('c');
    await expect(auth(rs, await mint(ti, ok, 'JWT'))).rejects.toMatchObject({ code: 'ERR_TOKEN_TYPE', status: 401 });
    await expect(auth(rs, await mint(ti, { ...ok, client_id: undefined, azp: 'c' }, 'at+jwt'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIM',
      message: 'the access token lacks the client_id claim',
    });
    await expect(auth(rs, await mint(ti, { ...ok, jti: undefined }, 'at+jwt'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIM',
      message: 'the access token lacks the jti claim',
    });
  });

  it("profile: 'rfc9068' is the same as no profile", async () => {
    const rs = server(ti, 'rfc9068');
    await expect(auth(rs, await mint(ti, { iss: ti.issuer, sub: 'u', aud: API, client_id: 'c', jti: 'j' }, 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_TYPE',
    });
  });
});

describe('keycloak', () => {
  const REALM = 'https://kc.example.com/realms/shop';
  let ti: TestIssuer;
  /** An access token as Keycloak issues it with an audience mapper adding this API's identifier. */
  const shape = (iss: string, extra: Record<string, unknown> = {}) => ({
    iss,
    sub: 'f1c2-user',
    typ: 'Bearer',
    azp: 'web-app',
    aud: [API, 'account'],
    scope: 'openid profile read:orders',
    jti: 'onrtac:5d1e',
    sid: 's-1',
    realm_access: { roles: ['offline_access'] },
    ...extra,
  });
  beforeAll(async () => {
    ti = await createTestIssuer({ issuer: REALM });
  });

  it('accepts its access token (typ JWT, client in azp) and maps azp and scope to the context', async () => {
    const token = await mint(ti, shape(REALM), 'JWT');
    expect(header(token).typ).toBe('JWT');
    const a = await auth(server(ti, 'keycloak'), token);
    expect(a?.context.clientId).toBe('web-app');
    expect([...a!.context.scopes]).toEqual(['openid', 'profile', 'read:orders']);
    expect(a?.context.hasScope('offline_access')).toBe(false); // realm roles are not scopes
    // The same token is refused by an issuer left strict: the profile is what changes it.
    await expect(auth(server(ti, undefined), token)).rejects.toMatchObject({ code: 'ERR_TOKEN_TYPE' });
  });

  it('accepts the at+jwt header of a client with the RFC 9068 option on, and a service-account token with client_id', async () => {
    const rs = server(ti, 'keycloak');
    expect((await auth(rs, await mint(ti, shape(REALM), 'at+jwt')))?.context.clientId).toBe('web-app');
    expect((await auth(rs, await mint(ti, shape(REALM, { azp: undefined, client_id: 'batch' }), 'JWT')))?.context.clientId).toBe('batch');
  });

  it('refuses the same token minted for another API (its audience mapper names another client)', async () => {
    await expect(auth(server(ti, 'keycloak'), await mint(ti, shape(REALM, { aud: [OTHER_API, 'account'] }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
    // No audience mapper at all: Keycloak leaves aud out (or "account" only).
    await expect(auth(server(ti, 'keycloak'), await mint(ti, shape(REALM, { aud: undefined }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIM',
    });
    await expect(auth(server(ti, 'keycloak'), await mint(ti, shape(REALM, { aud: 'account' }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
  });

  it('binds by an "Included Client Audience" (a client ID in aud) through audiences, or by azp through clientIds', async () => {
    const token = await mint(ti, shape(REALM, { aud: ['orders-api', 'account'] }), 'JWT');
    await expect(auth(server(ti, 'keycloak'), token)).rejects.toMatchObject({ code: 'ERR_TOKEN_AUDIENCE' });
    expect(await auth(server(ti, { preset: 'keycloak', audiences: ['orders-api'] }), token)).toBeDefined();
    // No audience mapper at all: only the clients allowed to call this API bind the token to it.
    const byAzp = server(ti, { preset: 'keycloak', requireAudience: false, clientIds: ['web-app'] });
    expect((await auth(byAzp, await mint(ti, shape(REALM, { aud: undefined }), 'JWT')))?.context.clientId).toBe('web-app');
    await expect(auth(byAzp, await mint(ti, shape(REALM, { aud: undefined, azp: 'admin-cli' }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
    // Audience Resolve's "account" is an aud present that does not name this API: refused unless named.
    await expect(auth(byAzp, await mint(ti, shape(REALM, { aud: 'account' }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
    const withAccount = server(ti, { preset: 'keycloak', requireAudience: false, clientIds: ['web-app'], audiences: ['account'] });
    expect(await auth(withAccount, await mint(ti, shape(REALM, { aud: 'account' }), 'JWT'))).toBeDefined();
    await expect(auth(withAccount, await mint(ti, shape(REALM, { aud: 'account', azp: 'admin-cli' }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
  });

  it('refuses a token of another realm signed with the same keys, and an ID token (payload typ ID)', async () => {
    const other = 'https://kc.example.com/realms/other';
    await expect(auth(server(ti, 'keycloak'), await mint(sameKeysAs(ti, other), shape(other), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_ISSUER',
    });
    // An ID token naming this API in aud would still be refused: typ "ID" is not an access token.
    await expect(auth(server(ti, 'keycloak'), await mint(ti, shape(REALM, { typ: 'ID' }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_TYPE',
    });
  });
});

describe('auth0 (the default Auth0 token profile)', () => {
  const TENANT = 'https://shop.eu.auth0.com/';
  let ti: TestIssuer;
  const shape = (iss: string, extra: Record<string, unknown> = {}) => ({
    iss,
    sub: 'auth0|123456',
    aud: [API, `${iss}userinfo`],
    azp: 'my_client_id',
    scope: 'openid profile read:orders',
    ...extra,
  });
  beforeAll(async () => {
    ti = await createTestIssuer({ issuer: TENANT });
  });

  it('accepts its access token (typ JWT, azp, no jti, userinfo in aud)', async () => {
    const a = await auth(server(ti, 'auth0'), await mint(ti, shape(TENANT), 'JWT'));
    expect(a?.context.clientId).toBe('my_client_id');
    expect(a?.context.hasScope('read:orders')).toBe(true);
    expect(a?.context.audience).toEqual([API, `${TENANT}userinfo`]);
  });

  it('accepts the RFC 9068 token profile of Auth0 too (at+jwt, client_id, jti)', async () => {
    const a = await auth(
      server(ti, 'auth0'),
      await mint(ti, { ...shape(TENANT, { azp: undefined }), client_id: 'my_client_id', jti: '73WakrfVbNJBaAmhQtEeDv' }, 'at+jwt'),
    );
    expect(a?.context.clientId).toBe('my_client_id');
  });

  it('counts RBAC permissions as scopes only when scopeClaims lists them', async () => {
    const token = await mint(ti, shape(TENANT, { scope: 'openid', permissions: ['write:orders'] }), 'JWT');
    expect((await auth(server(ti, 'auth0'), token))?.context.hasScope('write:orders')).toBe(false);
    const rbac = await auth(server(ti, { preset: 'auth0', scopeClaims: ['scope', 'permissions'] }), token);
    expect(rbac?.context.hasScope('write:orders')).toBe(true);
    expect([...rbac!.context.scopes]).toEqual(['openid', 'write:orders']);
  });

  it('refuses the same token minted for another API and by another tenant', async () => {
    await expect(
      auth(server(ti, 'auth0'), await mint(ti, shape(TENANT, { aud: [OTHER_API, `${TENANT}userinfo`] }), 'JWT')),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_AUDIENCE' });
    const other = 'https://evil.eu.auth0.com/';
    await expect(auth(server(ti, 'auth0'), await mint(sameKeysAs(ti, other), shape(other), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_ISSUER',
    });
    // Auth0's iss ends with "/": an issuer configured without it matches nothing (exact comparison, CONFORMANCE 19).
    const noSlash = server(sameKeysAs(ti, 'https://shop.eu.auth0.com'), 'auth0');
    await expect(auth(noSlash, await mint(ti, shape(TENANT), 'JWT'))).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER' });
  });

  it('refuses a token naming no client (an ID token has no azp)', async () => {
    await expect(auth(server(ti, 'auth0'), await mint(ti, shape(TENANT, { azp: undefined, nonce: 'n' }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIM',
      message: 'the access token lacks the client claim (client_id or azp)',
    });
  });
});

describe('okta (custom authorization server)', () => {
  const AS = 'https://example.okta.com/oauth2/default';
  let ti: TestIssuer;
  const shape = (iss: string, extra: Record<string, unknown> = {}) => ({
    ver: 1,
    jti: 'AT.MNAoEQ_jbKqoinrQo1D0',
    iss,
    aud: 'api://default',
    sub: 'jane@example.com',
    cid: '0oa1client',
    uid: '00u1user',
    scp: ['openid', 'read:orders'],
    auth_time: Math.floor(Date.now() / 1000),
    ...extra,
  });
  beforeAll(async () => {
    ti = await createTestIssuer({ issuer: AS });
  });

  it('accepts its access token (no typ, cid, scp as an array)', async () => {
    const token = await mint(ti, shape(AS), undefined);
    expect(header(token).typ).toBeUndefined();
    const a = await auth(server(ti, 'okta', 'api://default'), token);
    expect(a?.context.clientId).toBe('0oa1client');
    expect([...a!.context.scopes]).toEqual(['openid', 'read:orders']);
    expect(a?.context.claims.uid).toBe('00u1user');
  });

  it('refuses the same token minted for another API and by another authorization server', async () => {
    await expect(
      auth(server(ti, 'okta', 'api://default'), await mint(ti, shape(AS, { aud: 'api://payments' }), undefined)),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_AUDIENCE' });
    const other = 'https://example.okta.com/oauth2/aus2other';
    await expect(
      auth(server(ti, 'okta', 'api://default'), await mint(sameKeysAs(ti, other), shape(other), undefined)),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER' });
  });

  it('refuses an ID token (no cid) even where its aud names this API, and a typ it does not use', async () => {
    const id = shape(AS, { cid: undefined, scp: undefined, jti: 'ID.radCQMOQ', nonce: 'n', amr: ['pwd'] });
    await expect(auth(server(ti, 'okta', 'api://default'), await mint(ti, id, undefined))).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIM',
      message: 'the access token lacks the client claim (cid)',
    });
    await expect(auth(server(ti, 'okta', 'api://default'), await mint(ti, shape(AS), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_TYPE',
    });
  });
});

describe('entra', () => {
  const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const OTHER_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
  const V2 = (tid: string) => `https://login.microsoftonline.com/${tid}/v2.0`;
  const V1 = (tid: string) => `https://sts.windows.net/${tid}/`;
  const API_CLIENT_ID = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
  const API_URI = 'api://orders-api';
  let ti: TestIssuer;
  const t = Math.floor(Date.now() / 1000);
  /** A v2.0 user token: aud the API's client ID, the client in azp, scp a string, no jti (uti). */
  const v2 = (tid: string, extra: Record<string, unknown> = {}) => ({
    aud: API_CLIENT_ID,
    iss: V2(tid),
    nbf: t,
    azp: 'a1b2c3d4-client',
    azpacr: '1',
    oid: 'o-1',
    sub: 'pairwise-sub',
    tid,
    scp: 'Orders.Read Orders.Write',
    uti: 'AbCdEf',
    ver: '2.0',
    ...extra,
  });
  /** A v1.0 token: aud the application ID URI, the client in appid. */
  const v1 = (tid: string, extra: Record<string, unknown> = {}) => ({
    aud: API_URI,
    iss: V1(tid),
    nbf: t,
    appid: 'a1b2c3d4-client',
    appidacr: '1',
    oid: 'o-1',
    sub: 'pairwise-sub',
    tid,
    scp: 'Orders.Read',
    uti: 'AbCdEf',
    ver: '1.0',
    ...extra,
  });
  /**
   * Entra signs every tenant's tokens with the same keys: two issuers of one key set. The resource is the
   * application ID URI; v2.0's aud, the API's client ID, is a GUID (no URI), named in the profile's audiences.
   */
  function entraServer(profile: Exclude<TokenProfile, string> = {}): ResourceServer {
    const p: TokenProfile = { preset: 'entra', audiences: [API_CLIENT_ID], ...profile };
    return new ResourceServer({
      issuer: [
        { issuer: V2(TENANT), jwks: ti.jwks, profile: p },
        { issuer: V1(TENANT), jwks: ti.jwks, profile: p },
      ],
      resource: API_URI,
      logger: false,
    });
  }
  beforeAll(async () => {
    ti = await createTestIssuer({ issuer: V2(TENANT) });
  });

  it('accepts a v2.0 token (aud the client ID GUID, azp, scp string, typ JWT) and a v1.0 token (app ID URI, appid)', async () => {
    const rs = entraServer();
    const a = await auth(rs, await mint(sameKeysAs(ti, V2(TENANT)), v2(TENANT), 'JWT'));
    expect(a?.context.clientId).toBe('a1b2c3d4-client');
    expect([...a!.context.scopes]).toEqual(['Orders.Read', 'Orders.Write']);
    const b = await auth(rs, await mint(sameKeysAs(ti, V1(TENANT)), v1(TENANT), 'JWT'));
    expect(b?.context.clientId).toBe('a1b2c3d4-client');
    expect(b?.context.audience).toEqual([API_URI]);
  });

  it('counts roles as scopes in an app-only token (no scp), never in a user token', async () => {
    const rs = entraServer();
    const app = await auth(rs, await mint(ti, v2(TENANT, { scp: undefined, roles: ['Orders.ReadWrite.All'], idtyp: 'app' }), 'JWT'));
    expect(app?.context.hasScope('Orders.ReadWrite.All')).toBe(true);
    const user = await auth(rs, await mint(ti, v2(TENANT, { roles: ['Admin'] }), 'JWT'));
    expect(user?.context.hasScope('Admin')).toBe(false);
    expect(user?.context.claims.roles).toEqual(['Admin']);
    // Turned off explicitly: an app-only token then grants no scope at all.
    const off = await auth(
      entraServer({ appPermissionClaims: [] }),
      await mint(ti, v2(TENANT, { scp: undefined, roles: ['Orders.ReadWrite.All'] }), 'JWT'),
    );
    expect(off?.context.scopes.size).toBe(0);
  });

  it('refuses the same token of another tenant (same keys), and one minted for another API', async () => {
    const rs = entraServer();
    await expect(auth(rs, await mint(sameKeysAs(ti, V2(OTHER_TENANT)), v2(OTHER_TENANT), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_ISSUER',
    });
    await expect(auth(rs, await mint(sameKeysAs(ti, V1(OTHER_TENANT)), v1(OTHER_TENANT), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_ISSUER',
    });
    await expect(auth(rs, await mint(ti, v2(TENANT, { aud: '00000003-0000-0000-c000-000000000000' }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
    await expect(auth(rs, await mint(ti, v1(TENANT, { aud: 'api://payments-api', iss: V1(TENANT) }), 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
  });

  it("the client ID in audiences names this API for this issuer's tokens only", async () => {
    const token = await mint(ti, v2(TENANT), 'JWT');
    // Without it, the GUID is not this API: refused.
    const bare = new ResourceServer({ issuer: { issuer: V2(TENANT), jwks: ti.jwks, profile: 'entra' }, resource: API_URI, logger: false });
    await expect(auth(bare, token)).rejects.toMatchObject({ code: 'ERR_TOKEN_AUDIENCE' });
    // Another issuer trusted by the same server, whose tokens carry that GUID in aud, does not get it.
    const otherAs = await createTestIssuer({ issuer: 'https://as.example.com' });
    const rs = new ResourceServer({
      issuer: [
        { issuer: V2(TENANT), jwks: ti.jwks, profile: { preset: 'entra', audiences: [API_CLIENT_ID] } },
        { ...otherAs.trustedIssuer, profile: 'auth0' },
      ],
      resource: API_URI,
      logger: false,
    });
    expect((await auth(rs, token))?.context.audience).toEqual([API_CLIENT_ID]);
    await expect(
      auth(rs, await mint(otherAs, { iss: otherAs.issuer, sub: 'u', azp: 'c', aud: API_CLIENT_ID }, 'JWT')),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_AUDIENCE' });
    expect(
      () =>
        new ResourceServer({
          issuer: { issuer: V2(TENANT), jwks: ti.jwks, profile: { preset: 'entra', audiences: [''] } },
          resource: API_URI,
        }),
    ).toThrow(ConfigurationError);
  });

  it('refuses an ID token (no azp or appid) even where its aud is the API client ID', async () => {
    const id = v2(TENANT, { azp: undefined, azpacr: undefined, scp: undefined, nonce: 'n', preferred_username: 'jane@example.com' });
    await expect(auth(entraServer(), await mint(ti, id, 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIM',
      message: 'the access token lacks the client claim (azp or appid)',
    });
  });
});

describe('cognito', () => {
  const POOL = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example';
  const CLIENT = '4k1exampleclient';
  let ti: TestIssuer;
  /** A Cognito access token: no typ, no aud, client_id, token_use access, scopes of the resource server. */
  const shape = (iss: string, extra: Record<string, unknown> = {}) => ({
    sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    'cognito:groups': ['admin'],
    token_use: 'access',
    scope: `${API}/orders:read aws.cognito.signin.user.admin`,
    auth_time: Math.floor(Date.now() / 1000),
    iss,
    jti: 'jti-1',
    client_id: CLIENT,
    username: 'jane',
    ...extra,
  });
  const cognito = (extra: Partial<Exclude<TokenProfile, string>> = {}): TokenProfile => ({
    preset: 'cognito',
    clientIds: [CLIENT],
    ...extra,
  });
  beforeAll(async () => {
    ti = await createTestIssuer({ issuer: POOL });
  });

  it('accepts its access token (no aud, no typ) from an allowed app client', async () => {
    const token = await mint(ti, shape(POOL), undefined);
    expect(header(token).typ).toBeUndefined();
    const a = await auth(server(ti, cognito()), token);
    expect(a?.context.clientId).toBe(CLIENT);
    expect(a?.context.audience).toEqual([]);
    expect(a?.context.hasScope(`${API}/orders:read`)).toBe(true);
  });

  it('its custom scopes are what the uri:action convention derives when the resource server identifier is the API', async () => {
    const rs = server(ti, cognito(), API, { scopes: { convention: 'uri:action' } });
    const a = await auth(rs, await mint(ti, shape(POOL), undefined));
    const read = rs.derivedRequirement('GET', { path: '/orders' });
    expect(read.allOf).toEqual([`${API}/orders:read`]);
    expect(() => rs.authorize(a!, read)).not.toThrow();
    expect(() => rs.authorize(a!, rs.derivedRequirement('POST', { path: '/orders' }))).toThrow(
      expect.objectContaining({ code: 'ERR_INSUFFICIENT_SCOPE' }),
    );
  });

  it("'cognito' without the client allow-list is a ConfigurationError at start-up (nothing would bind the token to this API)", () => {
    expect(() => server(ti, 'cognito')).toThrow(ConfigurationError);
    expect(() => server(ti, { preset: 'cognito' })).toThrow(/needs clientIds/);
    expect(() => server(ti, { preset: 'cognito', clientIds: [] })).toThrow(ConfigurationError);
    expect(() => server(ti, { requireAudience: false })).toThrow(/needs clientIds/);
  });

  it('refuses a token of another app client, of another user pool, and an ID token (token_use id)', async () => {
    const rs = server(ti, cognito());
    await expect(auth(rs, await mint(ti, shape(POOL, { client_id: 'another-app-client' }), undefined))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
    const otherPool = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other';
    await expect(auth(rs, await mint(sameKeysAs(ti, otherPool), shape(otherPool), undefined))).rejects.toMatchObject({
      code: 'ERR_TOKEN_ISSUER',
    });
    const idToken = shape(POOL, { token_use: 'id', aud: CLIENT, client_id: undefined, scope: undefined, email: 'jane@example.com' });
    await expect(auth(rs, await mint(ti, idToken, undefined))).rejects.toMatchObject({ code: 'ERR_TOKEN_TYPE' });
    await expect(auth(rs, await mint(ti, shape(POOL, { token_use: undefined }), undefined))).rejects.toMatchObject({
      code: 'ERR_TOKEN_TYPE',
    });
    // An aud that is present must still name this API.
    await expect(auth(rs, await mint(ti, shape(POOL, { aud: OTHER_API }), undefined))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
    expect((await auth(rs, await mint(ti, shape(POOL, { aud: API }), undefined)))?.context.audience).toEqual([API]);
  });

  it('with scopePrefixes, refuses a token carrying no scope of this resource server (minted for another API)', async () => {
    const rs = server(ti, cognito({ scopePrefixes: [`${API}/`] }));
    expect(await auth(rs, await mint(ti, shape(POOL), undefined))).toBeDefined();
    await expect(auth(rs, await mint(ti, shape(POOL, { scope: `${OTHER_API}/orders:read openid` }), undefined))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
  });
});

describe('every profile keeps the signature, iss, exp and the binding', () => {
  const cases: Array<[string, TokenProfile, (iss: string) => Record<string, unknown>, string | undefined]> = [
    ['keycloak', 'keycloak', (iss) => ({ iss, sub: 'u', typ: 'Bearer', azp: 'c', aud: API, jti: 'j' }), 'JWT'],
    ['auth0', 'auth0', (iss) => ({ iss, sub: 'u', azp: 'c', aud: API }), 'JWT'],
    ['okta', 'okta', (iss) => ({ iss, sub: 'u', cid: 'c', aud: API, jti: 'j', scp: [] }), undefined],
    ['entra', 'entra', (iss) => ({ iss, sub: 'u', azp: 'c', aud: API, scp: 'x' }), 'JWT'],
    [
      'cognito',
      { preset: 'cognito', clientIds: ['c'] },
      (iss) => ({ iss, sub: 'u', client_id: 'c', token_use: 'access', jti: 'j' }),
      undefined,
    ],
    [
      'custom',
      { typ: ['JWT', null], clientIdClaims: ['azp'], requireJti: false, scopeClaims: ['scp'] },
      (iss) => ({ iss, sub: 'u', azp: 'c', aud: API }),
      undefined,
    ],
  ];

  it.each(cases)(
    '%s: accepts its token, and refuses it tampered, expired, not yet valid, or from an untrusted issuer',
    async (_name, profile, claims, typ) => {
      const ti = await createTestIssuer({ issuer: 'https://vendor.example.com' });
      const rs = server(ti, profile);
      const token = await mint(ti, claims(ti.issuer), typ);
      expect((await auth(rs, token))?.context.issuer).toBe(ti.issuer);
      const [h, p] = token.split('.');
      const forged = Buffer.from(JSON.stringify({ ...claims(ti.issuer), sub: 'admin', exp: Math.floor(Date.now() / 1000) + 300 })).toString(
        'base64url',
      );
      await expect(auth(rs, `${h}.${forged}.${token.split('.')[2]}`)).rejects.toMatchObject({ code: 'ERR_TOKEN_SIGNATURE' });
      await expect(auth(rs, `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`)).rejects.toMatchObject({
        code: 'ERR_TOKEN_SIGNATURE',
      });
      await expect(auth(rs, await mint(ti, { ...claims(ti.issuer), exp: Math.floor(Date.now() / 1000) - 60 }, typ))).rejects.toMatchObject({
        code: 'ERR_TOKEN_EXPIRED',
      });
      await expect(auth(rs, await mint(ti, { ...claims(ti.issuer), nbf: Math.floor(Date.now() / 1000) + 600 }, typ))).rejects.toMatchObject(
        { code: 'ERR_TOKEN_NOT_YET_VALID' },
      );
      await expect(auth(rs, await mint(ti, { ...claims(ti.issuer), exp: undefined }, typ))).rejects.toMatchObject({
        code: 'ERR_TOKEN_CLAIM',
      });
      await expect(
        auth(rs, await mint(sameKeysAs(ti, 'https://other-vendor.example.com'), claims('https://other-vendor.example.com'), typ)),
      ).rejects.toMatchObject({ code: 'ERR_TOKEN_ISSUER' });
      // RFC 7515 / RFC 8725: alg none never, whatever the profile.
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ })).toString('base64url')}.${p}.`;
      await expect(auth(rs, none)).rejects.toMatchObject({ status: 401 });
    },
  );
});

describe('profile configuration', () => {
  let ti: TestIssuer;
  beforeAll(async () => {
    ti = await createTestIssuer({ issuer: 'https://as.example.com' });
  });

  it('a generic relaxation object changes only what it names', async () => {
    const rs = server(ti, { typ: ['at+jwt', 'JWT'], clientIdClaims: ['azp'], requireJti: false, scopeClaims: ['scope'] });
    const a = await auth(rs, await mint(ti, { iss: ti.issuer, sub: 'u', aud: API, azp: 'spa', scope: 'read:orders' }, 'application/JWT'));
    expect(a?.context.clientId).toBe('spa');
    // Still required: aud (it names no other binding), and the rest of requiredClaims.
    await expect(auth(rs, await mint(ti, { iss: ti.issuer, sub: 'u', azp: 'spa' }, 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIM',
    });
    await expect(auth(rs, await mint(ti, { iss: ti.issuer, aud: API, azp: 'spa' }, 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIM',
      message: 'the access token lacks the sub claim',
    });
    await expect(auth(rs, await mint(ti, { iss: ti.issuer, sub: 'u', aud: API, azp: 'spa' }, 'id+jwt'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_TYPE',
    });
  });

  it('a client allow-list can bind any profile further', async () => {
    const rs = server(ti, { preset: 'auth0', clientIds: ['allowed'] });
    expect((await auth(rs, await mint(ti, { iss: ti.issuer, sub: 'u', aud: API, azp: 'allowed' }, 'JWT')))?.context.clientId).toBe(
      'allowed',
    );
    await expect(auth(rs, await mint(ti, { iss: ti.issuer, sub: 'u', aud: API, azp: 'other' }, 'JWT'))).rejects.toMatchObject({
      code: 'ERR_TOKEN_AUDIENCE',
    });
  });

  it('refuses unusable profiles at start-up with a ConfigurationError', () => {
    for (const bad of [
      'okta2',
      { preset: 'cognit0' },
      { typ: [] },
      { typ: ['JWT', 3] },
      { clientIdClaims: [] },
      { scopeClaims: 'scope' },
      { requireJti: 'no' },
      { claimValues: { token_use: 1 } },
      { audience: 'x' },
      ['okta'],
    ]) {
      expect(() => server(ti, bad as unknown as TokenProfile)).toThrow(ConfigurationError);
    }
  });

  it('a profile given by resolveIssuer applies, and a changed profile takes effect', async () => {
    let profile: TokenProfile = 'auth0';
    const rs = new ResourceServer({
      resolveIssuer: (iss) => (iss === ti.issuer ? { issuer: iss, jwks: ti.jwks, profile } : undefined),
      resolveIssuerTtlSeconds: 0,
      resource: API,
      logger: false,
    });
    const token = await mint(ti, { iss: ti.issuer, sub: 'u', aud: API, azp: 'c' }, 'JWT');
    expect((await auth(rs, token))?.context.clientId).toBe('c');
    profile = 'rfc9068';
    rs.clearCache();
    await expect(auth(rs, token)).rejects.toMatchObject({ code: 'ERR_TOKEN_TYPE' });
  });
});
