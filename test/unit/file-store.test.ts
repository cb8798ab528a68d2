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
