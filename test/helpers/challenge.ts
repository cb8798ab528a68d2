/** Reading `WWW-Authenticate` in tests, with the kit's own parser. */
import { expect } from '@jest/globals';
import { parseChallenges } from '../../src/index.js';

/** The one challenge of a `WWW-Authenticate` header, its params as an object and the param names in order. */
export function challengeOf(header: unknown): { scheme: string; params: Record<string, string>; names: string[] } {
  expect(typeof header).toBe('string');
  const challenges = parseChallenges(header as string);
  expect(challenges).toHaveLength(1);
  const c = challenges[0]!;
  return { scheme: c.scheme, params: Object.fromEntries(c.params), names: c.params.map(([n]) => n) };
}
