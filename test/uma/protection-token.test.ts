/**
 * The PAT under concurrency, against an AS that counts its grants and, like a strict one, rotates refresh
 * tokens and refuses a reused one: a PAT the AS rejected is never handed out again (not even the shared copy a
 * concurrent renewal reads), and replicas sharing an atomic store redeem an owner's refresh token once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { LockTimeoutError, MemoryStore } from '../../src/index.js';
import { ProtectionToken, storeOwnerAuthorization } from '../../src/authz-server/protection-token.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';

let server: LoopbackServer;
let base = '';
let issued = 0;
let currentRefresh = '';
let refreshSeq = 0;
const grants: Array<{ grant: string | null; refresh: string | null; ok: boolean }> = [];

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      res.setHeader('content-type', 'application/json');
      // A little latency, so concurrent callers really overlap.
      setTimeout(() => {
        const grant = form.get('grant_type');
        const refresh = form.get('refresh_token');
        if (grant === 'refresh_token') {
          const ok = refresh === currentRefresh;
          grants.push({ grant, refresh, ok });
          if (!ok) {
            res.statusCode = 400;
            return res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'refresh token reused' }));
          }
          currentRefresh = `rt-${++refreshSeq}`;
          return res.end(
            JSON.stringify({ access_token: `owner-pat-${++issued}`, token_type: 'Bearer', expires_in: 300, refresh_token: currentRefresh }),
          );
        }
        grants.push({ grant, refresh, ok: true });
        res.end(JSON.stringify({ access_token: `pat-${++issued}`, token_type: 'Bearer', expires_in: 300 }));
      }, 20);
    });
  });
  base = server.base;
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  grants.length = 0;
  currentRefresh = 'rt-0';
  refreshSeq = 0;
});

const settings = (store: MemoryStore, timeoutMs = 2000) => ({
  issuer: base,
  tokenEndpoint: `${base}/token`,
  clientId: 'rs',
  clientSecret: 'secret',
  timeoutMs,
  maxBytes: 65536,
  store,
});
const refreshKey = () => `ors:pat-refresh:${base}:alice`;

describe('renewal after a 401', () => {
  it('never returns the rejected PAT, even when another call renews (from the shared copy) meanwhile', async () => {
    const pt = new ProtectionToken(settings(new MemoryStore()));
    const rejected = await pt.get();
    // The AS answered 401 to `rejected`; an unrelated protection API call starts at that very moment.
    const [renewed, other] = await Promise.all([pt.renewAfterRejection(rejected), pt.get()]);
    expect(renewed).not.toBe(rejected);
    expect(other).not.toBe(rejected);
    expect(await pt.get()).not.toBe(rejected);
  });
});

describe('per-owner PATs across replicas sharing an atomic store', () => {
  it('two replicas refreshing at once redeem the stored refresh token once and share the PAT', async () => {
    const store = new MemoryStore();
    await storeOwnerAuthorization(store, { issuer: base, owner: 'alice', refreshToken: 'rt-0' });
    const a = new ProtectionToken(settings(store), 'alice');
    const b = new ProtectionToken(settings(store), 'alice');
    const [pa, pb] = await Promise.all([a.get(), b.get()]);
    expect(pa).toBe(pb);
    expect(grants).toEqual([{ grant: 'refresh_token', refresh: 'rt-0', ok: true }]);
    // The rotated refresh token is what is stored, for the next renewal.
    expect(await store.get(refreshKey())).toBe(currentRefresh);
  });

  it('a replica that renews after another rotated the refresh token uses the rotated one', async () => {
    const store = new MemoryStore();
    await storeOwnerAuthorization(store, { issuer: base, owner: 'alice', refreshToken: 'rt-0' });
    const a = new ProtectionToken(settings(store), 'alice');
    const b = new ProtectionToken(settings(store), 'alice');
    const first = await a.get();
    expect(await b.get()).toBe(first); // adopted, nothing redeemed
    const [ra, rb] = await Promise.all([a.renewAfterRejection(first), b.renewAfterRejection(first)]);
    expect(ra).toBe(rb);
    expect(ra).not.toBe(first);
    expect(grants.map((g) => [g.refresh, g.ok])).toEqual([
      ['rt-0', true],
      ['rt-1', true],
    ]);
  });

  it('does not redeem the refresh token while another replica holds its lock', async () => {
    const store = new MemoryStore();
    await storeOwnerAuthorization(store, { issuer: base, owner: 'alice', refreshToken: 'rt-0' });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    // Another replica is redeeming alice's refresh token (and takes longer than this one waits).
    const other = store.withLock(`pat-refresh:${base}:alice`, 60_000, async () => {
      entered();
      await held;
    });
    await inside;
    const pt = new ProtectionToken(settings(store, 100), 'alice');
    await expect(pt.get()).rejects.toBeInstanceOf(LockTimeoutError);
    expect(grants).toHaveLength(0);
    release();
    await other;
  });
});
