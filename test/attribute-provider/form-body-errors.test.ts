/**
 * The claims endpoint's form body (RFC 6750 §2.2) when it cannot be read: too large, or in an unknown
 * charset (body-parser's 413 and 415). Each is the kit's own 400 `invalid_request` answer
 * (RFC 6750 §3.1) with its challenge, on Express 4 and 5 — never Express's HTML error page and stack.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { attributeProvider, parseChallenges, type AttributeProviderRouterOptions } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express-versions.js';
import { PROVIDER, findUser } from './fixtures.js';

let ti: TestIssuer;
beforeAll(async () => {
  ti = await createTestIssuer();
});

describe.each(EXPRESS_VERSIONS)('attribute provider form body errors (%s)', (_name, express: ExpressFactory) => {
  function app(extra: Partial<AttributeProviderRouterOptions['resourceServer']> = {}) {
    const a = express();
    a.use(
      '/attributes',
      attributeProvider({
        resourceServer: { issuer: ti.trustedIssuer, resource: PROVIDER, tokenLocations: { body: true }, logger: false, ...extra },
        formats: ['json'],
        findUser,
      }),
    );
    return a;
  }

  const cases: Array<[what: string, contentType: string, body: string]> = [
    ['a body over 16 KiB', 'application/x-www-form-urlencoded', `access_token=${'a'.repeat(20_000)}`],
    ['an unknown charset', 'application/x-www-form-urlencoded; charset=bogus', 'access_token=abc'],
  ];

  it.each(cases)('%s gets a JSON 400 invalid_request with a Bearer challenge, no stack and no token', async (_what, contentType, body) => {
    const res = await request(app()).post('/attributes/claims').set('content-type', contentType).send(body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ error: 'invalid_request' });
    const [c] = parseChallenges(res.headers['www-authenticate']!);
    expect(c!.scheme).toBe('Bearer');
    expect(Object.fromEntries(c!.params)).toMatchObject({ error: 'invalid_request' });
    expect(res.text).not.toMatch(/<html|<pre|at .*\(.*:\d+:\d+\)|node_modules/i);
    expect(res.text).not.toContain('aaaaaaaaaa');
  });

  it('with errorResponse: "problem", an unreadable form body is a problem+json 400', async () => {
    const res = await request(app({ errorResponse: 'problem' }))
      .post('/attributes/claims')
      .set('content-type', 'application/x-www-form-urlencoded; charset=bogus')
      .send('access_token=abc');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, error: 'invalid_request' });
  });
});
