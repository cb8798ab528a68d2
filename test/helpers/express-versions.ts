/** Express 4 and Express 5, so every Express-layer test runs on both. */
import express5 from 'express';
// @ts-expect-error express4 is an npm alias of express@4 with no types of its own; its API is Express 4's.
import express4 from 'express4';

export type ExpressFactory = typeof express5;

export const EXPRESS_VERSIONS: Array<[name: string, factory: ExpressFactory]> = [
  ['express 5', express5],
  ['express 4', express4 as ExpressFactory],
];
