/**
 * Misspelled options are caught at start-up, for JavaScript users too: an unknown name at any level of the
 * options (issuer entries, introspection, profile, dpop, metadata, cache, http, jwks, scopes...) is a
 * ConfigurationError naming the closest known one, and express-oauth2-jwt-bearer's names point at the
 * README's migration section.
 */
import { describe, expect, it } from '@jest/globals';
import { ConfigurationError, ResourceServer, type ResourceServerOptions } from '../../src/index.js';

const ISSUER = 'https://as.example.com';
const base = { issuer: ISSUER, resource: 'https://api.example.com', logger: false as const };
const build = (options: Record<string, unknown>) => () => new ResourceServer(options as unknown as ResourceServerOptions);

function messageOf(options: Record<string, unknown>): string {
  try {
    build(options)();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as Error).message;
  }
  throw new Error('no ConfigurationError');
}

describe('unknown option names', () => {
  it.each([
    [{ ...base, clockToleranceSecond: 5 }, '"clockToleranceSecond": did you mean "clockToleranceSeconds"?'],
    [{ ...base, authrequired: false }, '"authrequired": did you mean "authRequired"?'],
    [{ ...base, http: { timeout: 1000 } }, '"http.timeout": did you mean "http.timeoutMs"?'],
    [{ ...base, cache: { maxEntry: 10 } }, '"cache.maxEntry": did you mean "cache.maxEntries"?'],
    [{ ...base, jwks: { cooldown: 1 } }, '"jwks.cooldown": did you mean "jwks.cooldownSeconds"?'],
    [{ ...base, scopes: { wildcard: true } }, '"scopes.wildcard": did you mean "scopes.wildcards"?'],
    [{ ...base, tokenLocations: { header: true } }, '"tokenLocations.header"; the options here are body, query'],
    [{ ...base, dpop: { nonce: { secret: 'x'.repeat(32), rotate: 60 } } }, '"dpop.nonce.rotate": did you mean "dpop.nonce.rotateSeconds"?'],
    [{ ...base, metadata: { resourcename: 'Orders' } }, '"metadata.resourcename": did you mean "metadata.resourceName"?'],
    [{ ...base, mtls: { trustedProxy: ['10.0.0.1'] } }, '"mtls.trustedProxy": did you mean "mtls.trustedProxies"?'],
    [{ ...base, issuer: { issuer: ISSUER, jwksuri: `${ISSUER}/jwks` } }, '"issuer.jwksuri": did you mean "issuer.jwksUri"?'],
    [
      { ...base, issuer: [ISSUER.replace('as.', 'as2.'), { issuer: ISSUER, algorithm: ['RS256'] }] },
      '"issuer.algorithm": did you mean "issuer.algorithms"?',
    ],
    [
      { ...base, issuer: { issuer: ISSUER, profile: { preset: 'auth0', clientIdClaim: ['azp'] } } },
      '"issuer.profile.clientIdClaim": did you mean "issuer.profile.clientIdClaims"?',
    ],
    [
      { ...base, issuer: { issuer: ISSUER, introspection: { clientId: 'rs', clientSecret: 's', cacheTtl: 5 } } },
      '"issuer.introspection.cacheTtl": did you mean "issuer.introspection.cacheTtlSeconds"?',
    ],
    [
      {
        ...base,
        issuer: { issuer: ISSUER, introspection: { clientId: 'rs', clientAuthMethod: 'tls_client_auth', tls: { cert: 'c', keys: 'k' } } },
      },
      '"issuer.introspection.tls.keys": did you mean "issuer.introspection.tls.key"?',
    ],
    [{ ...base, somethingElse: 1 }, '"somethingElse"; the options here are issuer, resolveIssuer,'],
    [{ ...base, toString: () => 'x' }, '"toString"; the options here are'],
    [{ ...base, scopes: { constructor: 1 } }, '"scopes.constructor"; the options here are'],
  ])('%j is refused: %s', (options, expected) => {
    expect(messageOf(options)).toContain(`unknown option ${expected}`);
  });

  it.each([
    ['issuerBaseURL', 'issuer'],
    ['audience', 'resource'],
    ['clockTolerance', 'clockToleranceSeconds'],
    ['tokenSigningAlg', 'issuer: { issuer, algorithms }'],
    ['timeoutDuration', 'http.timeoutMs'],
    ['cacheMaxAge', 'jwks.maxAgeSeconds'],
    ['dpop.required', "dpop: { mode: 'required' }"],
    ['cache.jwks', 'jwks: { maxAgeSeconds, cooldownSeconds }'],
  ])("express-oauth2-jwt-bearer's %s names ours (%s) and the migration section", (path, ours) => {
    const [outer, inner] = path.split('.') as [string, string | undefined];
    const message = messageOf({ ...base, [outer]: inner ? { [inner]: true } : 1 });
    expect(message).toContain(`here it is ${ours}`);
    expect(message).toContain('Migrating from express-oauth2-jwt-bearer');
  });

  it('a resolveIssuer answer with an unknown name is refused (the token is not trusted) and the log names the option', async () => {
    const errors: string[] = [];
    const logger = { warn: () => undefined, error: (m: string, d?: Record<string, unknown>) => errors.push(`${m} ${JSON.stringify(d)}`) };
    const rs = new ResourceServer({
      ...base,
      logger,
      issuer: undefined,
      resolveIssuer: () => ({ issuer: ISSUER, jwksUri: `${ISSUER}/jwks`, algorithm: ['RS256'] }) as never,
    });
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'k' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ iss: ISSUER, aud: base.resource, exp: Math.floor(Date.now() / 1000) + 60 })).toString(
      'base64url',
    );
    const result = rs.authenticate({ headers: { authorization: `Bearer ${header}.${payload}.c2ln` }, method: 'GET', url: '/' });
    await expect(Promise.resolve(result)).rejects.toMatchObject({ status: 401, code: 'ERR_TOKEN_ISSUER' });
    expect(errors.join('\n')).toMatch(/unknown option \\"issuer.algorithm\\": did you mean \\"issuer.algorithms\\"\?/);
  });

  it('every documented name at every level is accepted, and objects of the user (keys, stores, loggers) are not looked into', () => {
    class Store {
      extra = 1;
      async get() {
        return undefined;
      }
      async set() {
        return undefined;
      }
    }
    expect(
      build({
        ...base,
        issuer: [
          {
            issuer: ISSUER,
            jwksUri: `${ISSUER}/jwks`,
            algorithms: ['RS256'],
            requireAccessTokenType: true,
            profile: { preset: 'auth0', clientIdClaims: ['azp'] },
            validation: 'jwt',
          },
        ],
        resource: 'https://api.example.com',
        audienceMatching: 'exact',
        realm: 'api',
        clockToleranceSeconds: 5,
        tokenLocations: { body: false, query: false },
        maxTokenLength: 8192,
        scopes: {
          convention: 'verb:resource',
          methodVerbs: { GET: 'read', MYVERB: 'x' },
          implications: { 'write:x': ['read:x'] },
          wildcards: false,
          includeInChallenge: true,
        },
        authRequired: true,
        errorResponse: 'json',
        cache: { maxEntries: 10, maxBytes: 1000, maxTtlSeconds: 10, store: new Store() },
        jwks: { cooldownSeconds: 30, maxAgeSeconds: 600 },
        http: { timeoutMs: 1000, maxResponseBytes: 1000, retryIntervalMs: 1000 },
        logger: { warn: () => undefined, error: () => undefined, debug: () => undefined, custom: true },
        metadata: { resourceName: 'Orders', challenge: true, maxAgeSeconds: 60 },
        dpop: { mode: 'allowed', maxProofAgeSeconds: 60 },
        mtls: { certificateHeader: 'x-client-cert', trustedProxies: ['127.0.0.1'] },
        authorizationDetails: { types: { payment: ['amount'] } },
      }),
    ).not.toThrow();
  });
});
