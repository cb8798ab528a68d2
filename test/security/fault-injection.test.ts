/**
 * Fault injection against the real development AS (oidc-provider + the UMA protection API), through its
 * `faults` controls: refused connections, dropped connections, hangs, answers past the deadline, 5xx,
 * garbage, answers lost after the AS acted, and flapping. For each: JWT validation with known keys never
 * fails a valid request; a kit that never had keys, introspection and UMA registration answer 503 (never
 * an allow); and each recovers by itself once the AS is healthy again. Every case also checks that the
 * fault was really met, so a test cannot pass by missing the AS altogether.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import {
  MemoryStore,
  oauthResourceServer,
  parseChallenges,
  ResourceServer,
  umaProtection,
  type Logger,
  type ResourceServerOptions,
} from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';

const API = 'https://api.example.com/orders';
const OTHER = 'https://api.example.com/billing';
const PHOTOS = 'https://photos.example.com';
/** The kit's deadline for each AS call in these tests; slow faults answer well after it. */
const TIMEOUT_MS = 400;

interface FaultCase {
  name: string;
  apply(as: DevAuthorizationServer): void | Promise<void>;
  /** A flapping AS answers some requests: those may succeed. */
  flapping?: boolean;
}
const CASES: FaultCase[] = [
  { name: 'refuses connections', apply: (as) => as.faults.stop() },
  { name: 'drops connections', apply: (as) => as.faults.inject({ kind: 'reset' }) },
  { name: 'hangs', apply: (as) => as.faults.inject({ kind: 'hang' }) },
  { name: 'answers after the deadline', apply: (as) => as.faults.inject({ kind: 'slow', delayMs: TIMEOUT_MS * 4 }) },
  { name: 'answers 500', apply: (as) => as.faults.inject({ kind: 'status', status: 500 }) },
  { name: 'answers 503', apply: (as) => as.faults.inject({ kind: 'status', status: 503 }) },
  { name: 'answers garbage', apply: (as) => as.faults.inject({ kind: 'garbage' }) },
  { name: 'loses its answers', apply: (as) => as.faults.inject({ kind: 'lose-answer' }) },
  // Down for 300 ms, then up for 900 ms, and again: the first requests after the fault meet it; retries, at
  // their own (jittered) pace, meet either phase.
  { name: 'flaps', apply: (as) => as.faults.inject({ kind: 'status', status: 502 }, { flap: { downMs: 300, upMs: 900 } }), flapping: true },
];
const heal = async (as: DevAuthorizationServer) => {
  as.faults.clear();
  await as.faults.start();
};

/** A logger that keeps what it is told, to see that a fault was met and that no token was logged. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string, details?: Record<string, unknown>) => void lines.push(`${message} ${JSON.stringify(details ?? {})}`);
  return { lines, warn: keep, error: keep };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Poll `check` until it is true or `ms` have passed; returns the last result. */
async function eventually(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await sleep(100);
  }
}

function appFor(options: ResourceServerOptions) {
  const app = express();
  app.use(oauthResourceServer(options));
  app.get('/orders', (_req, res) => {
    res.json({ ok: true });
  });
  return app;
}
const get = (app: express.Express, token: string) => request(app).get('/orders').set('Authorization', `Bearer ${token}`);
/** A 503 as the kit writes it: Retry-After, a JSON error, nothing of the token or a stack. */
function expectUnavailable(res: request.Response, token: string) {
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(res.text).not.toContain(token);
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
}

let as: DevAuthorizationServer;
beforeAll(async () => {
  as = await startDevAuthorizationServer({
    resources: [
      { identifier: API, scopes: ['read:orders'] },
      { identifier: OTHER, scopes: ['read:billing'] },
    ],
  });
});
afterAll(async () => {
  await as?.close();
});

describe.each(CASES)('when the AS $name', (fault) => {
  it('JWT validation with known keys keeps accepting valid tokens and refusing bad ones, then goes on after the AS heals', async () => {
    const logger = recordingLogger();
    // Keys older than 50 ms are refreshed in the background, so the fault is met while requests are served.
    const app = appFor({
      issuer: as.issuer,
      resource: API,
      jwks: { maxAgeSeconds: 0.05, cooldownSeconds: 0 },
      http: { timeoutMs: TIMEOUT_MS },
      cache: false,
      logger,
    });
    const valid = () => as.signToken({ claims: { aud: API, scope: 'read:orders' } });
    expect((await get(app, await valid())).status).toBe(200);
    await fault.apply(as);
    try {
      const met = await eventually(async () => {
        const token = await valid();
        const res = await get(app, token);
        expect(res.status).toBe(200);
        return logger.lines.some((l) =>
          l.startsWith(`the authorization server is failing (jwks at ${as.issuer}/jwks, issuer ${as.issuer})`),
        );
      }, 5000);
      expect(met).toBe(true);
      const other = await as.signToken({ claims: { aud: OTHER } });
      expect((await get(app, other)).status).toBe(401);
      // A kid the kit has never seen cannot be checked while the JWKS is failing: never 200.
      const unknownKid = await as.signToken({ claims: { aud: API }, header: { kid: 'rotated-away' } });
      expect([401, 503]).toContain((await get(app, unknownKid)).status);
      expect(logger.lines.join('\n')).not.toContain('eyJ');
    } finally {
      await heal(as);
    }
    for (let i = 0; i < 5; i++) expect((await get(app, await valid())).status).toBe(200);
  });

  it('JWT validation that never had keys answers 503, never 200, and recovers by itself', async () => {
    // A fresh AS: nothing of it is in the kit's discovery cache yet.
    const fresh = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders'] }] });
    try {
      const token = await fresh.signToken({ claims: { aud: API, scope: 'read:orders' } });
      await fault.apply(fresh);
      const app = appFor({ issuer: fresh.issuer, resource: API, http: { timeoutMs: TIMEOUT_MS }, cache: false, logger: false });
      expectUnavailable(await get(app, token), token);
      if (!fault.flapping) {
        for (let i = 0; i < 3; i++) expectUnavailable(await get(app, token), token);
      }
      await heal(fresh);
      const statuses: number[] = [];
      const recovered = await eventually(async () => {
        const res = await get(app, token);
        statuses.push(res.status);
        return res.status === 200;
      }, 8000);
      expect(recovered).toBe(true);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    } finally {
      await fresh.close();
    }
  });
});

describe('introspection', () => {
  let opaque: DevAuthorizationServer;
  beforeAll(async () => {
    opaque = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read:orders'], format: 'opaque' }] });
  });
  afterAll(async () => {
    await opaque?.close();
  });

  it.each(CASES)('when the AS $name: 503 for an unseen token, never 200 for a revoked one, and recovery by itself', async (fault) => {
    const app = appFor({
      issuer: { issuer: opaque.issuer, validation: 'introspection', introspection: { ...opaque.resourceServerClient } },
      resource: API,
      http: { timeoutMs: TIMEOUT_MS },
      logger: false,
    });
    const mint = () => opaque.mintAccessToken({ resource: API, scope: 'read:orders' });
    const warm = await mint();
    const fresh = await Promise.all([mint(), mint(), mint(), mint()]);
    const revoked = await mint();
    await opaque.revoke(revoked);
    expect((await get(app, warm)).status).toBe(200); // discovery done, verdict cached
    const before = opaque.faults.injected;
    await fault.apply(opaque);
    try {
      const answers: number[] = [];
      for (const token of [...fresh, revoked]) {
        const res = await get(app, token);
        answers.push(res.status);
        if (res.status === 503) expectUnavailable(res, token);
      }
      expect(answers.at(-1)).not.toBe(200); // the revoked token: 503 or 401, never allowed
      if (fault.flapping) {
        expect(answers.slice(0, -1).every((s) => s === 200 || s === 503)).toBe(true);
        expect(answers).toContain(503);
      } else {
        expect(answers).toEqual([503, 503, 503, 503, 503]);
      }
      if (fault.name !== 'refuses connections') expect(opaque.faults.injected).toBeGreaterThan(before);
      expect((await get(app, warm)).status).toBe(200); // a cached verdict within its life stays good
    } finally {
      await heal(opaque);
    }
    // Recovery needs no restart: a 503 is never remembered as a verdict.
    for (const token of fresh) expect((await get(app, token)).status).toBe(200);
    expect((await get(app, revoked)).status).toBe(401);
  });
});

describe('UMA resource registration', () => {
  let uma: DevUmaAuthorizationServer;
  beforeAll(async () => {
    uma = await startDevAuthorizationServer({ resources: [{ identifier: PHOTOS, scopes: ['view'] }], uma: true });
  });
  afterAll(async () => {
    await uma?.close();
  });

  function setup() {
    const rs = new ResourceServer({
      issuer: {
        issuer: uma.issuer,
        validation: 'introspection',
        introspection: { ...uma.resourceServerClient, acceptMissingAudience: true },
      },
      resource: PHOTOS,
      http: { timeoutMs: TIMEOUT_MS },
      logger: false,
    });
    const protection = umaProtection({
      resourceServer: rs,
      issuer: uma.issuer,
      ...uma.resourceServerClient,
      store: new MemoryStore(),
      timeoutMs: TIMEOUT_MS,
      logger: false,
    });
    const app = express();
    app.get('/albums/:id', protection.require('view'), (_req, res) => {
      res.json({ ok: true });
    });
    return { app, protection };
  }
  /** Remove every resource the AS holds, through the protection API. */
  async function clear() {
    const client = await setup().protection.registrar.client();
    for (const r of uma.uma.resources()) await client.delete(r._id);
  }
  const umaChallenge = (res: request.Response) => parseChallenges(res.headers['www-authenticate'] ?? '')[0];

  it.each(CASES)(
    'when the AS $name at start-up: 503 until registered, then registered once, by itself',
    async (fault) => {
      await clear();
      await fault.apply(uma);
      const { app, protection } = setup();
      const registrar = protection.registerRoutes(app);
      try {
        if (!fault.flapping) {
          expect(await eventually(() => registrar.status().state === 'failing', 5000)).toBe(true);
          const res = await request(app).get('/albums/1');
          expect(res.status).toBe(503);
          expect(res.headers['retry-after']).toMatch(/^\d+$/);
          await heal(uma);
        }
        // A flapping AS is not healed: the registrar gets through by itself.
        // Each retry (jittered backoff) gets through with a chance of about 0.7: 40 s leave room for seven or so.
        expect(await eventually(() => registrar.status().state === 'registered', 40_000)).toBe(true);
        await heal(uma);
        expect(uma.uma.resources()).toHaveLength(1);
        const res = await request(app).get('/albums/1');
        expect(res.status).toBe(401);
        expect(umaChallenge(res)?.scheme).toBe('UMA');
      } finally {
        registrar.stop();
        await heal(uma);
      }
    },
    60_000,
  );

  it('never registers a resource twice when the AS creates it but the answer is lost', async () => {
    await clear();
    uma.faults.inject({ kind: 'lose-answer' }, { endpoints: ['uma'], methods: ['POST'] });
    const { app, protection } = setup();
    const registrar = protection.registerRoutes(app);
    try {
      // Creations are lost, updates are not: the registrar gets through by itself, adopting what it created.
      expect(await eventually(() => registrar.status().state === 'registered', 20_000)).toBe(true);
      expect(uma.faults.injected).toBeGreaterThan(0);
      expect(uma.uma.resources()).toHaveLength(1); // adopted by name, not created again
      expect(registrar.resourceId('route:/albums/:id')).toBe(uma.uma.resources()[0]!._id);
    } finally {
      registrar.stop();
      await heal(uma);
    }
  }, 45_000);

  it('answers a tokenless request with 403 and Warning 199 while the permission endpoint fails, and tickets again after', async () => {
    await clear();
    const { app, protection } = setup();
    const registrar = protection.registerRoutes(app);
    try {
      expect(await eventually(() => registrar.status().state === 'registered', 10_000)).toBe(true);
      uma.faults.inject({ kind: 'status', status: 500 }, { endpoints: ['uma'] });
      const res = await request(app).get('/albums/1');
      expect(res.status).toBe(403);
      expect(res.headers.warning).toMatch(/^199 - /);
      expect(res.headers['www-authenticate']).toBeUndefined();
      await heal(uma);
      const again = await request(app).get('/albums/1');
      expect(again.status).toBe(401);
      expect(Object.fromEntries(umaChallenge(again)!.params).ticket).toBeTruthy();
    } finally {
      registrar.stop();
      await heal(uma);
    }
  });
});
