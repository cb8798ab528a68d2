/** The JSON-file store: survives a restart, honours TTLs, writes atomically and privately. */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ors-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FileStore', () => {
  it('keeps values across instances (a restart), readable only by the owner', async () => {
    const path = join(dir, 'a', 'state.json');
    await new FileStore(path).set('k', 'v', 60_000);
    expect(await new FileStore(path).get('k')).toBe('v');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('forgets values past their TTL and on delete', async () => {
    const s = new FileStore(join(dir, 'b.json'));
    await s.set('short', 'x', 1);
    await s.set('long', 'y', 60_000);
    await new Promise((r) => setTimeout(r, 5));
    expect(await s.get('short')).toBeUndefined();
    await s.delete('long');
    expect(await new FileStore(join(dir, 'b.json')).get('long')).toBeUndefined();
  });

  it('stores nothing for a TTL of 0 or less (the CacheStore contract) and drops what was there', async () => {
    const s = new FileStore(join(dir, 'zero.json'));
    await s.set('k', 'v', 60_000);
    await s.set('k', 'w', 0);
    await s.set('n', 'x', -5);
    expect(await s.get('k')).toBeUndefined();
    expect(await new FileStore(join(dir, 'zero.json')).get('n')).toBeUndefined();
  });

  it('loses no write when two instances on one path write at once (they share one file state)', async () => {
    const path = join(dir, 'two.json');
    const [a, b] = [new FileStore(path), new FileStore(path)];
    await a.get('warm'); // both have read the (empty) file before writing
    await b.get('warm');
    await Promise.all([a.set('from-a', '1', 60_000), b.set('from-b', '2', 60_000)]);
    const fresh = await import('node:fs').then((fs) => JSON.parse(fs.readFileSync(path, 'utf8')) as Record<string, unknown>);
    expect(Object.keys(fresh).sort()).toEqual(['from-a', 'from-b']);
  });

  it('serialises concurrent writes and leaves no temporary files', async () => {
    const path = join(dir, 'c.json');
    const s = new FileStore(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.set(`k${i}`, String(i), 60_000)));
    const again = new FileStore(path);
    expect(await again.get('k49')).toBe('49');
    expect(await again.get('k0')).toBe('0');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
