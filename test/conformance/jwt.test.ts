/**
 * RFC 9068 §4 JWT access-token validation: CONFORMANCE rules 16–25.
 *
 * Most tokens are signed by the real development authorization server (`signToken` uses its own key).
 * Where the key set itself must be controlled (attacker keys, key rotation, counting JWKS fetches) a small
 * local JWKS server with jose keys stands in for the AS.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, createPublicKey, randomBytes, type JsonWebKey as NodeJwk } from 'node:crypto';
import request from 'supertest';
import express from 'express';
import type { Request, Response } from 'express';
import { EncryptJWT, SignJWT, exportJWK, generateKeyPair, type JWK, type CryptoKey } from 'jose';
import {
  oauthResourceServer,
  requireScopes,
  getAuth,
  parseChallenges,
  ResourceServer,
  ConfigurationError,
  type ResourceServerOptions,
  type TrustedIssuer,
} from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
const OTHER = 'https://other.example.com';

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** A local stand-in for an AS's jwks_uri: serves the keys in `keys`, counts the requests it gets. */
interface KeyServer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Every request received, by path. */
  readonly hits: string[];
  /** Requests to /jwks. */
  readonly jwksRequests: number;
  keys: JWK[];
  close(): Promise<void>;
}

const servers: KeyServer[] = [];

async function startKeyServer(keys: JWK[] = []): Promise<KeyServer> {
  const hits: string[] = [];
  const state = { keys };
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/jwks') {
      res.setHeader('content-type', 'application/jwk-set+json');
      res.end(JSON.stringify({ keys: state.keys }));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const ks: KeyServer = {
    issuer,
    jwksUri: `${issuer}/jwks`,
    hits,
    get jwksRequests() {
      return hits.filter((h) => h === '/jwks').length;
    },
    get keys() {
      return state.keys;
    },
    set keys(k: JWK[]) {
      state.keys = k;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(ks);
  return ks;
}

/** A signing key with its public JWK. */
interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(alg = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomBytes(6).toString('hex');
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function validClaims(issuer: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const t = now();
  const claims: Record<string, unknown> = {
    iss: issuer,
    sub: 'user-1',
    aud: API,
    client_id: 'client-1',
    iat: t,
    exp: t + 300,
    jti: randomBytes(12).toString('base64url'),
    scope: 'read:orders',
    ...extra,
  };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  return claims;
}

async function signWith(key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const h = { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header } as Record<string, unknown>;
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  return new SignJWT(claims).setProtectedHeader(h as { alg: string }).sign(key.privateKey);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A compact JWS with a signature computed by hand (alg none, HMAC with a public key...). */
function handMade(header: Record<string, unknown>, claims: Record<string, unknown>, sign: (input: string) => string): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign(input)}`;
}

function challengeOf(header: unknown): Record<string, string> {
  expect(typeof header).toBe('string');
  const cs = parseChallenges(header as string);
  expect(cs).toHaveLength(1);
  expect(cs[0]!.scheme).toBe('Bearer');
  return Object.fromEntries(cs[0]!.params);
}

function expectInvalidToken(res: { status: number; headers: Record<string, unknown>; body: { error?: string } }): void {
  expect(res.status).toBe(401);
  expect(challengeOf(res.headers['www-authenticate']).error).toBe('invalid_token');
  expect(res.body.error).toBe('invalid_token');
}

function buildApp(options: ResourceServerOptions) {
  const app = express();
  app.use(oauthResourceServer({ logger: false, ...options }));
  app.get('/me', (req: Request, res: Response) => {
    const auth = getAuth(req);
    res.json({ sub: auth?.subject, scopes: [...(auth?.scopes ?? [])] });
  });
  app.get('/orders', requireScopes('read:orders'), (_req: Request, res: Response) => {
    res.json({ ok: true });
  });
  app.post('/orders', requireScopes('write:orders'), (_req: Request, res: Response) => {
    res.json({ ok: true });
  });
  return app;
}

function get(app: ReturnType<typeof buildApp>, token: string, path = '/me') {
  return request(app).get(path).set('Authorization', `Bearer ${token}`);
}

// ---------------------------------------------------------------------------------------------------------
// The development AS (oidc-provider) and a kit trusting it

let as: DevAuthorizationServer;
let asKid: string;
let asPublicJwk: NodeJwk;
let app: ReturnType<typeof buildApp>;
let asIssuer: TrustedIssuer;

beforeAll(async () => {
  as = await startDevAuthorizationServer({
    resources: [
      { identifier: API, scopes: ['read:orders', 'write:orders'] },
      { identifier: OTHER, scopes: ['read:other'] },
    ],
  });
  const jwks = (await (await fetch(as.jwksUri)).json()) as { keys: Array<NodeJwk & { kid: string }> };
  asPublicJwk = jwks.keys[0]!;
  asKid = jwks.keys[0]!.kid;
  asIssuer = { issuer: as.issuer, jwksUri: as.jwksUri };
  app = buildApp({ issuer: asIssuer, resource: API });
});
afterAll(async () => {
  await as?.close();
  for (const s of servers) await s.close();
});

// ---------------------------------------------------------------------------------------------------------

describe('typ (CONFORMANCE 16)', () => {
  it('control: a minted RFC 9068 token is accepted (CONFORMANCE 16)', async () => {
    const token = await as.mintAccessToken({ resource: API, scope: 'read:orders' });
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { typ?: string };
    expect(header.typ?.toLowerCase()).toMatch(/^(application\/)?at\+jwt$/);
    expect((await get(app, token)).status).toBe(200);
  });

  it.each(['at+jwt', 'AT+JWT', 'At+Jwt', 'application/at+jwt', 'APPLICATION/AT+JWT', 'Application/At+JWT'])(
    'accepts typ %s (media types compare case-insensitively) (CONFORMANCE 16)',
    async (typ) => {
      const res = await get(app, await as.signToken({ header: { typ } }));
      expect(res.status).toBe(200);
      expect(res.body.sub).toBe('dev-user');
    },
  );

  it('refuses an ID token (typ JWT) signed by the same AS key, whatever its other claims (CONFORMANCE 16)', async () => {
    const idToken = await as.signToken({
      header: { typ: 'JWT' },
      claims: { nonce: 'n-0S6_WzA2Mj', azp: 'dev-jwt', auth_time: now() - 10, at_hash: 'x1y2z3' },
    });
    expectInvalidToken(await get(app, idToken));
  });

  it.each([['JWT'], ['jwt'], ['application/jwt'], ['at+jwt2'], ['xat+jwt'], ['dpop+jwt'], ['token-introspection+jwt'], [''], [undefined]])(
    'refuses typ %p (CONFORMANCE 16)',
    async (typ) => {
      expectInvalidToken(await get(app, await as.signToken({ header: { typ } })));
    },
  );
});

describe('alg (CONFORMANCE 17)', () => {
  it('accepts RS256 with the default allow-list (CONFORMANCE 17)', async () => {
    const token = await as.signToken({ header: { alg: 'RS256' } });
    expect((await get(app, token)).status).toBe(200);
  });

  it('accepts RS256 when RS256 is the configured allow-list (CONFORMANCE 17)', async () => {
    const a = buildApp({ issuer: { ...asIssuer, algorithms: ['RS256'] }, resource: API });
    expect((await get(a, await as.signToken({}))).status).toBe(200);
  });

  it.each(['none', 'None', 'NONE'])('refuses alg %s, unsigned or with any signature (CONFORMANCE 17)', async (alg) => {
    const claims = validClaims(as.issuer, { aud: API });
    const header = { alg, typ: 'at+jwt' };
    expectInvalidToken(
      await get(
        app,
        handMade(header, claims, () => ''),
      ),
    );
    expectInvalidToken(
      await get(
        app,
        handMade(header, claims, () => 'AAAA'),
      ),
    );
    expectInvalidToken(
      await get(
        app,
        handMade({ ...header, kid: asKid }, claims, () => randomBytes(256).toString('base64url')),
      ),
    );
  });

  it('refuses HS256 signed with the AS public key (PEM, DER, JWK text and modulus) (CONFORMANCE 17)', async () => {
    const pub = createPublicKey({ key: asPublicJwk, format: 'jwk' });
    const secrets: Array<string | Buffer> = [
      pub.export({ type: 'spki', format: 'pem' }) as string,
      pub.export({ type: 'pkcs1', format: 'pem' }) as string,
      pub.export({ type: 'spki', format: 'der' }) as Buffer,
      JSON.stringify(asPublicJwk),
      Buffer.from(String(asPublicJwk.n), 'base64url'),
    ];
    for (const secret of secrets) {
      for (const header of [
        { alg: 'HS256', typ: 'at+jwt', kid: asKid },
        { alg: 'HS256', typ: 'at+jwt' },
      ]) {
        const token = handMade(header, validClaims(as.issuer), (input) => createHmac('sha256', secret).update(input).digest('base64url'));
        expectInvalidToken(await get(app, token));
      }
    }
  });

  it('refuses HS256 signed with the AS public key even when the issuer has an HMAC secret (CONFORMANCE 17)', async () => {
    const secret = randomBytes(32).toString('base64url');
    const a = buildApp({ issuer: { ...asIssuer, secret }, resource: API });
    const hmac = (key: string | Buffer) => (input: string) => createHmac('sha256', key).update(input).digest('base64url');
    // control: HMAC works with the configured secret
    expect((await get(a, handMade({ alg: 'HS256', typ: 'at+jwt' }, validClaims(as.issuer), hmac(secret)))).status).toBe(200);
    const pem = createPublicKey({ key: asPublicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    expectInvalidToken(await get(a, handMade({ alg: 'HS256', typ: 'at+jwt', kid: asKid }, validClaims(as.issuer), hmac(pem))));
  });

  it('never uses a symmetric (oct) key published in the JWKS, with or without a configured secret (CONFORMANCE 17)', async () => {
    const key = await newKey();
    const shared = randomBytes(32);
    const ks = await startKeyServer([key.publicJwk, { kty: 'oct', k: shared.toString('base64url'), kid: 'sym', alg: 'HS256', use: 'sig' }]);
    const hs = () =>
      handMade({ alg: 'HS256', typ: 'at+jwt', kid: 'sym' }, validClaims(ks.issuer), (input) =>
        createHmac('sha256', shared).update(input).digest('base64url'),
      );
    const plain = buildApp({ issuer: { issuer: ks.issuer, jwksUri: ks.jwksUri }, resource: API });
    expect((await get(plain, await signWith(key, validClaims(ks.issuer)))).status).toBe(200); // control
    expectInvalidToken(await get(plain, hs()));
    const withSecret = buildApp({ issuer: { issuer: ks.issuer, jwksUri: ks.jwksUri, secret: randomBytes(32) }, resource: API });
    expectInvalidToken(await get(withSecret, hs()));
  });

  it.each([[['ES256']], [['PS256']], [['RS512']]] as Array<[Array<'ES256' | 'PS256' | 'RS512'>]>)(
    'refuses an RS256 token when the allow-list is %p (CONFORMANCE 17)',
    async (algorithms) => {
      const a = buildApp({ issuer: { ...asIssuer, algorithms }, resource: API });
      expectInvalidToken(await get(a, await as.mintAccessToken({ resource: API, scope: 'read:orders' })));
    },
  );

  it('refuses to configure alg none at start-up (CONFORMANCE 17)', () => {
    expect(
      () => new ResourceServer({ issuer: { issuer: as.issuer, algorithms: ['none' as never] }, resource: API, logger: false }),
    ).toThrow(ConfigurationError);
  });
});

describe('keys only from jwks_uri (CONFORMANCE 18)', () => {
  let attacker: SigningKey;
  let evil: KeyServer;
  beforeAll(async () => {
    attacker = await newKey('RS256');
    evil = await startKeyServer([attacker.publicJwk]);
  });

  it('refuses a token signed by a key embedded in its own jwk header (CONFORMANCE 18)', async () => {
    const jwk = { kty: attacker.publicJwk.kty, n: attacker.publicJwk.n, e: attacker.publicJwk.e };
    for (const kid of [attacker.kid, asKid, undefined]) {
      const token = await signWith(attacker, validClaims(as.issuer), { jwk, kid });
      expectInvalidToken(await get(app, token));
    }
  });

  it('never fetches a jku or x5u URL and refuses the attacker-signed token (CONFORMANCE 18)', async () => {
    for (const header of [{ jku: evil.jwksUri }, { x5u: `${evil.issuer}/cert.pem` }, { jku: evil.jwksUri, kid: asKid }]) {
      const token = await signWith(attacker, validClaims(as.issuer), header);
      expectInvalidToken(await get(app, token));
    }
    expect(evil.hits).toEqual([]);
  });

  it("with two trusted issuers, a token naming issuer B but signed with issuer A's key is refused (CONFORMANCE 18)", async () => {
    const bKey = await newKey();
    const b = await startKeyServer([bKey.publicJwk]);
    const a = buildApp({ issuer: [asIssuer, { issuer: b.issuer, jwksUri: b.jwksUri }], resource: API });
    // controls: each issuer's own tokens pass
    expect((await get(a, await as.signToken({}))).status).toBe(200);
    expect((await get(a, await signWith(bKey, validClaims(b.issuer)))).status).toBe(200);
    // A's key (with and without A's kid) does not vouch for iss B
    expectInvalidToken(await get(a, await as.signToken({ claims: { iss: b.issuer } })));
    expectInvalidToken(await get(a, await as.signToken({ claims: { iss: b.issuer }, header: { kid: undefined } })));
    // and B's key does not vouch for iss A
    expectInvalidToken(await get(a, await signWith(bKey, validClaims(as.issuer))));
  });

  it('ignores a jku header on a token the AS really signed (CONFORMANCE 18)', async () => {
    const token = await as.signToken({ header: { jku: evil.jwksUri, x5u: `${evil.issuer}/cert.pem` } });
    expect((await get(app, token)).status).toBe(200);
    expect(evil.hits).toEqual([]);
  });
});

describe('iss (CONFORMANCE 19)', () => {
  it.each([
    ['with a trailing slash', (i: string) => `${i}/`],
    ['with localhost instead of 127.0.0.1', (i: string) => i.replace('127.0.0.1', 'localhost')],
    ['in upper case', (i: string) => i.toUpperCase()],
    ['with a path', (i: string) => `${i}/tenant`],
    ['of another issuer', () => 'https://as.example.com'],
  ])('refuses iss %s (CONFORMANCE 19)', async (_what, change) => {
    expectInvalidToken(await get(app, await as.signToken({ claims: { iss: change(as.issuer) } })));
  });

  it('refuses a token without a trailing slash when the configured issuer has one (CONFORMANCE 19)', async () => {
    const key = await newKey();
    const ks = await startKeyServer([key.publicJwk]);
    const a = buildApp({ issuer: { issuer: `${ks.issuer}/`, jwksUri: ks.jwksUri }, resource: API });
    // control: exactly the configured issuer is accepted
    expect((await get(a, await signWith(key, validClaims(`${ks.issuer}/`)))).status).toBe(200);
    expectInvalidToken(await get(a, await signWith(key, validClaims(ks.issuer))));
  });
});

describe('aud (CONFORMANCE 20)', () => {
  it.each([
    ['a string equal to the resource', API],
    ['an array containing the resource', [OTHER, API]],
    ['a one-element array', [API]],
  ])('accepts aud as %s (CONFORMANCE 20)', async (_what, aud) => {
    expect((await get(app, await as.signToken({ claims: { aud } }))).status).toBe(200);
  });

  it.each([
    ['another resource (string)', OTHER],
    ['another resource (array)', [OTHER, 'https://third.example.com']],
    ['an empty array', []],
    ['the resource with a trailing slash', `${API}/`],
    ['a prefix of the resource', 'https://api.example.co'],
    ['the resource with a suffix', `${API}.evil.com`],
    ['the resource in another case', API.toUpperCase()],
    ['a number', 42],
    ['an array holding a non-string', [API, 42]],
  ])('refuses aud %s (CONFORMANCE 20)', async (_what, aud) => {
    expectInvalidToken(await get(app, await as.signToken({ claims: { aud } })));
  });

  it('refuses a token minted for another resource at the same AS (CONFORMANCE 20)', async () => {
    expectInvalidToken(await get(app, await as.mintAccessToken({ resource: OTHER, scope: 'read:other' })));
  });
});

describe('exp (CONFORMANCE 21)', () => {
  it('refuses a token that expired beyond the default leeway (CONFORMANCE 21)', async () => {
    expectInvalidToken(await get(app, await as.signToken({ claims: { iat: now() - 600, exp: now() - 60 } })));
  });

  it('accepts a token expired by less than the default leeway of 5 s (CONFORMANCE 21)', async () => {
    expect((await get(app, await as.signToken({ claims: { iat: now() - 600, exp: now() - 2 } }))).status).toBe(200);
  });

  it('with no leeway, refuses exp equal to now (exp <= now) (CONFORMANCE 21)', async () => {
    const strict = buildApp({ issuer: asIssuer, resource: API, clockToleranceSeconds: 0 });
    expectInvalidToken(await get(strict, await as.signToken({ claims: { iat: now() - 600, exp: now() } })));
    expectInvalidToken(await get(strict, await as.signToken({ claims: { iat: now() - 600, exp: now() - 1 } })));
    expect((await get(strict, await as.signToken({ claims: { exp: now() + 60 } }))).status).toBe(200);
  });

  it('honours a configured leeway, and only that much (CONFORMANCE 21)', async () => {
    const lenient = buildApp({ issuer: asIssuer, resource: API, clockToleranceSeconds: 60 });
    expect((await get(lenient, await as.signToken({ claims: { iat: now() - 600, exp: now() - 30 } }))).status).toBe(200);
    expectInvalidToken(await get(lenient, await as.signToken({ claims: { iat: now() - 600, exp: now() - 120 } })));
  });

  it.each([
    ['a string', String(Math.floor(Date.now() / 1000) + 300)],
    ['null', null],
    ['an object', { t: 1 }],
  ])('refuses exp given as %s (CONFORMANCE 21)', async (_what, exp) => {
    expectInvalidToken(await get(app, await as.signToken({ claims: { exp } })));
  });

  it('refuses nbf or iat in the future beyond the leeway (CONFORMANCE 21)', async () => {
    expectInvalidToken(await get(app, await as.signToken({ claims: { nbf: now() + 120 } })));
    expectInvalidToken(await get(app, await as.signToken({ claims: { iat: now() + 3600, exp: now() + 7200 } })));
  });
});

describe('required claims (CONFORMANCE 22)', () => {
  it('control: the full claim set is accepted (CONFORMANCE 22)', async () => {
    expect((await get(app, await as.signToken({}))).status).toBe(200);
  });

  it.each(['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'])('refuses a token missing %s (CONFORMANCE 22)', async (claim) => {
    expectInvalidToken(await get(app, await as.signToken({ claims: { [claim]: undefined } })));
  });

  it.each(['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'])('refuses a token whose %s is null (CONFORMANCE 22)', async (claim) => {
    expectInvalidToken(await get(app, await as.signToken({ claims: { [claim]: null } })));
  });
});

describe('scope (CONFORMANCE 23)', () => {
  it('reads scope as a space-separated string (CONFORMANCE 23)', async () => {
    const token = await as.signToken({ claims: { scope: 'read:orders write:orders' } });
    expect((await get(app, token, '/orders')).status).toBe(200);
    expect((await request(app).post('/orders').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    expect((await get(app, token)).body.scopes.sort()).toEqual(['read:orders', 'write:orders']);
  });

  it('splits on spaces only: a comma-joined value is one scope (CONFORMANCE 23)', async () => {
    const token = await as.signToken({ claims: { scope: 'read:orders,write:orders' } });
    const res = await get(app, token, '/orders');
    expect(res.status).toBe(403);
    expect(challengeOf(res.headers['www-authenticate']).error).toBe('insufficient_scope');
  });

  it('refuses scope given as an array (CONFORMANCE 23)', async () => {
    for (const scope of [['read:orders'], ['read:orders', 'write:orders']]) {
      expectInvalidToken(await get(app, await as.signToken({ claims: { scope } }), '/orders'));
    }
  });
});

describe('encrypted tokens (CONFORMANCE 24)', () => {
  it('refuses a JWE (five parts, dir + A256GCM) when no encryption was agreed (CONFORMANCE 24)', async () => {
    const jwe = await new EncryptJWT(validClaims(as.issuer))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'at+jwt' })
      .encrypt(randomBytes(32));
    expect(jwe.split('.')).toHaveLength(5);
    expectInvalidToken(await get(app, jwe));
  });

  it('refuses a JWE (five parts, RSA-OAEP-256) when no encryption was agreed (CONFORMANCE 24)', async () => {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256');
    const jwe = await new EncryptJWT(validClaims(as.issuer))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A128GCM', typ: 'at+jwt', cty: 'JWT' })
      .encrypt(publicKey);
    expect(jwe.split('.')).toHaveLength(5);
    expect(jwe.split('.').every((p) => p.length > 0)).toBe(true);
    expectInvalidToken(await get(app, jwe));
  });
});

describe('unknown kid and JWKS refresh (CONFORMANCE 25)', () => {
  /** Move Date.now() forward without sleeping (the kit's cooldown reads Date.now()). */
  function mockClock() {
    const real = Date.now.bind(Date);
    let offset = 0;
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => real() + offset);
    return {
      advance(ms: number) {
        offset += ms;
      },
      restore() {
        spy.mockRestore();
      },
    };
  }

  async function unknownKidTokens(issuer: string, n: number): Promise<string[]> {
    const stranger = await newKey();
    return Promise.all(
      Array.from({ length: n }, (_, i) => signWith(stranger, validClaims(issuer), { kid: `unknown-${i}-${stranger.kid}` })),
    );
  }

  it('refetches at most once per cooldown on unknown kids, then answers invalid_token (CONFORMANCE 25)', async () => {
    const key = await newKey();
    const ks = await startKeyServer([key.publicJwk]);
    const a = buildApp({ issuer: { issuer: ks.issuer, jwksUri: ks.jwksUri }, resource: API, jwks: { cooldownSeconds: 30 } });
    expect((await get(a, await signWith(key, validClaims(ks.issuer)))).status).toBe(200);
    const base = ks.jwksRequests;
    expect(base).toBe(1);

    const clock = mockClock();
    try {
      // Within the cooldown of the first fetch: a flood of unknown kids, sequential and concurrent.
      const first = await unknownKidTokens(ks.issuer, 20);
      for (const t of first.slice(0, 5)) expectInvalidToken(await get(a, t));
      for (const res of await Promise.all(first.slice(5).map((t) => get(a, t)))) expectInvalidToken(res);
      expect(ks.jwksRequests - base).toBeLessThanOrEqual(1);

      // After the cooldown: exactly one refetch for the whole flood.
      clock.advance(31_000);
      const before = ks.jwksRequests;
      const second = await unknownKidTokens(ks.issuer, 20);
      for (const res of await Promise.all(second.slice(0, 15).map((t) => get(a, t)))) expectInvalidToken(res);
      for (const t of second.slice(15)) expectInvalidToken(await get(a, t));
      expect(ks.jwksRequests - before).toBe(1);
    } finally {
      clock.restore();
    }
  });

  it('finds a key the AS publishes later once the cooldown has passed (CONFORMANCE 25)', async () => {
    const key = await newKey();
    const ks = await startKeyServer([key.publicJwk]);
    const a = buildApp({ issuer: { issuer: ks.issuer, jwksUri: ks.jwksUri }, resource: API, jwks: { cooldownSeconds: 30 } });
    expect((await get(a, await signWith(key, validClaims(ks.issuer)))).status).toBe(200);
    const base = ks.jwksRequests;

    const rotated = await newKey();
    ks.keys = [key.publicJwk, rotated.publicJwk];
    const clock = mockClock();
    try {
      // Still inside the cooldown of the last fetch: the new kid is unknown and not refetched.
      expectInvalidToken(await get(a, await signWith(rotated, validClaims(ks.issuer))));
      expect(ks.jwksRequests).toBe(base);

      clock.advance(31_000);
      const res = await get(a, await signWith(rotated, validClaims(ks.issuer)));
      expect(res.status).toBe(200);
      expect(ks.jwksRequests).toBe(base + 1);
      // The old key still works, without another fetch.
      expect((await get(a, await signWith(key, validClaims(ks.issuer)))).status).toBe(200);
      expect(ks.jwksRequests).toBe(base + 1);
    } finally {
      clock.restore();
    }
  });

  it('with cooldownSeconds 0, a key published later is found at once, and an unknown kid costs one fetch (CONFORMANCE 25)', async () => {
    const key = await newKey();
    const ks = await startKeyServer([key.publicJwk]);
    const a = buildApp({ issuer: { issuer: ks.issuer, jwksUri: ks.jwksUri }, resource: API, jwks: { cooldownSeconds: 0 } });
    expect((await get(a, await signWith(key, validClaims(ks.issuer)))).status).toBe(200);

    const later = await newKey();
    ks.keys = [key.publicJwk, later.publicJwk];
    let before = ks.jwksRequests;
    expect((await get(a, await signWith(later, validClaims(ks.issuer)))).status).toBe(200);
    expect(ks.jwksRequests - before).toBe(1);

    for (const t of await unknownKidTokens(ks.issuer, 3)) {
      before = ks.jwksRequests;
      expectInvalidToken(await get(a, t));
      expect(ks.jwksRequests - before).toBe(1);
    }
  });

  it('a key removed from the JWKS stops verifying only after a refresh, and its token is then refused (CONFORMANCE 25)', async () => {
    const key = await newKey();
    const other = await newKey();
    const ks = await startKeyServer([key.publicJwk, other.publicJwk]);
    const a = buildApp({ issuer: { issuer: ks.issuer, jwksUri: ks.jwksUri }, resource: API, jwks: { cooldownSeconds: 0 }, cache: false });
    expect((await get(a, await signWith(other, validClaims(ks.issuer)))).status).toBe(200);
    ks.keys = [key.publicJwk];
    // other's kid is still in the loaded set until something refreshes it; an unknown kid does.
    const [unknown] = await unknownKidTokens(ks.issuer, 1);
    expectInvalidToken(await get(a, unknown!));
    expectInvalidToken(await get(a, await signWith(other, validClaims(ks.issuer))));
  });
});
