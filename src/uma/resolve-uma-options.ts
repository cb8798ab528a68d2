/**
 * The one place an UMA registrar's options get their defaults (the values live in `DEFAULTS`, options.ts) and
 * their names checked: the registrar's parts read the resolved options and never default anything themselves.
 */
import { guardedLogger, isLogger } from '../config/guarded-logger.js';
import { DEFAULTS, type Logger } from '../config/options.js';
import { UMA_REGISTRAR_NAMES, unknownOptionName } from '../config/option-names.js';
import { validateIssuerUrl } from '../config/resolve-options.js';
import { fail, nonNegative, positive } from '../config/option-checks.js';
import { isSecureOrLoopback } from '../http/secure-url.js';
import type { CacheStore } from '../stores/store.js';
import { MemoryStore } from '../stores/memory.js';
import type { ResolvedUmaOptions, UmaRegistrarOptions } from './registrar-options.js';

/** What the API's resource server supplies where `umaProtection`'s options say nothing. */
export interface InheritedUmaDefaults {
  /** The resource server's resource identifier. */
  namespace: string;
  /** The resource server's logger. */
  logger: Logger;
  /** The resource server's `http.retryIntervalMs`. */
  retryIntervalMs: number;
}

/** Where the options come from, for messages, and what an enclosing API supplies. */
export interface UmaResolveContext {
  /** How an unknown option name is shown (`UmaRegistrar.timeout`). Default `UmaRegistrar`. */
  label?: string;
  /** Defaults taken from the API's resource server (`umaProtection`). */
  inherited?: InheritedUmaDefaults;
}

/**
 * Apply the defaults and check the option names (a misspelled name would leave a default in force silently) and
 * values (a wrong one would fail every call to the AS later): throws a {@link ConfigurationError} naming the
 * closest known name, or the option and what it takes. Resolving resolved options changes nothing.
 */
export function resolveUmaOptions(options: UmaRegistrarOptions, context: UmaResolveContext = {}): ResolvedUmaOptions {
  const label = context.label ?? 'UmaRegistrar';
  const misnamed = unknownOptionName(options, UMA_REGISTRAR_NAMES, label);
  if (misnamed) fail(misnamed);
  const inherited = context.inherited;
  const reconcileIntervalMs = options.reconcileIntervalMs ?? DEFAULTS.umaReconcileIntervalMs;
  if (reconcileIntervalMs !== false && typeof reconcileIntervalMs !== 'number')
    fail(`${label}.reconcileIntervalMs must be a number of milliseconds or false`);
  const endpoints = options.endpoints ?? {};
  return {
    issuer: validateIssuerUrl(options.issuer, `${label}.issuer`),
    profile: oneOf(options.profile ?? DEFAULTS.umaProfile, PROFILES, `${label}.profile`),
    clientId: nonEmpty(options.clientId, `${label}.clientId`),
    // Required: the PAT is got with the client-credentials grant (UMA FedAuthz §1.3.1).
    clientSecret: nonEmpty(options.clientSecret, `${label}.clientSecret`),
    endpoints: {
      token: endpoint(endpoints.token, `${label}.endpoints.token`),
      resourceRegistration: endpoint(endpoints.resourceRegistration, `${label}.endpoints.resourceRegistration`),
      permission: endpoint(endpoints.permission, `${label}.endpoints.permission`),
    },
    store: store(options.store, `${label}.store`) ?? new MemoryStore(),
    namespace: text(options.namespace ?? inherited?.namespace ?? DEFAULTS.umaNamespace, `${label}.namespace`),
    deleteUndeclared: oneOf(options.deleteUndeclared ?? DEFAULTS.umaDeleteUndeclared, DELETE_POLICIES, `${label}.deleteUndeclared`),
    timeoutMs: positive(options.timeoutMs ?? DEFAULTS.httpTimeoutMs, `${label}.timeoutMs`),
    retryIntervalMs: positive(
      options.retryIntervalMs ?? inherited?.retryIntervalMs ?? DEFAULTS.httpRetryIntervalMs,
      `${label}.retryIntervalMs`,
    ),
    // Any number that is not positive turns the periodic reconcile off, as `false` does.
    reconcileIntervalMs: reconcileIntervalMs === false || !(reconcileIntervalMs > 0) ? false : reconcileIntervalMs,
    registrationWaitMs: nonNegative(options.registrationWaitMs ?? DEFAULTS.umaRegistrationWaitMs, `${label}.registrationWaitMs`),
    maxBytes: positive(options.maxBytes ?? DEFAULTS.httpMaxResponseBytes, `${label}.maxBytes`),
    // `false` silences; a bare registrar without a logger is silent too.
    logger: logger(options.logger ?? inherited?.logger, `${label}.logger`) || undefined,
  };
}

const PROFILES = ['uma2', 'keycloak', 'uma1'] as const;
const DELETE_POLICIES = ['managed', 'none'] as const;

function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    const list = allowed.map((a) => `"${a}"`);
    fail(`${name} must be ${list.slice(0, -1).join(', ')} or ${list.at(-1)!}`);
  }
  return value as T;
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string') fail(`${name} must be a string`);
  return value;
}

function nonEmpty(value: unknown, name: string): string {
  if (typeof value !== 'string' || !value) fail(`${name} is required (a non-empty string)`);
  return value;
}

/** An endpoint given instead of discovered: the PAT request sends the client's secret there, so https. */
function endpoint(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url) fail(`${name} must be an absolute URL`);
  if (!isSecureOrLoopback(url)) fail(`${name} must use https (http is allowed only on loopback)`);
  if (url.hash || url.username || url.password) fail(`${name} must have no fragment or credentials`);
  return value as string;
}

function store(value: unknown, name: string): CacheStore | undefined {
  if (value === undefined) return undefined;
  const s = value as Partial<Record<keyof CacheStore, unknown>> | null;
  if (!s || typeof s !== 'object' || typeof s.get !== 'function' || typeof s.set !== 'function' || typeof s.delete !== 'function')
    fail(`${name} must be a store (get, set and delete methods: a MemoryStore, FileStore or RedisStore)`);
  return value as CacheStore;
}

function logger(value: unknown, name: string): Logger | false | undefined {
  if (value === undefined || value === false) return value;
  if (!isLogger(value)) fail(`${name} must be false or a logger (warn and error methods)`);
  return guardedLogger(value);
}
