/**
 * Failures of the authorization server, as the operator reads them: each answer is classified by status first
 * (an empty 401 and a 401 challenge are both a refusal of our credentials), logged once when a step starts
 * failing and once when it recovers (with the number of failures not logged), never per request, and every
 * line names the issuer, the step, the URL and the cause, and never a token or secret.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { registerResourceServer, MemoryStore, ResourceServer, UmaRegistrar, type Logger } from '../../src/index.js';
import { startDevAuthorizationServer } from '../../src/testing/index.js';
import { statusOf } from '../helpers/status-of.js';
import { startFakeAuthorizationServer } from '../helpers/fake-authorization-server.js';
import { startMisbehavingAs, type Misbehaviour, type MisbehavingAs } from '../helpers/misbehaving-as.js';

const API = 'https://api.example.com';
const SECRET = 'rs-s3cret-value';
const TIMEOUT_MS = 300;

interface Line {
  level: 'warn' | 'error';
  message: string;
  details: Record<string, unknown>;
}
function recordingLogger(): Logger & { lines: Line[]; text(): string } {
  const lines: Line[] = [];
  return {
    lines,
    warn: (message, details = {}) => void lines.push({ level: 'warn', message, details }),
    error: (message, details = {}) => void lines.push({ level: 'error', message, details }),
    text: () => lines.map((l) => `${l.message} ${JSON.stringify(l.details)}`).join('\n'),
  };
}
/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let as: MisbehavingAs;
beforeEach(async () => {
  as = await startMisbehavingAs();
});
afterEach(async () => {
  await as.close();
});

/** What each misbehaviour must be classified as (`status` where the step always knows it). */
const ANSWERS: Array<[Misbehaviour, { kind: string; status?: number; error?: string; level: 'warn' | 'error'; cause: RegExp }]> = [
  ['empty-401', { kind: 'credentials', status: 401, level: 'error', cause: /^HTTP 401$/ }],
  ['challenge-401', { kind: 'credentials', status: 401, error: 'invalid_client', level: 'error', cause: /^HTTP 401 invalid_client$/ }],
  ['json-403', { kind: 'credentials', status: 403, error: 'access_denied', level: 'error', cause: /^HTTP 403 access_denied$/ }],
  ['html-500', { kind: 'server', status: 500, level: 'warn', cause: /^HTTP 500$/ }],
  ['garbage', { kind: 'invalid_answer', level: 'warn', cause: /an unusable answer: not JSON$/ }],
  ['hang', { kind: 'timeout', level: 'warn', cause: new RegExp(`^timeout after ${TIMEOUT_MS} ms$`) }],
];

describe('introspection: classified by status first, logged once per state change', () => {
  const introspecting = (logger: Logger, endpoint = `${as.issuer}/introspect`) =>
    new ResourceServer({
      issuer: { issuer: as.issuer, validation: 'introspection', introspection: { clientId: 'rs-client', clientSecret: SECRET, endpoint } },
      resource: API,
      http: { timeoutMs: TIMEOUT_MS },
      cache: false,
      logger,
    });

  it.each(ANSWERS)(
    'an AS that answers %s: 503 to every request, one line naming issuer, step, URL and cause, then one recovery line',
    async (mode, expected) => {
      const logger = recordingLogger();
      const rs = introspecting(logger);
      as.mode.introspection = mode;
      const tokens = ['opaque-token-a1', 'opaque-token-b2', 'opaque-token-c3', 'opaque-token-d4', 'opaque-token-e5'];
      for (const t of tokens) expect(await statusOf(rs, t)).toBe(503);
      expect(as.calls.introspection).toBe(tokens.length);
      expect(logger.lines).toHaveLength(1);
      const [line] = logger.lines;
      expect(line!.level).toBe(expected.level);
      expect(line!.details).toMatchObject({
        issuer: as.issuer,
        step: 'introspection',
        url: `${as.issuer}/introspect`,
        kind: expected.kind,
      });
      if (expected.status) expect(line!.details.status).toBe(expected.status);
      expect(line!.details.error).toBe(expected.error);
      expect(line!.details.cause).toMatch(expected.cause);
      expect(line!.message).toContain(`(introspection at ${as.issuer}/introspect, issuer ${as.issuer}): ${String(line!.details.cause)}`);
      if (expected.kind === 'credentials') {
        expect(line!.message).toContain('refused the resource server credentials');
        expect(line!.details.clientId).toBe('rs-client');
      }

      as.mode.introspection = 'ok';
      expect(await statusOf(rs, 'opaque-token-f6')).toBe(200);
      expect(await statusOf(rs, 'opaque-token-g7')).toBe(200);
      expect(logger.lines).toHaveLength(2);
      const recovery = logger.lines[1]!;
      expect(recovery.message).toMatch(/answers again \(introspection at .*\) after 5 failed call\(s\), 4 not logged/);
      expect(recovery.details).toMatchObject({
        issuer: as.issuer,
        step: 'introspection',
        url: `${as.issuer}/introspect`,
        failures: 5,
        suppressed: 4,
      });
      const text = logger.text();
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('opaque-token');
    },
  );

  it('oidc-provider refusing a wrong client secret (its 401 comes as a WWW-Authenticate challenge): one error line for many requests', async () => {
    const dev = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read'], format: 'opaque' }] });
    try {
      const logger = recordingLogger();
      const rs = new ResourceServer({
        issuer: {
          issuer: dev.issuer,
          validation: 'introspection',
          introspection: { clientId: dev.resourceServerClient.clientId, clientSecret: SECRET },
        },
        resource: API,
        cache: false,
        logger,
      });
      const tokens = await Promise.all([1, 2, 3, 4].map(() => dev.mintAccessToken({ resource: API, scope: 'read' })));
      for (const t of tokens) expect(await statusOf(rs, t)).toBe(503);
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]!.level).toBe('error');
      expect(logger.lines[0]!.message).toContain('refused the resource server credentials');
      expect(logger.lines[0]!.details).toMatchObject({ issuer: dev.issuer, step: 'introspection', kind: 'credentials', status: 401 });
      for (const t of tokens) expect(logger.text()).not.toContain(t);
      expect(logger.text()).not.toContain(SECRET);
    } finally {
      await dev.close();
    }
  });

  it('a refused connection: the system error code is the cause', async () => {
    const logger = recordingLogger();
    const port = await closedPort();
    const rs = introspecting(logger, `http://127.0.0.1:${port}/introspect`);
    for (const t of ['opaque-token-1', 'opaque-token-2', 'opaque-token-3']) expect(await statusOf(rs, t)).toBe(503);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]!.details).toMatchObject({
      step: 'introspection',
      url: `http://127.0.0.1:${port}/introspect`,
      kind: 'network',
      code: 'ECONNREFUSED',
      cause: 'ECONNREFUSED',
    });
    expect(logger.lines[0]!.message).toMatch(
      /is failing \(introspection at http:\/\/127\.0\.0\.1:\d+\/introspect, issuer http:\/\/127\.0\.0\.1:\d+\): ECONNREFUSED$/,
    );
  });

  it('a signed answer (RFC 9701) that does not verify, or a plain one where a signed one was asked for: an unusable answer, saying why', async () => {
    const fake = await startFakeAuthorizationServer();
    try {
      const logger = recordingLogger();
      const rs = new ResourceServer({
        issuer: {
          issuer: fake.issuer,
          validation: 'introspection',
          introspection: { clientId: 'rs-client', clientSecret: SECRET, jwtResponse: true },
        },
        resource: API,
        http: { timeoutMs: 2000 },
        cache: false,
        logger,
      });
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: fake.issuer, aud: 'rs-client', iat: now, token_introspection: { active: true, scope: 'read', aud: API } };
      fake.answer = {
        text: await fake.signIntrospection(claims, { foreignKey: true }),
        contentType: 'application/token-introspection+jwt',
      };
      expect(await statusOf(rs, 'opaque-token-1')).toBe(503);
      fake.answer = { json: { active: true, scope: 'read', aud: API } };
      expect(await statusOf(rs, 'opaque-token-2')).toBe(503);
      expect(logger.lines).toHaveLength(1); // the same kind of failure: one line
      expect(logger.lines[0]!.details).toMatchObject({ step: 'introspection', kind: 'invalid_answer', url: `${fake.issuer}/introspect` });
      expect(logger.lines[0]!.details.cause).toMatch(/unusable answer: .*signature/i);
    } finally {
      await fake.close();
    }
  });

  it('a change of cause within one outage is one more line, a repeat of it none', async () => {
    const logger = recordingLogger();
    const rs = introspecting(logger);
    as.mode.introspection = 'html-500';
    for (const t of ['t-1', 't-2']) expect(await statusOf(rs, t)).toBe(503);
    as.mode.introspection = 'empty-401';
    for (const t of ['t-3', 't-4']) expect(await statusOf(rs, t)).toBe(503);
    as.mode.introspection = 'html-500';
    expect(await statusOf(rs, 't-5')).toBe(503);
    expect(logger.lines.map((l) => [l.level, l.details.kind])).toEqual([
      ['warn', 'server'],
      ['error', 'credentials'],
    ]);
    as.mode.introspection = 'ok';
    expect(await statusOf(rs, 't-6')).toBe(200);
    expect(logger.lines[2]!.details).toMatchObject({ failures: 5, suppressed: 3 });
  });
});

describe('keys and discovery: the step that failed, never the keys for a discovery failure', () => {
  it('an unreachable issuer is logged as discovery, with the metadata URL and ECONNREFUSED', async () => {
    const logger = recordingLogger();
    const port = await closedPort();
    const issuer = `http://127.0.0.1:${port}`;
    const rs = new ResourceServer({ issuer, resource: API, http: { timeoutMs: TIMEOUT_MS }, logger });
    const token = await as.sign({ iss: issuer });
    expect(await statusOf(rs, token)).toBe(503);
    expect(logger.lines).toHaveLength(1);
    const [line] = logger.lines;
    expect(line!.details).toMatchObject({
      issuer,
      step: 'discovery',
      url: `${issuer}/.well-known/oauth-authorization-server`,
      code: 'ECONNREFUSED',
    });
    expect(line!.message).not.toMatch(/keys/);
    expect(logger.text()).not.toContain(token);
  });

  it('a document for another issuer names both issuers', async () => {
    const logger = recordingLogger();
    as.advertisedIssuer = `${as.issuer}/`;
    const rs = new ResourceServer({ issuer: as.issuer, resource: API, http: { timeoutMs: TIMEOUT_MS }, logger });
    expect(await statusOf(rs, await as.sign())).toBe(503);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]!.details).toMatchObject({ step: 'discovery', kind: 'issuer_mismatch' });
    expect(logger.lines[0]!.message).toContain(
      `expected ${JSON.stringify(as.issuer)}, the document names ${JSON.stringify(`${as.issuer}/`)}`,
    );
  });

  it.each(ANSWERS)(
    'a JWKS endpoint that answers %s: one line for the outage (step jwks, its URL), one on recovery counting the calls not logged',
    async (mode, expected) => {
      const logger = recordingLogger();
      // A tiny retry interval: each request below may ask the AS again, so several failures are counted.
      const rs = new ResourceServer({
        issuer: { issuer: as.issuer, jwksUri: `${as.issuer}/jwks` },
        resource: API,
        http: { timeoutMs: TIMEOUT_MS, retryIntervalMs: 1 },
        cache: false,
        logger,
      });
      as.mode.jwks = mode;
      const token = await as.sign();
      for (let i = 0; i < 4; i++) {
        expect(await statusOf(rs, token)).toBe(503);
        await new Promise((r) => setTimeout(r, 5));
      }
      const failedCalls = as.calls.jwks;
      expect(failedCalls).toBeGreaterThanOrEqual(2);
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]!.details).toMatchObject({
        issuer: as.issuer,
        step: 'jwks',
        url: `${as.issuer}/jwks`,
        kind: expected.kind,
        keptKeys: 0,
      });
      expect(logger.lines[0]!.details.cause).toMatch(expected.cause);
      if (expected.status) expect(logger.lines[0]!.details.status).toBe(expected.status);
      // Keys are fetched anonymously: a 401 there is logged as a failure, not as refused credentials.
      expect(logger.lines[0]!.level).toBe('warn');
      as.mode.jwks = 'ok';
      await new Promise((r) => setTimeout(r, 5));
      expect(await statusOf(rs, token)).toBe(200);
      expect(logger.lines).toHaveLength(2);
      expect(logger.lines[1]!.details).toMatchObject({ step: 'jwks', failures: failedCalls, suppressed: failedCalls - 1 });
      expect(logger.text()).not.toContain(token);
    },
  );
});

describe('the UMA side: PAT, protection API, registration', () => {
  const registrar = (logger: Logger) =>
    new UmaRegistrar({
      issuer: as.issuer,
      clientId: 'rs-client',
      clientSecret: SECRET,
      timeoutMs: TIMEOUT_MS,
      logger,
      store: new MemoryStore(),
    });

  it('a token endpoint that refuses our credentials with an empty 401: one error line for many syncs, the status names it, recovery counted', async () => {
    const logger = recordingLogger();
    const r = registrar(logger);
    r.declare([{ key: 'route:/a', name: 'a', scopes: ['view'] }]);
    as.mode.token = 'empty-401';
    for (let i = 0; i < 4; i++)
      await expect(r.sync()).rejects.toThrow(`the protection token request at ${as.issuer}/token for issuer ${as.issuer} failed: HTTP 401`);
    expect(r.status().lastError).toContain(`${as.issuer}/token`);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]!.level).toBe('error');
    expect(logger.lines[0]!.details).toMatchObject({
      issuer: as.issuer,
      step: 'token',
      url: `${as.issuer}/token`,
      kind: 'credentials',
      status: 401,
      clientId: 'rs-client',
    });
    as.mode.token = 'ok';
    expect((await r.sync()).state).toBe('registered');
    expect(logger.lines[1]!.details).toMatchObject({ step: 'token', failures: 4, suppressed: 3 });
    expect(logger.text()).not.toContain(SECRET);
    expect(logger.text()).not.toContain('pat-');
  });

  it('a protection API that answers 500 HTML: logged once as step uma with its URL; the error names operation, URL and status', async () => {
    const logger = recordingLogger();
    const r = registrar(logger);
    as.mode.uma = 'html-500';
    const client = await r.client();
    for (let i = 0; i < 3; i++)
      await expect(client.list()).rejects.toThrow(`the protection API list at ${as.issuer}/rreg for issuer ${as.issuer} answered HTTP 500`);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]!.details).toMatchObject({
      issuer: as.issuer,
      step: 'uma',
      url: `${as.issuer}/rreg`,
      kind: 'server',
      status: 500,
    });
    as.mode.uma = 'ok';
    expect(await client.list()).toEqual([]);
    expect(logger.lines[1]!.details).toMatchObject({ step: 'uma', failures: 3, suppressed: 2 });
  });

  it('a protection API that refuses the request itself (400): the AS is up, so no outage is logged; the sync warning is not repeated per retry', async () => {
    const logger = recordingLogger();
    const r = registrar(logger);
    r.declare([{ key: 'route:/a', name: 'a', scopes: ['view'] }]);
    as.mode.uma = 'json-400';
    for (let i = 0; i < 4; i++)
      await expect(r.sync()).rejects.toThrow(
        `the protection API list at ${as.issuer}/rreg for issuer ${as.issuer} answered HTTP 400 invalid_request`,
      );
    expect(logger.lines.map((l) => l.message)).toEqual(['resource registration failed; will retry']);
    as.mode.uma = 'ok';
    expect((await r.sync()).state).toBe('registered');
    expect(logger.lines).toHaveLength(1);
  });

  it('an unreachable UMA AS: plan() (what the CLI prints) names the discovery URL, the issuer and ECONNREFUSED', async () => {
    const logger = recordingLogger();
    const port = await closedPort();
    const issuer = `http://127.0.0.1:${port}`;
    const r = new UmaRegistrar({ issuer, clientId: 'rs-client', clientSecret: SECRET, timeoutMs: TIMEOUT_MS, logger });
    await expect(r.plan()).rejects.toThrow(
      `discovery at ${issuer}/.well-known/uma2-configuration for issuer ${issuer} failed: ECONNREFUSED`,
    );
    await expect(r.plan()).rejects.toThrow(/ECONNREFUSED/);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]!.details).toMatchObject({ step: 'discovery', code: 'ECONNREFUSED' });
  });

  it('client registration that gets no answer names the issuer, the step, the URL and the timeout', async () => {
    as.mode.registration = 'hang';
    await expect(
      registerResourceServer({
        issuer: as.issuer,
        registrationEndpoint: `${as.issuer}/register?x=1`,
        store: new MemoryStore(),
        timeoutMs: TIMEOUT_MS,
      }),
    ).rejects.toThrow(`client registration at ${as.issuer}/register for issuer ${as.issuer} failed: timeout after ${TIMEOUT_MS} ms`);
  });
});
