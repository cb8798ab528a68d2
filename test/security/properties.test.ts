/**
 * Property-based tests (fast-check): the header parser, the challenge writer, scope matching, token
 * verification and introspection answers, over random inputs. Never an exception that would escape as a
 * 500, never an accepted token or answer that should not be.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatChallenge, parseChallenges, InvalidRequestError, ResourceServer, ResourceServerError } from '../../src/index.js';
import { sanitizeDescription } from '../../src/answers/www-authenticate.js';
import { extractBearerToken } from '../../src/token/extract.js';
import { GrantedScopes } from '../../src/scopes/requirement.js';
import { checkIntrospection } from '../../src/token/introspection-answer.js';
import { createTestIssuer, signTestToken } from '../../src/testing/index.js';

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });

describe('properties', () => {
  it('what the challenge writer writes parses back to what was meant (error_description sanitised)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('Bearer', 'DPoP', 'UMA'),
        fc.uniqueArray(
          fc.tuple(
            fc.constantFrom('realm', 'scope', 'error', 'error_description', 'error_uri', 'resource_metadata', 'ticket', 'as_uri', 'algs'),
            printable,
          ),
          { selector: ([n]) => n, maxLength: 6 },
        ),
        (scheme, params) => {
          const header = formatChallenge({ scheme, params });
          const [parsed, ...rest] = parseChallenges(header);
          expect(rest).toHaveLength(0);
          expect(parsed!.scheme).toBe(scheme);
          const expected = params.map(([n, v]) => [n, n === 'error' || n === 'error_description' ? sanitizeDescription(v) : v]);
          expect(parsed!.params).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('extraction of any Authorization header either finds a b64token, finds nothing, or is a 400', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          printable.map((s) => `Bearer ${s}`),
          printable,
          fc.string({ maxLength: 40 }).map((s) => `bearer  ${s}`),
        ),
        (value) => {
          let found;
          try {
            found = extractBearerToken(
              { method: 'GET', url: '/', headers: { authorization: value }, rawHeaders: ['Authorization', value] },
              { body: false, query: false },
              8192,
            );
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidRequestError);
            return;
          }
          // The syntax check itself runs on a cache miss (assertTokenSyntax); what comes out is the credentials as sent.
          if (found) expect(value.toLowerCase().startsWith('bearer ')).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('scopes match as whole tokens: has(s) exactly when s was granted', () => {
    const scope = fc.string({ unit: fc.constantFrom('a', 'b', ':', '/', 'x', '.'), minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.uniqueArray(scope, { maxLength: 8 }), scope, (granted, asked) => {
        const g = new GrantedScopes(granted, new Map(), false);
        expect(g.has(asked)).toBe(granted.includes(asked));
      }),
      { numRuns: 1000 },
    );
  });

  it('an introspection answer is believed only when active is the JSON boolean true, whatever else it says', () => {
    const now = Math.floor(Date.now() / 1000);
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('active', 'exp', 'nbf', 'iss', 'aud', 'scope', 'token_type', 'sub', 'client_id', 'cnf'),
          fc.jsonValue(),
          { maxKeys: 10 },
        ),
        (answer) => {
          try {
            const r = checkIntrospection(answer as Record<string, unknown>, 'https://as.example.com', {
              nowSeconds: now,
              toleranceSeconds: 0,
            });
            expect(answer.active).toBe(true);
            expect(r.claims.iss).toBe('https://as.example.com');
          } catch (err) {
            expect(err).toBeInstanceOf(ResourceServerError);
            expect((err as ResourceServerError).status).toBe(401);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('random and mutated tokens are refused with a typed 400/401, never accepted, never another exception', async () => {
    const ti = await createTestIssuer();
    const rs = new ResourceServer({ issuer: ti.trustedIssuer, resource: 'https://api.example.com', logger: false });
    const good = await signTestToken(ti, { audience: 'https://api.example.com' });
    const mutate = fc
      .tuple(fc.nat({ max: good.length - 1 }), fc.constantFrom('A', 'z', '.', '-', '_', '=', '+'))
      .map(([i, c]) => good.slice(0, i) + c + good.slice(i + 1))
      .filter((t) => t !== good);
    const random = fc.string({ unit: fc.constantFrom(...'ABCxyz0189-_.~+/='), minLength: 1, maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutate, random), async (token) => {
        try {
          await rs.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });
          throw new Error(`accepted a token that should not be: ${token.slice(0, 40)}`);
        } catch (err) {
          expect(err).toBeInstanceOf(ResourceServerError);
          expect([400, 401]).toContain((err as ResourceServerError).status);
          if ((err as ResourceServerError).status === 400) expect(B64TOKEN.test(token)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('signature encoding', () => {
  it('refuses a token whose signature differs only in unused trailing bits (non-canonical base64url)', async () => {
    const ti = await createTestIssuer();
    const rs = new ResourceServer({ issuer: ti.trustedIssuer, resource: 'https://api.example.com', logger: false });
    const good = await signTestToken(ti, { audience: 'https://api.example.com' });
    expect(await rs.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${good}` } })).toBeDefined();
    // RS256: 256 bytes = 341⅓ base64url characters; the last character carries 2 bits, the other 4 are unused.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(good[good.length - 1]!);
    const twin = good.slice(0, -1) + alphabet[last ^ 0b0001]!;
    await expect(
      Promise.resolve().then(() => rs.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${twin}` } })),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
  });
});
