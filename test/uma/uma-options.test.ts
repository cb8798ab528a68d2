/**
 * The options of an UMA registrar and of umaProtection are resolved in one place: every default comes from
 * DEFAULTS, umaProtection fills what it leaves out from its resource server, and a misspelled option name is a
 * ConfigurationError naming the closest known one (it would otherwise leave a default in force silently).
 */
import { describe, expect, it } from '@jest/globals';
import { ConfigurationError, DEFAULTS, MemoryStore, ResourceServer, UmaRegistrar, umaProtection } from '../../src/index.js';
import type { UmaProtectionOptions, UmaRegistrarOptions } from '../../src/index.js';
import { resolveUmaOptions } from '../../src/uma/resolve-uma-options.js';

const ISSUER = 'https://as.example.com';
const base = { issuer: ISSUER, clientId: 'rs', clientSecret: 'secret' };
const lines: string[] = [];
const logger = { warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
/** The resolved logger is the given one, guarded (a throwing logger breaks nothing): it forwards to it. */
const forwardsTo = (resolved: { logger?: { warn(m: string): void } | undefined }) => {
  lines.length = 0;
  resolved.logger!.warn('probe');
  return lines.join();
};
const server = () => new ResourceServer({ issuer: ISSUER, resource: 'https://api.example.com', logger: false });

function messageOf(build: () => unknown): string {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as Error).message;
  }
  throw new Error('no ConfigurationError');
}

describe('resolveUmaOptions', () => {
  it('applies every default from DEFAULTS', () => {
    const resolved = resolveUmaOptions(base);
    expect(resolved).toMatchObject({
      ...base,
      profile: DEFAULTS.umaProfile,
      endpoints: { token: undefined, resourceRegistration: undefined, permission: undefined },
      namespace: DEFAULTS.umaNamespace,
      deleteUndeclared: DEFAULTS.umaDeleteUndeclared,
      timeoutMs: DEFAULTS.httpTimeoutMs,
      retryIntervalMs: DEFAULTS.httpRetryIntervalMs,
      reconcileIntervalMs: DEFAULTS.umaReconcileIntervalMs,
      registrationWaitMs: DEFAULTS.umaRegistrationWaitMs,
      maxBytes: DEFAULTS.httpMaxResponseBytes,
      logger: undefined,
    });
    expect(resolved.store).toBeInstanceOf(MemoryStore);
  });

  it('keeps what the options say, and resolving resolved options changes nothing', () => {
    const store = new MemoryStore();
    const given: UmaRegistrarOptions = {
      ...base,
      profile: 'keycloak',
      endpoints: { token: `${ISSUER}/token` },
      store,
      namespace: 'photos',
      deleteUndeclared: 'none',
      timeoutMs: 100,
      retryIntervalMs: 200,
      reconcileIntervalMs: 300,
      registrationWaitMs: 400,
      maxBytes: 500,
      logger,
    };
    const resolved = resolveUmaOptions(given);
    expect(resolved).toEqual({
      ...given,
      logger: expect.any(Object),
      endpoints: { token: `${ISSUER}/token`, resourceRegistration: undefined, permission: undefined },
    });
    expect(forwardsTo(resolved)).toBe('probe');
    expect(resolved.store).toBe(store);
    expect(resolveUmaOptions(resolved)).toEqual(resolved);
  });

  it('takes what the resource server supplies only where the options say nothing; `logger: false` stays silent', () => {
    const inherited = { namespace: 'https://api.example.com', logger, retryIntervalMs: 250 };
    const taken = resolveUmaOptions(base, { inherited });
    expect(taken).toMatchObject({ namespace: inherited.namespace, retryIntervalMs: inherited.retryIntervalMs });
    expect(forwardsTo(taken)).toBe('probe');
    const own = resolveUmaOptions({ ...base, namespace: 'mine', retryIntervalMs: 50, logger: false }, { inherited });
    expect(own).toMatchObject({ namespace: 'mine', retryIntervalMs: 50, logger: undefined });
  });

  it.each([false, 0, -5, Number.NaN] as const)('reconcileIntervalMs %p turns the periodic reconcile off', (interval) => {
    expect(resolveUmaOptions({ ...base, reconcileIntervalMs: interval }).reconcileIntervalMs).toBe(false);
  });
});

describe('UMA option values', () => {
  it.each([
    [{ profile: 'uma3' }, 'UmaRegistrar.profile must be "uma2", "keycloak" or "uma1"'],
    [{ deleteUndeclared: 'all' }, 'UmaRegistrar.deleteUndeclared must be "managed" or "none"'],
    [{ timeoutMs: 'x' }, 'UmaRegistrar.timeoutMs must be a positive number'],
    [{ timeoutMs: 0 }, 'UmaRegistrar.timeoutMs must be a positive number'],
    [{ maxBytes: Number.POSITIVE_INFINITY }, 'UmaRegistrar.maxBytes must be a positive number'],
    [{ retryIntervalMs: -1 }, 'UmaRegistrar.retryIntervalMs must be a positive number'],
    [{ registrationWaitMs: -1 }, 'UmaRegistrar.registrationWaitMs must be a non-negative number'],
    [{ reconcileIntervalMs: '600000' }, 'UmaRegistrar.reconcileIntervalMs must be a number of milliseconds or false'],
    [{ clientSecret: undefined }, 'UmaRegistrar.clientSecret is required (a non-empty string)'],
    [{ clientSecret: '' }, 'UmaRegistrar.clientSecret is required (a non-empty string)'],
    [{ clientId: undefined }, 'UmaRegistrar.clientId is required (a non-empty string)'],
    [{ issuer: undefined }, 'UmaRegistrar.issuer must be a non-empty string'],
    [{ issuer: 'http://as.example.com' }, 'UmaRegistrar.issuer "http://as.example.com/" must use https'],
    [{ endpoints: { token: 'http://as.example.com/token' } }, 'UmaRegistrar.endpoints.token must use https'],
    [{ endpoints: { permission: 'perm' } }, 'UmaRegistrar.endpoints.permission must be an absolute URL'],
    [{ namespace: 7 }, 'UmaRegistrar.namespace must be a string'],
    [{ store: {} }, 'UmaRegistrar.store must be a store'],
    [{ logger: true }, 'UmaRegistrar.logger must be false or a logger'],
  ])('new UmaRegistrar with %p is refused: %s', (extra, expected) => {
    const message = messageOf(() => new UmaRegistrar({ ...base, ...extra } as UmaRegistrarOptions));
    expect(message).toContain(`oauth-resource-server: ${expected}`);
  });

  it('umaProtection names its own options the same way', () => {
    const options = { resourceServer: server(), ...base, profile: 'uma3', logger: false } as unknown as UmaProtectionOptions;
    expect(messageOf(() => umaProtection(options))).toBe(
      'oauth-resource-server: umaProtection.profile must be "uma2", "keycloak" or "uma1"',
    );
    const noSecret = { resourceServer: server(), issuer: ISSUER, clientId: 'rs', logger: false } as UmaProtectionOptions;
    expect(messageOf(() => umaProtection(noSecret))).toBe(
      'oauth-resource-server: umaProtection.clientSecret is required (a non-empty string)',
    );
  });

  it('accepts loopback http for the issuer and endpoints (development), and 0 for registrationWaitMs', () => {
    const local = 'http://127.0.0.1:8080';
    const resolved = resolveUmaOptions({ ...base, issuer: local, endpoints: { token: `${local}/token` }, registrationWaitMs: 0 });
    expect(resolved).toMatchObject({ issuer: local, endpoints: { token: `${local}/token` }, registrationWaitMs: 0 });
  });
});

describe('unknown UMA option names', () => {
  it.each([
    [{ ...base, timeout: 1000 }, '"UmaRegistrar.timeout": did you mean "UmaRegistrar.timeoutMs"?'],
    [{ ...base, reconcileInterval: 1000 }, '"UmaRegistrar.reconcileInterval": did you mean "UmaRegistrar.reconcileIntervalMs"?'],
    [
      { ...base, endpoints: { permision: `${ISSUER}/perm` } },
      '"UmaRegistrar.endpoints.permision": did you mean "UmaRegistrar.endpoints.permission"?',
    ],
  ])('new UmaRegistrar(%j) is refused: %s', (options, expected) => {
    expect(messageOf(() => new UmaRegistrar(options as UmaRegistrarOptions))).toContain(`unknown option ${expected}`);
  });

  it.each([
    [{ namePrefx: 'photos' }, '"umaProtection.namePrefx": did you mean "umaProtection.namePrefix"?'],
    [{ realms: 'photos' }, '"umaProtection.realms": did you mean "umaProtection.realm"?'],
    [{ registrationWait: 10 }, '"umaProtection.registrationWait": did you mean "umaProtection.registrationWaitMs"?'],
    [{ endpoints: { tokn: `${ISSUER}/token` } }, '"umaProtection.endpoints.tokn": did you mean "umaProtection.endpoints.token"?'],
  ])('umaProtection with %j is refused: %s', (extra, expected) => {
    const options = { resourceServer: server(), ...base, logger: false, ...extra } as UmaProtectionOptions;
    expect(messageOf(() => umaProtection(options))).toContain(`unknown option ${expected}`);
  });

  it("an UMA option is never mistaken for express-oauth2-jwt-bearer's option of the same name", () => {
    const message = messageOf(() => umaProtection({ resourceServer: server(), ...base, secret: 'x' } as UmaProtectionOptions));
    expect(message).toContain('unknown option "umaProtection.secret"');
    expect(message).not.toContain('express-oauth2-jwt-bearer');
  });

  it('every documented name is accepted, and objects of the user (stores, loggers) are not looked into', () => {
    class Store extends MemoryStore {
      extra = 1;
    }
    const every: Required<UmaProtectionOptions> = {
      resourceServer: server(),
      realm: 'photos',
      namePrefix: 'photos',
      type: 'album',
      mountPath: '/api',
      ...base,
      profile: 'uma2',
      endpoints: { token: `${ISSUER}/token`, resourceRegistration: `${ISSUER}/rreg`, permission: `${ISSUER}/perm` },
      store: new Store(),
      namespace: 'photos',
      deleteUndeclared: 'managed',
      timeoutMs: 1000,
      retryIntervalMs: 1000,
      reconcileIntervalMs: false,
      registrationWaitMs: 1000,
      maxBytes: 1000,
      logger: { ...logger, custom: true } as never,
    };
    expect(() => umaProtection(every)).not.toThrow();
    const { resourceServer: _server, realm: _realm, namePrefix: _prefix, type: _type, mountPath: _mount, ...registrar } = every;
    expect(() => new UmaRegistrar(registrar)).not.toThrow();
  });
});
