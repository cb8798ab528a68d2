// `node --import ./test/helpers/ts-register.mjs child.ts`: run TypeScript sources in a child process (ts-hooks.mjs).
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
