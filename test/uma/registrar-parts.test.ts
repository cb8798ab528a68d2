/**
 * The registrar's parts, each alone: the background work (retries with backoff until a sync succeeds, retries
 * that requests bring forward, the reconcile a sign of lost state triggers, the periodic one), what requests
 * wait for (bounded, one re-registration per lost set), the status and its warnings (once per change), and the
 * reconcile generation that replicas share. Simulated time only (fake timers): nothing here measures the clock.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { MemoryStore, ProtectionApiError } from '../../src/index.js';
import { ReconcileScheduler, type ScheduledWork } from '../../src/uma/reconcile-scheduler.js';
import { PendingRegistrations } from '../../src/uma/pending-registrations.js';
import { RegistrationReport, type RegistrationStatus } from '../../src/uma/registration-status.js';
import { ReconcileGeneration } from '../../src/uma/reconcile-generation.js';

const MINUTE = 60_000;

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

/** Work whose syncs end as `outcomes` says, one after the other (then `registered`), counting every call. */
function fakeWork(outcomes: Array<RegistrationStatus['state'] | 'unreachable'>) {
  const calls = { sync: 0, reconcile: 0, periodic: 0, retries: 0 };
  /** Each retry's delay, as the scheduler set it. */
  const delays: number[] = [];
  let lastEnded = -Infinity;
  let inFlight = false;
  const work: ScheduledWork = {
    async sync() {
      calls.sync++;
      const outcome = outcomes.shift() ?? 'registered';
      lastEnded = Date.now();
      if (outcome === 'unreachable') throw new Error('the AS is down');
      return { state: outcome, registered: [], pending: [] };
    },
    reconcile: async () => {
      calls.reconcile++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    },
    reconcileUnlessSeen: async () => {
      calls.periodic++;
    },
    syncInFlight: () => inFlight,
    lastAttemptEndedAt: () => lastEnded,
    retryAt: (at) => {
      calls.retries++;
      delays.push(at.getTime() - Date.now());
    },
  };
  return { work, calls, delays, setInFlight: (value: boolean) => (inFlight = value) };
}

describe('ReconcileScheduler', () => {
  const timings = { retryIntervalMs: 1000, reconcileIntervalMs: false as const };

  it('retries a failing start-up sync with backoff until it succeeds, and then no more', async () => {
    const { work, calls, delays } = fakeWork(['failing', 'unreachable', 'failing', 'registered']);
    const scheduler = new ReconcileScheduler(timings, work);
    scheduler.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toMatchObject({ sync: 1, retries: 1 });
    for (const retried of [2, 3, 4]) {
      await jest.advanceTimersByTimeAsync(delays.at(-1)!);
      expect(calls.sync).toBe(retried);
    }
    // Full jitter under a cap that doubles from 1 s.
    delays.forEach((delay, i) => expect(delay).toBeLessThanOrEqual(1000 * 2 ** i));
    await jest.advanceTimersByTimeAsync(10 * MINUTE);
    expect(calls).toMatchObject({ sync: 4, retries: 3 });
  });

  it('start() while a chain runs starts no second one', async () => {
    const { work, calls } = fakeWork(['failing']);
    const scheduler = new ReconcileScheduler(timings, work);
    scheduler.start();
    scheduler.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls.sync).toBe(1);
  });

  it('retrySoon runs the waiting retry now, but not within retryIntervalMs of the last attempt nor beside a sync in flight', async () => {
    const { work, calls, setInFlight } = fakeWork(['failing', 'failing', 'failing']);
    const scheduler = new ReconcileScheduler(timings, work);
    scheduler.retrySoon(); // nothing waits before start()
    scheduler.start();
    await jest.advanceTimersByTimeAsync(0);
    scheduler.retrySoon(); // the attempt just ended
    expect(calls.sync).toBe(1);
    jest.setSystemTime(Date.now() + timings.retryIntervalMs); // the clock only: the back-off timer does not fire
    setInFlight(true);
    scheduler.retrySoon();
    expect(calls.sync).toBe(1);
    setInFlight(false);
    scheduler.retrySoon();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls.sync).toBe(2);
  });

  it('stop() ends the retries and the periodic reconcile', async () => {
    const { work, calls } = fakeWork(['failing', 'failing']);
    const scheduler = new ReconcileScheduler({ ...timings, reconcileIntervalMs: MINUTE }, work);
    scheduler.start();
    await jest.advanceTimersByTimeAsync(0);
    scheduler.stop();
    scheduler.retrySoon();
    await jest.advanceTimersByTimeAsync(10 * MINUTE);
    expect(calls).toMatchObject({ sync: 1, periodic: 0 });
  });

  it('reconciles every interval once the start-up sync succeeded (not while it is still retrying)', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5); // retries after 0.5, 1, 2... s: the sync succeeds after 63.5 s
    const { work, calls } = fakeWork(Array.from({ length: 7 }, () => 'unreachable' as const));
    const scheduler = new ReconcileScheduler({ ...timings, reconcileIntervalMs: 1000 }, work);
    scheduler.start();
    await jest.advanceTimersByTimeAsync(1200); // one interval (+ at most 20 % jitter), the sync still failing
    expect(calls.periodic).toBe(0);
    await jest.advanceTimersByTimeAsync(10 * MINUTE); // the sync succeeds at last
    const periodic = calls.periodic;
    await jest.advanceTimersByTimeAsync(2400);
    expect(calls.periodic).toBeGreaterThanOrEqual(periodic + 2);
    scheduler.stop();
  });

  it('a sign of lost state reconciles once while started, however many requests see it, and never before start()', async () => {
    const { work, calls } = fakeWork([]);
    const scheduler = new ReconcileScheduler(timings, work);
    scheduler.stateLost();
    expect(calls.reconcile).toBe(0);
    scheduler.start();
    scheduler.stateLost();
    scheduler.stateLost();
    expect(calls.reconcile).toBe(1);
    await jest.advanceTimersByTimeAsync(10); // that reconcile ends: the next sign reconciles again
    scheduler.stateLost();
    expect(calls.reconcile).toBe(2);
    scheduler.stop();
    await jest.advanceTimersByTimeAsync(10);
    scheduler.stateLost();
    expect(calls.reconcile).toBe(2);
  });
});

describe('PendingRegistrations', () => {
  it('a request waits at most waitMs for a registration under way', async () => {
    const pending = new PendingRegistrations(50);
    const never = new Promise<string>(() => undefined);
    const waited = pending.bounded(never);
    const outcome = expect(waited).rejects.toThrow(/did not finish within 50 ms/);
    await jest.advanceTimersByTimeAsync(50);
    await outcome;
    await expect(waited).rejects.toBeInstanceOf(ProtectionApiError);
    await expect(pending.bounded(Promise.resolve('id-1'))).resolves.toBe('id-1');
  });

  it('one re-registration per key and lost id, which later requests join; a new loss starts another', async () => {
    const pending = new PendingRegistrations(1000);
    let finish: (id: string) => void = () => undefined;
    const start = jest.fn(() => new Promise<string | undefined>((resolve) => (finish = resolve)));
    const first = pending.reregister('album:1', 'lost-1', start);
    expect(pending.reregister('album:1', 'lost-1', start)).toBe(first);
    expect(pending.underway('album:1')).toBe(first);
    expect(start).toHaveBeenCalledTimes(1);
    finish('new-1');
    await expect(first).resolves.toBe('new-1');
    expect(pending.underway('album:1')).toBeUndefined();
    const second = pending.reregister('album:1', 'new-1', start);
    expect(second).not.toBe(first);
    expect(start).toHaveBeenCalledTimes(2);
  });
});

describe('RegistrationReport', () => {
  const entry = { id: 'x', fingerprint: 'f', managed: true };

  it('says which declared keys are registered and which pending, and a copy of it', () => {
    const report = new RegistrationReport(undefined);
    const failures = [{ key: 'b', error: new Error('refused') }];
    report.settled({ mapping: { a: entry, b: entry }, failures, orphans: [] }, ['a', 'b', 'c']);
    const status = report.snapshot();
    expect(status).toEqual({ state: 'failing', registered: ['a'], pending: ['b', 'c'], lastError: 'b: refused' });
    status.registered.push('z');
    expect(report.snapshot().registered).toEqual(['a']);
  });

  it('warns once per change: the same failure again is not logged, nor the same orphans', () => {
    const warnings: string[] = [];
    const report = new RegistrationReport({ warn: (m) => warnings.push(m), error: () => undefined });
    const failing = { mapping: {}, failures: [{ key: 'a', error: new Error('refused') }], orphans: [{ key: 'route:/old', id: 'o1' }] };
    report.settled(failing, ['a']);
    report.settled(failing, ['a']);
    expect(warnings).toEqual(['some resources could not be registered', expect.stringContaining('declared by no route')]);
    report.settled({ mapping: { a: entry }, failures: [], orphans: [] }, ['a']);
    report.settled(failing, ['a']);
    expect(warnings).toHaveLength(4); // after a success the failure is news again, and so are the orphans
    report.failed({ error: new Error('store down'), registered: [], pending: ['a'], issuer: 'https://as.example.com' });
    report.failed({ error: new Error('store down'), registered: [], pending: ['a'], issuer: 'https://as.example.com' });
    expect(warnings.slice(4)).toEqual(['resource registration failed; will retry']);
    expect(report.snapshot()).toEqual({ state: 'failing', registered: [], pending: ['a'], lastError: 'store down' });
  });
});

describe('ReconcileGeneration', () => {
  const settings = (store: MemoryStore, namespace = '') => ({ store, issuer: 'https://as.example.com', clientId: 'rs', namespace });

  it('counts syncs in the store, shared by replicas of one namespace only', async () => {
    const store = new MemoryStore();
    const here = new ReconcileGeneration(settings(store));
    const replica = new ReconcileGeneration(settings(store));
    const otherApi = new ReconcileGeneration(settings(store, 'other'));
    expect(await here.read()).toBe(0);
    expect(here.seen).toBeUndefined();
    await here.begin(0);
    expect(here.seen).toBe(1);
    expect(await replica.read()).toBe(1);
    expect(await otherApi.read()).toBe(0);
    replica.saw(1);
    expect(replica.seen).toBe(1);
  });

  it('reads a garbled or unreadable generation as 0 (the reconcile then runs)', async () => {
    const store = new MemoryStore();
    await store.set('ors:uma-reconciled:https://as.example.com:rs', 'garbage', MINUTE);
    expect(await new ReconcileGeneration(settings(store)).read()).toBe(0);
    const failing = new MemoryStore();
    failing.get = () => Promise.reject(new Error('down'));
    expect(await new ReconcileGeneration(settings(failing)).read()).toBe(0);
  });
});
