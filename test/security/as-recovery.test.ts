/**
 * Recovery from an AS outage, whatever its length, without stampeding the AS. On a simulated clock (only `Date`
 * is faked: sockets and deadlines run for real), requests arrive in bursts every 100 ms while the AS is down:
 * the kit asks the AS at most once per retry interval (one call in flight, never a call per request), and once
 * the AS is back the first request after one interval is served, even after a long outage (a back-off that
 * grows with the outage would keep answering 503 long after the AS came back). Counts AS calls and polls for
 * recovery in simulated time; nothing here measures wall-clock time.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { MemoryStore, ResourceServer, umaProtection } from '../../src/index.js';
import { discoverAuthorizationServer } from '../../src/authz-server/discovery.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { statusOf } from '../helpers/status-of.js';
import { startMisbehavingAs, type MisbehavingAs } from '../helpers/misbehaving-as.js';

const API = 'https://api.example.com';
const INTERVAL_MS = 1000; // the default http.retryIntervalMs
const STEP_MS = 100;
const BURST = 10;

/** Fake `Date` only, starting now. */
function simulatedClock() {
  jest.useFakeTimers({
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  let now = Date.now();
  return {
    advance(ms: number) {
      now += ms;
      jest.setSystemTime(now);
    },
  };
}
afterEach(() => {
  jest.useRealTimers();
});

/**
 * `seconds` of simulated outage: a burst of concurrent requests every STEP_MS. Every answer must be a 503 (never an
 * allow, never a 401 for a good token); returns how many requests were made.
 */
async function outage(seconds: number, send: (i: number) => Promise<number>, clock: ReturnType<typeof simulatedClock>): Promise<number> {
  let n = 0;
  for (let t = 0; t < seconds * 1000; t += STEP_MS) {
    const statuses = await Promise.all(Array.from({ length: BURST }, () => send(n++)));
    expect(statuses.every((s) => s === 503)).toBe(true);
    clock.advance(STEP_MS);
  }
  return n;
}

/** Simulated milliseconds from the AS's return until a request is served (a request every STEP_MS). */
async function timeToRecovery(send: () => Promise<number>, clock: ReturnType<typeof simulatedClock>, served = 200): Promise<number> {
  for (let waited = 0; waited <= 120_000; waited += STEP_MS) {
    const status = await send();
    if (status === served) return waited;
    expect(status).toBe(503);
    clock.advance(STEP_MS);
  }
  return Infinity;
}

describe('against an AS double that answers 500 while down', () => {
  let as: MisbehavingAs;
  beforeEach(async () => {
    as = await startMisbehavingAs();
  });
  afterEach(async () => {
    await as.close();
  });

  it('JWKS: one call per retry interval during a 60 s outage with bursts of requests, served again one interval after the AS is back', async () => {
    const clock = simulatedClock();
    const rs = new ResourceServer({
      issuer: { issuer: as.issuer, jwksUri: `${as.issuer}/jwks` },
      resource: API,
      http: { timeoutMs: 500 },
      cache: false,
      logger: false,
    });
    const token = await as.sign({ exp: Math.floor(Date.now() / 1000) + 7200 });
    as.mode.jwks = 'html-500';
    const requests = await outage(60, () => statusOf(rs, token), clock);
    expect(requests).toBe(6000);
    expect(as.calls.jwks).toBeGreaterThanOrEqual(50); // retries keep going, driven by requests
    expect(as.calls.jwks).toBeLessThanOrEqual(60 * (1000 / INTERVAL_MS) + 1);
    // A failed attempt just now: the AS comes back right after it.
    as.mode.jwks = 'ok';
    expect(await timeToRecovery(() => statusOf(rs, token), clock)).toBeLessThanOrEqual(INTERVAL_MS + STEP_MS);
  });

  it('JWKS: after a 45-minute outage, recovery still takes one interval (no back-off grown with the outage)', async () => {
    const clock = simulatedClock();
    const rs = new ResourceServer({
      issuer: { issuer: as.issuer, jwksUri: `${as.issuer}/jwks` },
      resource: API,
      http: { timeoutMs: 500 },
      cache: false,
      logger: false,
    });
    const token = await as.sign({ exp: Math.floor(Date.now() / 1000) + 7200 });
    as.mode.jwks = 'html-500';
    // A request every 10 simulated seconds for 45 minutes, each burst answered 503 with at most one AS call.
    for (let t = 0; t < 45 * 60; t += 10) {
      const before = as.calls.jwks;
      const statuses = await Promise.all(Array.from({ length: BURST }, () => statusOf(rs, token)));
      expect(statuses.every((s) => s === 503)).toBe(true);
      expect(as.calls.jwks - before).toBeLessThanOrEqual(1);
      clock.advance(10_000);
    }
    await statusOf(rs, token); // the last failed attempt, just before the AS returns
    as.mode.jwks = 'ok';
    expect(await timeToRecovery(() => statusOf(rs, token), clock)).toBeLessThanOrEqual(INTERVAL_MS + STEP_MS);
  });

  it('discovery for the keys: one attempt per interval while the metadata fails, served one interval after it is back', async () => {
    const clock = simulatedClock();
    const rs = new ResourceServer({ issuer: as.issuer, resource: API, http: { timeoutMs: 500 }, cache: false, logger: false });
    const token = await as.sign({ exp: Math.floor(Date.now() / 1000) + 7200 });
    as.mode.discovery = 'html-500';
    await outage(45, () => statusOf(rs, token), clock);
    // Each attempt asks for the RFC 8414 document, then the OpenID one.
    expect(as.calls.discovery).toBeLessThanOrEqual(2 * (45 * (1000 / INTERVAL_MS) + 1));
    expect(as.calls.jwks).toBe(0);
    as.mode.discovery = 'ok';
    expect(await timeToRecovery(() => statusOf(rs, token), clock)).toBeLessThanOrEqual(INTERVAL_MS + STEP_MS);
  });

  it('discovery past its one-hour life while the AS is down: the last document is served, and the AS asked once per interval, not per call', async () => {
    const clock = simulatedClock();
    const settings = { timeoutMs: 500, maxBytes: 65536 };
    const first = await discoverAuthorizationServer(as.issuer, settings);
    expect(as.calls.discovery).toBe(1);
    as.mode.discovery = 'html-500';
    clock.advance(2 * 3600_000);
    for (let t = 0; t < 30_000; t += STEP_MS) {
      const results = await Promise.all(Array.from({ length: BURST }, () => discoverAuthorizationServer(as.issuer, settings)));
      expect(results.every((r) => r.metadata.jwks_uri === first.metadata.jwks_uri)).toBe(true);
      clock.advance(STEP_MS);
      await new Promise((r) => setImmediate(r)); // let a background refresh settle
    }
    const during = as.calls.discovery - 1;
    expect(during).toBeGreaterThan(0);
    expect(during).toBeLessThanOrEqual(2 * (30 * (1000 / INTERVAL_MS) + 1));
    // Back: the next refresh succeeds, and the fresh document is then used for an hour without asking again.
    as.mode.discovery = 'ok';
    clock.advance(INTERVAL_MS);
    await discoverAuthorizationServer(as.issuer, settings);
    await new Promise((r) => setTimeout(r, 50));
    const afterRefresh = as.calls.discovery;
    for (let i = 0; i < 20; i++) await discoverAuthorizationServer(as.issuer, settings);
    expect(as.calls.discovery).toBe(afterRefresh);
  });

  it('introspection client creation: discovery asked once per interval whatever the number of distinct tokens, served one interval after it is back', async () => {
    const clock = simulatedClock();
    const rs = new ResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { clientId: 'rs', clientSecret: 'secret', jwtResponse: false },
      },
      resource: API,
      http: { timeoutMs: 500 },
      cache: false,
      logger: false,
    });
    as.mode.discovery = 'html-500';
    await outage(30, (i) => statusOf(rs, `opaque-token-${i}`), clock);
    expect(as.calls.discovery).toBeLessThanOrEqual(2 * (30 * (1000 / INTERVAL_MS) + 1));
    expect(as.calls.introspection).toBe(0);
    as.mode.discovery = 'ok';
    let i = 0;
    expect(await timeToRecovery(() => statusOf(rs, `opaque-token-late-${i++}`), clock)).toBeLessThanOrEqual(INTERVAL_MS + STEP_MS);
  });

  it('UMA registration: a request to an unregistered route retries a failing registration at once (paced), not at the end of its back-off', async () => {
    const clock = simulatedClock();
    const rs = new ResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { clientId: 'rs', clientSecret: 'secret', endpoint: `${as.issuer}/introspect`, acceptMissingAudience: true },
      },
      resource: API,
      http: { timeoutMs: 500 },
      logger: false,
    });
    const protection = umaProtection({
      resourceServer: rs,
      issuer: as.issuer,
      clientId: 'rs',
      clientSecret: 'secret',
      store: new MemoryStore(),
      timeoutMs: 500,
      logger: false,
    });
    const app = express();
    app.get('/albums/:id', protection.require('view'), (_req, res) => {
      res.json({ ok: true });
    });
    as.mode['uma-discovery'] = 'html-500';
    const registrar = protection.registerRoutes(app);
    try {
      const get = async () => (await request(app).get('/albums/1')).status;
      for (let t = 0; t < 20_000; t += 250) {
        expect(await get()).toBe(503);
        clock.advance(250);
      }
      // Request-driven retries (one per interval), plus the few the background back-off made in real time.
      expect(as.calls['uma-discovery']).toBeGreaterThanOrEqual(10);
      expect(as.calls['uma-discovery']).toBeLessThanOrEqual(20 * (1000 / INTERVAL_MS) + 10);
      as.mode['uma-discovery'] = 'ok';
      // Served: a 401 with a permission ticket (UMA Grant §3.2.1). The retry runs in the background: allow it to land.
      let waited = 0;
      for (; waited <= 60_000; waited += STEP_MS) {
        if ((await get()) === 401) break;
        await new Promise((r) => setTimeout(r, 20));
        clock.advance(STEP_MS);
      }
      expect(waited).toBeLessThanOrEqual(INTERVAL_MS + 5 * STEP_MS);
    } finally {
      registrar.stop();
    }
  });
});

describe('against the development AS and its fault injection', () => {
  let dev: DevAuthorizationServer;
  beforeAll(async () => {
    dev = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read'] }] });
  });
  afterAll(async () => {
    await dev?.close();
  });

  it('JWKS answering 503 for a simulated minute: at most one call per interval, served one interval after faults.clear()', async () => {
    const clock = simulatedClock();
    const token = await dev.signToken({ claims: { aud: API, scope: 'read', exp: Math.floor(Date.now() / 1000) + 7200 } });
    dev.faults.inject({ kind: 'status', status: 503 }, { endpoints: ['jwks'] });
    const before = dev.faults.injected;
    const rs = new ResourceServer({ issuer: dev.issuer, resource: API, http: { timeoutMs: 500 }, cache: false, logger: false });
    try {
      await outage(60, () => statusOf(rs, token), clock);
      const calls = dev.faults.injected - before;
      expect(calls).toBeGreaterThanOrEqual(50);
      expect(calls).toBeLessThanOrEqual(60 * (1000 / INTERVAL_MS) + 1);
    } finally {
      dev.faults.clear();
    }
    expect(await timeToRecovery(() => statusOf(rs, token), clock)).toBeLessThanOrEqual(INTERVAL_MS + STEP_MS);
  });

  it('an AS that refuses connections (faults.stop) at start-up: served one interval after faults.start()', async () => {
    const clock = simulatedClock();
    const fresh = await startDevAuthorizationServer({ resources: [{ identifier: API, scopes: ['read'] }] });
    try {
      const token = await fresh.signToken({ claims: { aud: API, scope: 'read', exp: Math.floor(Date.now() / 1000) + 7200 } });
      await fresh.faults.stop();
      const rs = new ResourceServer({ issuer: fresh.issuer, resource: API, http: { timeoutMs: 500 }, cache: false, logger: false });
      await outage(20, () => statusOf(rs, token), clock);
      await fresh.faults.start();
      expect(await timeToRecovery(() => statusOf(rs, token), clock)).toBeLessThanOrEqual(INTERVAL_MS + STEP_MS);
    } finally {
      await fresh.close();
    }
  });
});
