/**
 * docs/conformance.md lists every rule with the tests that name it; it must say what the tests say today, and
 * every rule must have a test (scripts/conformance.mjs --check).
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';

describe('docs/conformance.md', () => {
  it('is current with the tests that name each rule, and no rule is without a test', () => {
    const r = spawnSync(process.execPath, ['scripts/conformance.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
