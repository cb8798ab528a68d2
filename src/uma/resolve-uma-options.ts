/**
 * The one place an UMA registrar's options get their defaults (the values live in `DEFAULTS`, options.ts) and
 * their names checked: the registrar's parts read the resolved options and never default anything themselves.
 */
import { ConfigurationError } from '../answers/errors.js';
import { DEFAULTS, type Logger } from '../config/options.js';
import { UMA_REGISTRAR_NAMES, unknownOptionName } from '../config/option-names.js';
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
 * Apply the defaults and check the option names (a misspelled name would leave a default in force silently):
 * throws a {@link ConfigurationError} naming the closest known name. Resolving resolved options changes nothing.
 */
export function resolveUmaOptions(options: UmaRegistrarOptions, context: UmaResolveContext = {}): ResolvedUmaOptions {
  const misnamed = unknownOptionName(options, UMA_REGISTRAR_NAMES, context.label ?? 'UmaRegistrar');
  if (misnamed) throw new ConfigurationError(`oauth-resource-server: ${misnamed}`);
  const inherited = context.inherited;
  const reconcileIntervalMs = options.reconcileIntervalMs ?? DEFAULTS.umaReconcileIntervalMs;
  return {
    issuer: options.issuer,
    profile: options.profile ?? DEFAULTS.umaProfile,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    endpoints: {
      token: options.endpoints?.token,
      resourceRegistration: options.endpoints?.resourceRegistration,
      permission: options.endpoints?.permission,
    },
    store: options.store ?? new MemoryStore(),
    namespace: options.namespace ?? inherited?.namespace ?? DEFAULTS.umaNamespace,
    deleteUndeclared: options.deleteUndeclared ?? DEFAULTS.umaDeleteUndeclared,
    timeoutMs: options.timeoutMs ?? DEFAULTS.httpTimeoutMs,
    retryIntervalMs: options.retryIntervalMs ?? inherited?.retryIntervalMs ?? DEFAULTS.httpRetryIntervalMs,
    // Anything but a positive number turns the periodic reconcile off, as `false` does.
    reconcileIntervalMs: reconcileIntervalMs === false || !(reconcileIntervalMs > 0) ? false : reconcileIntervalMs,
    registrationWaitMs: options.registrationWaitMs ?? DEFAULTS.umaRegistrationWaitMs,
    maxBytes: options.maxBytes ?? DEFAULTS.httpMaxResponseBytes,
    // `false` silences; a bare registrar without a logger is silent too.
    logger: (options.logger ?? inherited?.logger) || undefined,
  };
}
