/**
 * The kit's view of a configured logger: a logger that throws (or returns a promise that rejects) never breaks what
 * the kit was doing when it logged (an answer to a request, the bookkeeping of an introspection in flight, a
 * recovery), and never turns a 401 or a 503 into a 500. What it throws is dropped: there is nowhere safer to report it.
 */
import type { Logger } from './options.js';

type Line = (message: string, details?: Record<string, unknown>) => void;

/** Loggers made here (or known to be safe): guarding one again changes nothing. */
const made = new WeakSet<Logger>();

/**
 * Whether `value` can serve as a logger: an object (or a callable, as some logging libraries make them) with `warn`
 * and `error` methods. Checked when options are resolved: a guarded call of a missing method would drop every line.
 */
export function isLogger(value: unknown): value is Logger {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const l = value as Partial<Record<keyof Logger, unknown>>;
  try {
    return typeof l.warn === 'function' && typeof l.error === 'function';
  } catch {
    return false; // a getter that throws: no logger (a ConfigurationError for the caller), not a raw error
  }
}

/** Mark a logger of the kit's own as safe as it is (the console's, the silent one). */
export function safeLogger(logger: Logger): Logger {
  made.add(logger);
  return logger;
}

/** `logger`, each method guarded; `debug` only when the logger has one (its absence means "compute nothing"). */
export function guardedLogger(logger: Logger): Logger {
  if (made.has(logger)) return logger;
  const guarded: Logger = { warn: guard(logger, 'warn')!, error: guard(logger, 'error')! };
  const debug = guard(logger, 'debug');
  if (debug) guarded.debug = debug;
  made.add(guarded);
  return guarded;
}

function guard(logger: Logger, level: keyof Logger): Line | undefined {
  if (typeof logger[level] !== 'function') return undefined;
  return (message, details) => {
    try {
      // A line without details is passed on without them: `console.warn(message, undefined)` prints "undefined".
      const result: unknown = details === undefined ? logger[level]!(message) : logger[level]!(message, details);
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        (result as Promise<unknown>).then(undefined, () => undefined);
      }
    } catch {
      // dropped: see above
    }
  };
}
