/**
 * The small checks every resolve step uses (the core's, DPoP's, UMA's, token profiles'): one wording for every
 * start-up error. A leaf module: the feature resolvers import it without importing each other.
 */
import { ConfigurationError } from '../answers/errors.js';

/** Throw the start-up error for a configuration mistake. */
export function fail(message: string): never {
  throw new ConfigurationError(`oauth-resource-server: ${message}`);
}

/** A positive finite number, or a ConfigurationError naming the option. */
export function positive(n: unknown, name: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) fail(`${name} must be a positive number`);
  return n;
}

/** A non-negative finite number, or a ConfigurationError naming the option. */
export function nonNegative(n: unknown, name: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) fail(`${name} must be a non-negative number`);
  return n;
}
