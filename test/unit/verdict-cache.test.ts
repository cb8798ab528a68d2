/**
 * The verified-token cache: a JWT is admitted on its second sight (a token seen once costs no insert), cycles of
 * tokens are cached when they fit and stay bounded and correct when they do not, introspection verdicts are cached
 * at once, and cached tokens share what repeats (scope sets, audience arrays) without sharing anything a route
 * could change. A cache hit returns the very object cached (what these tests observe).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ResourceServer, type AuthContext } from '../../src/index.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/index.js';

const RESOURCE = 'https://api.example.com';
let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});

const server = (cache: false | { maxEntries?: number } = {}) =>
  new ResourceServer({ issuer: issuer.trustedIssuer, resource: RESOURCE, cache, logger: false });
const tokens = (n: number, scope = 'read') =>
  Promise.all(Array.from({ length: n }, (_, i) => signTestToken(issuer, { audience: RESOURCE, scope, claims: { sub: `user-${i}` } })));
const verify = (rs: ResourceServer, token: string) => {
  const v = rs.verifier.verify(token);
  if (v instanceof Promise) throw new Error('a JWT with known keys is verified synchronously');
  return v;
};

describe('admission on second sight', () => {
  it('verifies a JWT fully on its first two sights and caches it on the second', async () => {
    const rs = server();
    const [t] = await tokens(1);
    const first = verify(rs, t!);
    const second = verify(rs, t!);
    expect(second).not.toBe(first); // the first sight was not cached
    expect(verify(rs, t!)).toBe(second); // the second was
    expect(verify(rs, t!)).toBe(second);
    expect(second.context.subject).toBe('user-0');
  });

  it('never caches with the cache off', async () => {
    const rs = server(false);
    const [t] = await tokens(1);
    const seen = new Set([verify(rs, t!), verify(rs, t!), verify(rs, t!)]);
    expect(seen.size).toBe(3);
  });

  it('caches a cycle of tokens that fits the cache from its second round on', async () => {
    const rs = server({ maxEntries: 200 });
    const ts = await tokens(150);
    ts.forEach((t) => verify(rs, t));
    const round2 = ts.map((t) => verify(rs, t));
    const round3 = ts.map((t) => verify(rs, t));
    const round4 = ts.map((t) => verify(rs, t));
    // Admitted on the second round (a rare token whose record was lost on the third), hits from then on.
    expect(round3.filter((v, i) => v === round2[i]).length).toBeGreaterThanOrEqual(140);
    expect(round4.filter((v, i) => v === round3[i])).toHaveLength(150);
    expect(round4.map((v) => v.context.subject)).toEqual(ts.map((_, i) => `user-${i}`));
  });

  it('stays bounded and right under a cycle larger than the cache: evicted tokens are verified anew', async () => {
    const rs = server({ maxEntries: 40 });
    const ts = await tokens(100);
    let previous = ts.map((t) => verify(rs, t));
    for (let round = 0; round < 4; round++) {
      const now = ts.map((t) => verify(rs, t));
      // Never more tokens served from the cache than it holds, and every answer is its own token's.
      expect(now.filter((v, i) => v === previous[i]).length).toBeLessThanOrEqual(40);
      expect(now.map((v) => v.context.subject)).toEqual(ts.map((_, i) => `user-${i}`));
      previous = now;
    }
  });

  it('still refuses a cached token once it has expired', async () => {
    const rs = server();
    const t = await signTestToken(issuer, { audience: RESOURCE, scope: 'read', expiresIn: 1 });
    verify(rs, t);
    const cached = verify(rs, t);
    expect(verify(rs, t)).toBe(cached);
    const clock = Date.now;
    Date.now = () => clock() + 120_000; // past exp and the default 60 s leeway
    try {
      expect(() => rs.verifier.verify(t)).toThrow(/expired/);
    } finally {
      Date.now = clock;
    }
  });
});

describe('what cached tokens share', () => {
  it('shares one scope set, hasScope and audience array between tokens with the same scopes, and nothing else', async () => {
    const rs = server();
    const [a, b] = await tokens(2, 'read write');
    const [ca, cb] = [verify(rs, a!).context, verify(rs, b!).context] as [AuthContext, AuthContext];
    expect(ca.scopes).toBe(cb.scopes);
    expect(ca.hasScope).toBe(cb.hasScope);
    expect(ca.audience).toBe(cb.audience);
    expect(ca).not.toBe(cb);
    expect(ca.claims).not.toBe(cb.claims);
    expect([ca.subject, cb.subject]).toEqual(['user-0', 'user-1']);
    expect([...ca.scopes]).toEqual(['read', 'write']);
    expect(ca.hasScope('write')).toBe(true);
    expect(ca.hasScope('admin')).toBe(false);
  });

  it('gives route code nothing shared it can change: the scope set has no add, contexts and claims are frozen', async () => {
    const rs = server();
    const [a, b] = await tokens(2, 'read');
    const ca = verify(rs, a!).context;
    expect((ca.scopes as unknown as { add?: unknown }).add).toBeUndefined();
    expect(Object.isFrozen(ca)).toBe(true);
    expect(Object.isFrozen(ca.claims)).toBe(true);
    expect(Object.isFrozen(ca.audience)).toBe(true);
    expect(() => (ca.audience as string[]).push('https://evil.example')).toThrow(TypeError);
    const cb = verify(rs, b!).context;
    expect(cb.hasScope('admin')).toBe(false);
    expect([...cb.audience]).toEqual([RESOURCE]);
  });
});

describe('the Authenticated of a request', () => {
  const get = (token: string) => ({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });

  it('is the cached verdict itself for a Bearer header (nothing allocated per hit), with its place as own properties', async () => {
    const rs = server();
    const [t] = await tokens(1);
    for (let i = 0; i < 2; i++) rs.authenticate(get(t!));
    const a = rs.authenticate(get(t!));
    const b = rs.authenticate(get(t!));
    expect(b).toBe(a);
    // A copy keeps where the token was found and its scheme, as for any other Authenticated.
    expect({ ...a }).toMatchObject({ location: 'header', scheme: 'bearer' });
    expect(JSON.parse(JSON.stringify(a))).toMatchObject({ location: 'header', scheme: 'bearer' });
    // The issuer state a verdict is believed under is not one of its enumerable members.
    expect(Object.keys(a!)).not.toContain('trust');
  });

  it('is its own object where the token came from elsewhere (the query), naming that place', async () => {
    const rs = new ResourceServer({
      issuer: issuer.trustedIssuer,
      resource: RESOURCE,
      logger: false,
      tokenLocations: { query: true },
    });
    const [t] = await tokens(1);
    const fromQuery = () => rs.authenticate({ method: 'GET', url: `/?access_token=${t}`, headers: {} });
    for (let i = 0; i < 2; i++) fromQuery();
    const a = fromQuery();
    expect(a).toMatchObject({ location: 'query', scheme: 'bearer' });
    expect(rs.authenticate(get(t!))).toMatchObject({ location: 'header', scheme: 'bearer' });
    expect(fromQuery()).not.toBe(a);
  });
});
