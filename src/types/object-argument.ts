/**
 * The kit's API moved from positional arguments to option objects. A JavaScript caller of a former positional
 * form would otherwise read `undefined` members and go on silently (a refresh token stored under
 * `…:undefined:undefined`, an error without a code): it gets a TypeError naming the new form instead.
 */

/** Throw a TypeError `${form}: ${what} must be an object` unless `value` is a (non-array) object. */
export function requireObjectArgument(value: unknown, form: string, what: string): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${form}: ${what} must be an object`);
}
