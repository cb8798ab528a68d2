/**
 * One error family: every error the kit throws is a `KitError` with a stable code from `KitErrorCode`, a
 * `name` that is its class and the standard `cause`; request-time errors keep their answers, and the errors
 * that are not answers (a failed AS call, the protection API, a store) stay apart from `ResourceServerError`,
 * so a failed AS call during a request is still answered 503 without its URL.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import * as kit from '../../src/index.js';
import {
  AuthorizationServerCallError,
  AuthorizationServerUnavailableError,
  ConfigurationError,
  KitError,
  LockTimeoutError,
  NotAuthenticatedError,
  ProtectionApiError,
  ResourceServer,
  ResourceServerError,
  StoreError,
  oauthResourceServer,
  requireDpop,
  requireScopes,
  type KitErrorCode,
  type Logger,
} from '../../src/index.js';
import { InvalidAnswerError } from '../../src/http/as-failure.js';
import { HttpClientError } from '../../src/http/client.js';
import { startFakeAuthorizationServer, type FakeAuthorizationServer } from '../helpers/fake-authorization-server.js';
import { introspectingApp } from '../helpers/introspecting-app.js';
import { makeKey, signWith, startJwksServer, type JwksServer } from '../helpers/jwks-server.js';

/** Every code of the union, once: the compiler refuses a missing or an unknown key. */
const CODES: Record<KitErrorCode, true> = {
  ERR_CREDENTIALS_MISSING: true,
  ERR_REQUEST_MALFORMED: true,
  ERR_TOKEN_MULTIPLE: true,
  ERR_TOKEN_TOO_LARGE: true,
  ERR_TOKEN_MALFORMED: true,
  ERR_TOKEN_ENCRYPTED: true,
  ERR_TOKEN_TYPE: true,
  ERR_TOKEN_ALGORITHM: true,
  ERR_TOKEN_HEADER: true,
  ERR_TOKEN_KEY_NOT_FOUND: true,
  ERR_TOKEN_SIGNATURE: true,
  ERR_TOKEN_ISSUER: true,
  ERR_TOKEN_AUDIENCE: true,
  ERR_TOKEN_EXPIRED: true,
  ERR_TOKEN_NOT_YET_VALID: true,
  ERR_TOKEN_CLAIM: true,
  ERR_TOKEN_INACTIVE: true,
  ERR_INSUFFICIENT_SCOPE: true,
  ERR_INSUFFICIENT_USER_AUTHENTICATION: true,
  ERR_DPOP_PROOF: true,
  ERR_DPOP_NONCE: true,
  ERR_TOKEN_BINDING: true,
  ERR_AUTHORIZATION_SERVER_UNAVAILABLE: true,
  ERR_DPOP_REPLAY_FULL: true,
  ERR_CONFIGURATION: true,
  ERR_NOT_AUTHENTICATED: true,
  ERR_AUTHORIZATION_SERVER_CALL: true,
  ERR_PROTECTION_API: true,
  ERR_STORE_FULL: true,
  ERR_STORE_EVICTING: true,
  ERR_STORE_UNREADABLE: true,
  ERR_STORE_TIMEOUT: true,
  ERR_LOCK_TIMEOUT: true,
  ERR_AUTHORIZATION_SERVER_ANSWER: true,
  ERR_HTTP_CLIENT: true,
};

const cause = new Error('the wrapped failure');

/**
 * One instance of each error class, built as a caller would; `true` when it was given `cause`. A class
 * exported without an entry here fails the test below.
 */
const MAKE: Record<string, () => [KitError, boolean]> = {
  ResourceServerError: () => [
    new ResourceServerError({ code: 'ERR_TOKEN_CLAIM', status: 401, oauthError: 'invalid_token', message: 'm', cause }),
    true,
  ],
  MissingCredentialsError: () => [new kit.MissingCredentialsError(), false],
  InvalidRequestError: () => [new kit.InvalidRequestError('ERR_REQUEST_MALFORMED', 'm'), false],
  InvalidTokenError: () => [new kit.InvalidTokenError('ERR_TOKEN_EXPIRED', 'm'), false],
  InsufficientScopeError: () => [new kit.InsufficientScopeError(['read']), false],
  InsufficientUserAuthenticationError: () => [
    new kit.InsufficientUserAuthenticationError('m', { acrValues: ['mfa'], maxAgeSeconds: 60 }),
    false,
  ],
  TokenBindingError: () => [new kit.TokenBindingError('m'), false],
  InvalidDpopProofError: () => [new kit.InvalidDpopProofError('m'), false],
  UseDpopNonceError: () => [new kit.UseDpopNonceError('nonce'), false],
  ServiceUnavailableError: () => [new kit.ServiceUnavailableError('ERR_DPOP_REPLAY_FULL', 'm', 1), false],
  AuthorizationServerUnavailableError: () => [new AuthorizationServerUnavailableError(), false],
  DpopReplaySetFullError: () => [new kit.DpopReplaySetFullError(1), false],
  ConfigurationError: () => [new ConfigurationError('m', { cause }), true],
  NotAuthenticatedError: () => [new NotAuthenticatedError('m'), false],
  AuthorizationServerCallError: () => [
    new AuthorizationServerCallError({
      issuer: 'https://as.example',
      step: 'jwks',
      url: 'https://as.example/jwks',
      failure: { kind: 'timeout', timeoutMs: 5 },
      cause,
    }),
    true,
  ],
  ProtectionApiError: () => [
    new ProtectionApiError({ operation: 'create', status: 500, error: 'server_error', message: 'm', cause }),
    true,
  ],
  StoreError: () => [new StoreError({ code: 'ERR_STORE_FULL', message: 'm', cause }), true],
  LockTimeoutError: () => [new LockTimeoutError({ lockName: 'l', waitedMs: 10 }), false],
  // Internal: never reach an app as they are, still of the family.
  InvalidAnswerError: () => [new InvalidAnswerError('m'), false],
  HttpClientError: () => [new HttpClientError({ reason: 'network', message: 'ECONNREFUSED', systemCode: 'ECONNREFUSED' }), false],
};

/** The classes the package exports that are errors. */
const exportedErrorClasses = Object.entries(kit).filter(
  ([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error,
) as Array<[string, abstract new (...args: never[]) => Error]>;

/** The switch of the README: exhaustive over the union (a code added without a case fails to compile). */
function advice(err: KitError): string {
  switch (err.code) {
    case 'ERR_CONFIGURATION':
    case 'ERR_NOT_AUTHENTICATED':
      return 'fix the configuration';
    case 'ERR_AUTHORIZATION_SERVER_CALL':
    case 'ERR_AUTHORIZATION_SERVER_UNAVAILABLE':
    case 'ERR_PROTECTION_API':
      return 'retry later';
    case 'ERR_STORE_FULL':
    case 'ERR_STORE_EVICTING':
    case 'ERR_STORE_UNREADABLE':
    case 'ERR_STORE_TIMEOUT':
    case 'ERR_LOCK_TIMEOUT':
      return 'check the store';
    case 'ERR_CREDENTIALS_MISSING':
    case 'ERR_REQUEST_MALFORMED':
    case 'ERR_TOKEN_MULTIPLE':
    case 'ERR_TOKEN_TOO_LARGE':
    case 'ERR_TOKEN_MALFORMED':
    case 'ERR_TOKEN_ENCRYPTED':
    case 'ERR_TOKEN_TYPE':
    case 'ERR_TOKEN_ALGORITHM':
    case 'ERR_TOKEN_HEADER':
    case 'ERR_TOKEN_KEY_NOT_FOUND':
    case 'ERR_TOKEN_SIGNATURE':
    case 'ERR_TOKEN_ISSUER':
    case 'ERR_TOKEN_AUDIENCE':
    case 'ERR_TOKEN_EXPIRED':
    case 'ERR_TOKEN_NOT_YET_VALID':
    case 'ERR_TOKEN_CLAIM':
    case 'ERR_TOKEN_INACTIVE':
    case 'ERR_INSUFFICIENT_SCOPE':
    case 'ERR_INSUFFICIENT_USER_AUTHENTICATION':
    case 'ERR_DPOP_PROOF':
    case 'ERR_DPOP_NONCE':
    case 'ERR_TOKEN_BINDING':
    case 'ERR_DPOP_REPLAY_FULL':
    case 'ERR_AUTHORIZATION_SERVER_ANSWER':
    case 'ERR_HTTP_CLIENT':
      return 'the client or the AS';
    default: {
      const unhandled: never = err.code;
      return unhandled;
    }
  }
}

describe('the error family', () => {
  it('every exported error class (and every internal one) has a factory here', () => {
    expect(exportedErrorClasses.length).toBeGreaterThan(15);
    const named = new Set(Object.keys(MAKE));
    for (const [name] of exportedErrorClasses)
      if (name !== 'KitError') expect({ name, tested: named.has(name) }).toEqual({ name, tested: true });
  });

  it.each(Object.entries(MAKE))('%s is a KitError with a code of the union, its own name and the cause it was given', (name, make) => {
    const [err, withCause] = make();
    expect(err).toBeInstanceOf(KitError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(name);
    expect(CODES[err.code]).toBe(true);
    expect(typeof advice(err)).toBe('string');
    if (withCause) expect(err.cause).toBe(cause);
    else expect('cause' in err).toBe(false);
  });

  it('each exported error class is an instance of the root (KitError)', () => {
    for (const [name, cls] of exportedErrorClasses)
      expect({ name, root: cls === KitError || cls.prototype instanceof KitError }).toEqual({ name, root: true });
  });

  it('errors that are not answers stay apart from ResourceServerError (so a request turns them into a 503 or a fixed 500)', () => {
    for (const name of [
      'AuthorizationServerCallError',
      'ProtectionApiError',
      'StoreError',
      'LockTimeoutError',
      'InvalidAnswerError',
      'HttpClientError',
    ]) {
      expect({ name, request: MAKE[name]!()[0] instanceof ResourceServerError }).toEqual({ name, request: false });
    }
  });

  it('request errors keep their status, OAuth code and exposure', () => {
    const cases: Array<[string, number, string | undefined]> = [
      ['MissingCredentialsError', 401, undefined],
      ['InvalidRequestError', 400, 'invalid_request'],
      ['InvalidTokenError', 401, 'invalid_token'],
      ['InsufficientScopeError', 403, 'insufficient_scope'],
      ['InsufficientUserAuthenticationError', 401, 'insufficient_user_authentication'],
      ['TokenBindingError', 401, 'invalid_token'],
      ['InvalidDpopProofError', 401, 'invalid_dpop_proof'],
      ['UseDpopNonceError', 401, 'use_dpop_nonce'],
      ['AuthorizationServerUnavailableError', 503, undefined],
      ['DpopReplaySetFullError', 503, undefined],
      ['ConfigurationError', 500, undefined],
      ['NotAuthenticatedError', 500, undefined],
    ];
    for (const [name, status, oauthError] of cases) {
      const err = MAKE[name]!()[0] as ResourceServerError;
      expect({ name, status: err.status, statusCode: err.statusCode, oauthError: err.oauthError, expose: err.expose }).toEqual({
        name,
        status,
        statusCode: status,
        oauthError,
        expose: status < 500,
      });
    }
  });

  it('InsufficientUserAuthenticationError takes its challenge as { acrValues, maxAgeSeconds } (RFC 9470 §3); the former positional form is a TypeError', () => {
    const rs = new ResourceServer({ issuer: 'https://as.example', resource: 'https://api.example.com', logger: false });
    const err = new kit.InsufficientUserAuthenticationError('m', { acrValues: ['mfa', 'hwk'], maxAgeSeconds: 60 });
    expect({ acrValues: err.acrValues, maxAge: err.maxAge }).toEqual({ acrValues: ['mfa', 'hwk'], maxAge: 60 });
    const [challenge] = kit.parseChallenges(rs.answer(err).headers['www-authenticate']!);
    expect(Object.fromEntries(challenge!.params)).toMatchObject({
      error: 'insufficient_user_authentication',
      acr_values: 'mfa hwk',
      max_age: '60',
    });
    const positional = kit.InsufficientUserAuthenticationError as unknown as new (
      message: string,
      acrValues: string[],
      maxAge: number,
    ) => Error;
    expect(() => new positional('m', ['mfa'], 60)).toThrow(TypeError);
  });

  it('ResourceServerError takes { code, status, oauthError, message }; the former positional form is a TypeError naming it', () => {
    const err = new ResourceServerError({ code: 'ERR_TOKEN_CLAIM', status: 401, oauthError: 'invalid_token', message: 'm' });
    expect(err).toMatchObject({ code: 'ERR_TOKEN_CLAIM', status: 401, oauthError: 'invalid_token', message: 'm' });
    const positional = ResourceServerError as unknown as new (code: string, status: number, oauthError: string, message: string) => Error;
    expect(() => new positional('ERR_TOKEN_CLAIM', 401, 'invalid_token', 'm')).toThrow(TypeError);
    expect(() => new positional('ERR_TOKEN_CLAIM', 401, 'invalid_token', 'm')).toThrow(
      /ResourceServerError\(\{ code, status, oauthError, message \}\)/,
    );
  });

  it('answer(error, { format, mountPath, scheme }): the former positional form is a TypeError naming it; no context still answers', () => {
    const rs = new ResourceServer({ issuer: 'https://as.example', resource: 'https://api.example.com', logger: false });
    const err = new kit.InvalidTokenError('ERR_TOKEN_EXPIRED', 'the token has expired');
    const positional = rs.answer.bind(rs) as unknown as (error: unknown, format: string, mountPath: string, scheme: string) => unknown;
    expect(() => positional(err, 'problem', '', 'dpop')).toThrow(TypeError);
    expect(() => positional(err, 'problem', '', 'dpop')).toThrow(/answer\(error, \{ format, mountPath, scheme \}\)/);
    expect(rs.answer(err).status).toBe(401);
    expect(rs.answer(err, {}).headers['content-type']).toMatch(/^application\/json/);
    expect(rs.answer(err, { format: 'problem' }).headers['content-type']).toBe('application/problem+json');
  });

  it('NotAuthenticatedError is a ConfigurationError with its own code', () => {
    const err = new NotAuthenticatedError('requireScopes() ran without app.use(oauthResourceServer(...)) before it');
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.code).toBe('ERR_NOT_AUTHENTICATED');
    expect(new ConfigurationError('m').code).toBe('ERR_CONFIGURATION');
  });

  it('an AuthorizationServerCallError keeps only the safe URL, and a ProtectionApiError keeps its call as cause', () => {
    const call = new AuthorizationServerCallError({
      issuer: 'https://as.example',
      step: 'uma',
      url: 'https://user:pw@as.example/rs?secret=1#f',
      failure: { kind: 'server', status: 502 },
    });
    expect(call.url).toBe('https://as.example/rs');
    expect(call.message).toBe('the UMA protection API call at https://as.example/rs for issuer https://as.example failed: HTTP 502');
    expect(call.message).not.toMatch(/user|pw|secret/);
    const err = new ProtectionApiError({ operation: 'create', status: 502, message: call.message, cause: call });
    expect(err).toMatchObject({ code: 'ERR_PROTECTION_API', operation: 'create', status: 502, error: undefined, cause: call });
  });
});

describe('a failed AS call during a request is still a 503 without its URL', () => {
  let fake: FakeAuthorizationServer | undefined;
  let jwks: JwksServer | undefined;
  afterEach(async () => {
    await fake?.close();
    await jwks?.close();
    fake = undefined;
    jwks = undefined;
  });

  const recording = () => {
    const lines: string[] = [];
    const logger: Logger = { warn: (m) => void lines.push(m), error: (m) => void lines.push(m) };
    return { lines, logger };
  };

  it.each(['json', 'problem'] as const)(
    'introspection failing (errorResponse %s): 503 temporarily_unavailable, the URL only in the log',
    async (errorResponse) => {
      fake = await startFakeAuthorizationServer();
      fake.answer = { status: 500, text: 'oops', contentType: 'text/plain' };
      const { lines, logger } = recording();
      const res = await request(introspectingApp(fake, 'https://api.example.com', {}, { errorResponse, logger, http: { timeoutMs: 1000 } }))
        .get('/r')
        .set('Authorization', 'Bearer opaque-token-1');
      expect(res.status).toBe(503);
      const body = JSON.parse(res.text) as Record<string, unknown>;
      expect(body.error).toBe('temporarily_unavailable');
      const host = new URL(fake.introspectionEndpoint).host;
      // The failed call named the endpoint in the log; nothing of it reaches the client.
      expect(lines.join('\n')).toContain(fake.introspectionEndpoint);
      expect(JSON.stringify(res.headers) + res.text).not.toContain(host);
    },
  );

  it("introspection failing (errorResponse 'next'): the app's handler gets an AuthorizationServerUnavailableError, not the call error", async () => {
    fake = await startFakeAuthorizationServer();
    fake.answer = { status: 500, text: 'oops', contentType: 'text/plain' };
    const seen: unknown[] = [];
    const app = introspectingApp(fake, 'https://api.example.com', {}, { errorResponse: 'next', http: { timeoutMs: 1000 } });
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(err);
      res.status((err as ResourceServerError).status).json({ message: (err as Error).message });
    });
    const res = await request(app).get('/r').set('Authorization', 'Bearer opaque-token-2');
    expect(res.status).toBe(503);
    expect(seen).toHaveLength(1);
    const err = seen[0] as AuthorizationServerUnavailableError;
    expect(err).toBeInstanceOf(AuthorizationServerUnavailableError);
    expect(err.code).toBe('ERR_AUTHORIZATION_SERVER_UNAVAILABLE');
    expect(err.cause).toBeUndefined();
    expect(err.message).not.toContain(new URL(fake.introspectionEndpoint).host);
  });

  it('the JWKS failing before any key was known: 503 AuthorizationServerUnavailableError, the URL only in the log', async () => {
    const key = await makeKey();
    jwks = await startJwksServer([key]);
    jwks.mode = 'down';
    const { lines, logger } = recording();
    const rs = new ResourceServer({ issuer: { issuer: jwks.issuer, jwksUri: jwks.url }, resource: 'https://api.example.com', logger });
    const token = await signWith(key, jwks.issuer, 'https://api.example.com');
    const err = await Promise.resolve()
      .then(() => rs.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthorizationServerUnavailableError);
    expect(err).not.toBeInstanceOf(AuthorizationServerCallError);
    const answer = rs.answer(err);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body!)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(lines.join('\n')).toContain(jwks.url);
    expect(JSON.stringify(answer)).not.toContain(new URL(jwks.url).host);
  });

  it.each(['json', 'problem'] as const)(
    'a failed AS call reaching an answer as it is (%s) is a 503 with Retry-After, like an unavailable AS, naming nothing of the call',
    (format) => {
      const rs = new ResourceServer({ issuer: 'https://as.example', resource: 'https://api.example.com', logger: false });
      const url = 'https://as-internal.example:8443/realms/r/protocol/openid-connect/token';
      const call = new AuthorizationServerCallError({
        issuer: 'https://as.example',
        step: 'token',
        url,
        failure: { kind: 'server', status: 502 },
      });
      const expected = rs.answer(new AuthorizationServerUnavailableError(), { format });
      for (const error of [
        call,
        new ProtectionApiError({ operation: 'permission', status: 502, message: call.message, cause: call }),
        new InvalidAnswerError(`the answer of ${url} is not JSON`),
        new HttpClientError({ reason: 'network', message: `connect ECONNREFUSED ${url}`, systemCode: 'ECONNREFUSED' }),
      ]) {
        const answer = rs.answer(error, { format });
        expect({ name: error.name, answer }).toEqual({ name: error.name, answer: expected });
        expect(answer).toMatchObject({ status: 503, headers: { 'retry-after': expect.stringMatching(/^[1-9]\d*$/) } });
        expect(JSON.parse(answer.body!)).toMatchObject(format === 'json' ? { error: 'temporarily_unavailable' } : { status: 503 });
        expect(JSON.stringify(answer)).not.toMatch(/as-internal|8443|realms|openid-connect/);
      }
    },
  );

  it("an error that is not the kit's is still a fixed 500 that names nothing", () => {
    const rs = new ResourceServer({ issuer: 'https://as.example', resource: 'https://api.example.com', logger: false });
    const answer = rs.answer(new Error('connect ECONNREFUSED https://as-internal.example/token'));
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body!)).toMatchObject({ error: 'server_error' });
    expect(JSON.stringify(answer)).not.toContain('as-internal');
  });
});

describe('the wiring error', () => {
  it("requireDpop on a server without DPoP passes a NotAuthenticatedError (errorResponse 'next'), answered 500 otherwise", async () => {
    const seen: unknown[] = [];
    const next = express();
    next.use(
      oauthResourceServer({
        issuer: 'https://as.example',
        resource: 'https://api.example.com',
        authRequired: false,
        errorResponse: 'next',
        logger: false,
      }),
    );
    next.get('/x', requireDpop(), (_req, res) => void res.end('ok'));
    next.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(err);
      res.status(500).end();
    });
    await request(next).get('/x');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(NotAuthenticatedError);
    expect(seen[0]).toBeInstanceOf(ConfigurationError);
    expect((seen[0] as NotAuthenticatedError).code).toBe('ERR_NOT_AUTHENTICATED');

    const json = express();
    json.use(
      oauthResourceServer({ issuer: 'https://as.example', resource: 'https://api.example.com', authRequired: false, logger: false }),
    );
    json.get('/x', requireDpop(), (_req, res) => void res.end('ok'));
    const res = await request(json).get('/x');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error', error_description: 'the server could not process the request' });
  });

  it('requireScopes with no middleware at all still answers 500 JSON itself, with one process warning', async () => {
    const emitted = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const app = express();
      app.get('/x', requireScopes('read'), (_req, res) => void res.end('ok'));
      const res = await request(app).get('/x');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: 'server_error', error_description: 'the server could not process the request' });
      expect(emitted.mock.calls.filter((c) => (c[1] as { code?: string } | undefined)?.code === 'OAUTH_RS_NOT_AUTHENTICATED')).toHaveLength(
        1,
      );
    } finally {
      emitted.mockRestore();
    }
  });
});
