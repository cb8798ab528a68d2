/** Duplicate member names in JSON texts (src/http/json-members.ts): what an introspection answer must not have. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { hasDuplicateMemberNames } from '../../src/http/json-members.js';

describe('hasDuplicateMemberNames', () => {
  it.each([
    ['{"a":1,"a":2}', true],
    ['{"a":{"b":1,"b":2}}', true],
    ['{"active":false,"\\u0061ctive":true}', true],
    ['{"a":"}","a":1}', true],
    ['{"a":[{"b":1}],"a":0}', true],
    ['{"x":[1,{"y":1,"y":1}]}', true],
    ['{"a":1,"b":{"a":2}}', false],
    ['{"a":[{"b":1},{"b":2}]}', false],
    ['{"a":"x\\",\\"a\\":1","b":2}', false],
    ['["a","a",{"a":1}]', false],
    ['{"a\\\\":1,"a":2}', false],
    ['{}', false],
    ['"a"', false],
  ])('%s: %s', (text, expected) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(hasDuplicateMemberNames(text)).toBe(expected);
  });

  it('finds none in any text JSON.stringify writes, and finds a member written twice at any depth', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (value, name) => {
        const text = JSON.stringify(value);
        expect(hasDuplicateMemberNames(text)).toBe(false);
        // The same name twice in one object, around any value: at the top and nested in an array and an object.
        const twice = `{${JSON.stringify(name)}:${text},${JSON.stringify(name)}:null}`;
        expect(hasDuplicateMemberNames(twice)).toBe(true);
        expect(hasDuplicateMemberNames(`[${text},{"k":${twice}}]`)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
