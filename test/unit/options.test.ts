/** Start-up validation: configuration mistakes throw ConfigurationError when the server is created. */
import { describe, expect, it } from '@jest/globals';
import { DEFAULTS, type ResourceServerOptions } from '../../src/config/options.js';
import { resolveOptions, validateIssuerUrl, validateResourceIdentifier, isSecureOrLoopback } from '../../src/config/resolve-options.js';
import { ConfigurationError, ResourceServerError } from '../../src/answers/errors.js';
import { ResourceServer } from '../../src/resource-server.js';
import { oauthResourceServer } from '../../src/express/middleware.js';

const AS = 'https://as.example.com';
const API = 'https://api.example.com';

function expectConfigError(options: unknown, message: RegExp): void {
  let caught: unknown;
  try {
    resolveOptions(options as ResourceServerOptions);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigurationError);
  expect(caught).toBeInstanceOf(ResourceServerError);
  expect((caught as ConfigurationError).code).toBe('ERR_CONFIGURATION');
  expect((caught as Error).message).toMatch(message);
  // The same mistake also stops the core and the Express middleware from being created.
  expect(() => new ResourceServer(options as ResourceServerOptions)).toThrow(ConfigurationError);
  expect(() => oauthResourceServer(options as ResourceServerOptions)).toThrow(ConfigurationError);
}

describe('start-up validation', () => {
  it('requires an issuer', () => {
    expectConfigError({ resource: API }, /issuer is required/);
    expectConfigError({ issuer: [], resource: API }, /issuer is required/);
  });

  it('requires a resource identifier (or publicBaseUrl)', () => {
    expectConfigError({ issuer: AS }, /resource identifier is required/);
    expectConfigError({ issuer: AS, resource: [] }, /resource identifier is required/);
  });

  it.each(['http://as.example.com', 'http://10.0.0.1', 'http://192.168.1.10:8080'])(
    'refuses an http issuer that is not loopback: %s',
    (issuer) => {
      expectConfigError({ issuer, resource: API }, /must use https/);
      expectConfigError({ issuer: { issuer }, resource: API }, /must use https/);
    },
  );

  it('refuses an http jwksUri that is not loopback', () => {
    expectConfigError({ issuer: { issuer: AS, jwksUri: 'http://as.example.com/jwks' }, resource: API }, /must use https/);
  });

  it.each([`${AS}?tenant=1`, `${AS}/?`, `${AS}#frag`, `${AS}/path#`])('refuses an issuer with a query or fragment: %s', (issuer) => {
    expectConfigError({ issuer, resource: API }, /no query or fragment/);
  });

  it.each(['', 'as.example.com', '/relative'])('refuses an issuer that is not an absolute URL: %p', (issuer) => {
    expectConfigError({ issuer, resource: API }, /non-empty string|absolute URL/);
  });

  it.each(['HS256', 'HS384', 'HS512'] as const)('refuses %s without a secret', (alg) => {
    expectConfigError({ issuer: { issuer: AS, algorithms: [alg] }, resource: API }, /needs an explicitly configured secret/);
  });

  it('refuses an HMAC secret shorter than 32 bytes', () => {
    expectConfigError({ issuer: { issuer: AS, secret: 'short' }, resource: API }, /at least 32 bytes/);
    expectConfigError({ issuer: { issuer: AS, secret: 'x'.repeat(31), algorithms: ['HS256'] }, resource: API }, /at least 32 bytes/);
    expectConfigError({ issuer: { issuer: AS, secret: new Uint8Array(16) }, resource: API }, /at least 32 bytes/);
  });

  it('refuses an unknown scope convention', () => {
    expectConfigError({ issuer: AS, resource: API, scopes: { convention: 'resource.verb' } }, /unknown scope convention/);
  });

  it.each([['none'], ['HS1'], ['RS1']])('refuses the algorithm %s', (alg) => {
    expectConfigError({ issuer: { issuer: AS, algorithms: [alg] }, resource: API }, /not supported/);
  });

  it('refuses an empty algorithm list', () => {
    expectConfigError({ issuer: { issuer: AS, algorithms: [] }, resource: API }, /non-empty array/);
  });

  it('refuses the same issuer twice', () => {
    expectConfigError({ issuer: [AS, { issuer: AS }], resource: API }, /listed twice/);
  });

  it.each([
    ['relative', '/orders'],
    ['fragment', `${API}#x`],
    ['empty', ''],
  ])('refuses a %s resource identifier', (_what, resource) => {
    expectConfigError({ issuer: AS, resource }, /resource identifier/);
  });

  it('refuses a publicBaseUrl with a query', () => {
    expectConfigError({ issuer: AS, publicBaseUrl: `${API}?x=1` }, /publicBaseUrl/);
  });

  it('refuses metadata lists that are not arrays of strings at start-up (not a 500 per metadata request)', () => {
    expectConfigError(
      { issuer: AS, resource: API, metadata: { resourceSigningAlgValuesSupported: 'RS256' } },
      /resourceSigningAlgValuesSupported/,
    );
    expectConfigError({ issuer: AS, resource: API, metadata: { scopesSupported: [1] } }, /scopesSupported/);
  });

  it('refuses unknown errorResponse and audienceMatching values', () => {
    expectConfigError({ issuer: AS, resource: API, errorResponse: 'html' }, /errorResponse/);
    expectConfigError({ issuer: AS, resource: API, audienceMatching: 'prefix' }, /audienceMatching/);
  });

  it('refuses negative or non-numeric limits', () => {
    expectConfigError({ issuer: AS, resource: API, clockToleranceSeconds: -1 }, /clockToleranceSeconds/);
    expectConfigError({ issuer: AS, resource: API, jwks: { cooldownSeconds: -5 } }, /cooldownSeconds/);
    expectConfigError({ issuer: AS, resource: API, maxTokenLength: 0 }, /maxTokenLength/);
    expectConfigError({ issuer: AS, resource: API, http: { timeoutMs: Number.NaN } }, /timeoutMs/);
    // A zero retry interval would let every request ask a failing AS again.
    expectConfigError({ issuer: AS, resource: API, http: { retryIntervalMs: 0 } }, /retryIntervalMs/);
  });

  it('refuses a logger without warn and error methods (it would log nothing, silently)', () => {
    expectConfigError({ issuer: AS, resource: API, logger: {} as never }, /logger must be false or a logger/);
    expectConfigError({ issuer: AS, resource: API, logger: { warn: () => undefined } as never }, /logger/);
    expectConfigError({ issuer: AS, resource: API, logger: 'console' as never }, /logger/);
    // A logger whose methods cannot even be looked at is no logger either: a ConfigurationError, not its own error.
    const throwing = Object.defineProperty({ error: () => undefined }, 'warn', {
      get() {
        throw new Error('boom');
      },
    });
    expectConfigError({ issuer: AS, resource: API, logger: throwing as never }, /logger/);
    // A callable logger with the two methods (as some logging libraries make them) is one.
    const callable = Object.assign(() => undefined, { warn: () => undefined, error: () => undefined });
    expect(() => resolveOptions({ issuer: AS, resource: API, logger: callable })).not.toThrow();
    expect(() => resolveOptions({ issuer: AS, resource: API, logger: console })).not.toThrow();
  });
});

describe('accepted configurations and defaults', () => {
  it.each(['http://127.0.0.1:8080', 'http://localhost:3000', 'http://[::1]:9000', 'http://127.1.2.3', AS, `${AS}/tenant`, `${AS}/`])(
    'accepts the issuer %s',
    (issuer) => {
      expect(resolveOptions({ issuer, resource: API }).issuers[0]!.issuer).toBe(issuer);
    },
  );

  it('keeps the issuer exactly as written (no trailing-slash normalisation)', () => {
    expect(validateIssuerUrl(`${AS}/`)).toBe(`${AS}/`);
    expect(validateIssuerUrl(AS)).toBe(AS);
  });

  it('isSecureOrLoopback', () => {
    expect(isSecureOrLoopback(new URL('https://x.example'))).toBe(true);
    expect(isSecureOrLoopback(new URL('http://127.0.0.1'))).toBe(true);
    expect(isSecureOrLoopback(new URL('http://localhost.example.com'))).toBe(false);
    expect(isSecureOrLoopback(new URL('ftp://127.0.0.1'))).toBe(false);
  });

  it('validateResourceIdentifier accepts absolute URIs, including URNs', () => {
    expect(validateResourceIdentifier('urn:example:api')).toBe('urn:example:api');
    expect(validateResourceIdentifier(`${API}/orders`)).toBe(`${API}/orders`);
  });

  it('applies the documented defaults', () => {
    const o = resolveOptions({ issuer: AS, resource: API });
    expect(o.tokenLocations).toEqual({ body: false, query: false }); // CONFORMANCE 10
    expect(o.clockToleranceSeconds).toBe(5);
    expect(o.requiredClaims).toEqual(['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti']); // CONFORMANCE 22
    expect(o.scopeConvention).toBe('verb:resource');
    expect(o.includeScopeInChallenge).toBe(true);
    expect(o.authRequired).toBe(true);
    expect(o.errorResponse).toBe('json');
    expect(o.jwks.cooldownMs).toBe(DEFAULTS.jwksCooldownSeconds * 1000);
    expect(o.issuers[0]!.requireAccessTokenType).toBe(true); // CONFORMANCE 16
    expect(o.issuers[0]!.algorithms.has('RS256')).toBe(true); // CONFORMANCE 17
    expect([...o.issuers[0]!.algorithms].some((a) => a.startsWith('HS'))).toBe(false);
    expect([...o.issuers[0]!.algorithms]).not.toContain('none');
  });

  it('a secret adds HMAC to the default algorithms; an explicit list is kept as given', () => {
    const secret = 'k'.repeat(32);
    const withDefault = resolveOptions({ issuer: { issuer: AS, secret }, resource: API }).issuers[0]!.algorithms;
    expect(withDefault.has('HS256')).toBe(true);
    expect(withDefault.has('RS256')).toBe(true);
    const explicit = resolveOptions({ issuer: { issuer: AS, secret, algorithms: ['HS256'] }, resource: API }).issuers[0]!.algorithms;
    expect([...explicit]).toEqual(['HS256']);
  });

  it('derives the resource identifier from publicBaseUrl without a trailing slash', () => {
    expect(resolveOptions({ issuer: AS, publicBaseUrl: `${API}/` }).publicBaseUrl).toBe(API);
  });

  it('accepts every named convention and a function', () => {
    for (const convention of ['verb:resource', 'resource:verb', 'uri:action', 'verb'] as const) {
      expect(resolveOptions({ issuer: AS, resource: API, scopes: { convention } }).scopeConvention).toBe(convention);
    }
    const fn = (v: string, r: string) => `${r}/${v}`;
    expect(resolveOptions({ issuer: AS, resource: API, scopes: { convention: fn } }).scopeConvention).toBe(fn);
  });

  it('accepts resolveIssuer instead of a static issuer', () => {
    expect(resolveOptions({ resolveIssuer: () => undefined, resource: API }).issuers).toEqual([]);
  });
});
