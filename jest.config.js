/** Jest runs the TypeScript sources as ESM (jose, openid-client and oidc-provider are ESM-only),
 * through ts-jest's ESM preset under `node --experimental-vm-modules` (see package.json "test"). */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The examples import the package by its name, as users do; under jest that name is the sources.
  moduleNameMapper: {
    '^oauth-resource-server$': '<rootDir>/src/index.ts',
    '^oauth-resource-server/testing$': '<rootDir>/src/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
  },
  testTimeout: 20000,
};
