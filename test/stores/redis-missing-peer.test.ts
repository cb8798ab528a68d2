/**
 * Without the optional peer ioredis, RedisStore.connect says how to install it: as a dependency (`npm install
 * ioredis`), since the store is used at run time; oidc-provider (the development AS, for tests) stays a dev
 * dependency. ioredis is made missing by a module mock that fails as Node does for an absent package.
 */
import { describe, expect, it, jest } from '@jest/globals';

jest.unstable_mockModule('ioredis', () => {
  throw Object.assign(new Error("Cannot find package 'ioredis' imported from /app/node_modules/oauth-resource-server"), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
});

const { ConfigurationError, RedisStore } = await import('../../src/index.js');
const { missingPeerError } = await import('../../src/peers/missing-peer.js');

describe('a missing optional peer names the install command that fits it', () => {
  it('RedisStore.connect without ioredis: a ConfigurationError saying npm install ioredis (a run-time dependency, not --save-dev)', async () => {
    const err = await RedisStore.connect('redis://127.0.0.1:6379').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe(
      'RedisStore.connect needs the optional peer dependency ioredis, which is not installed: npm install ioredis',
    );
  });

  it('oidc-provider (the development authorization server, for tests) stays a dev dependency', () => {
    expect(missingPeerError('oidc-provider', 'startDevAuthorizationServer').message).toMatch(/: npm install --save-dev oidc-provider$/);
  });
});
