/**
 * The kit's view of a configured logger: a logger that throws never breaks what the kit was doing when it logged
 * (an answer to a request, the bookkeeping of an introspection in flight, a recovery), and never turns a 401 or a
 * 503 into a 500. What it throws is dropped: there is nowhere safer to report it.
 */
import type { Logger } from './options.js';

/** Loggers made here: guarding one again changes nothing (options resolved twice keep their logger). */
const made = new WeakSet<Logger>();

/** `logger`, each method guarded; `debug` only when the logger has one (its absence means "compute nothing"). */
export function guardedLogger(logger: Logger): Logger {
  if (made.has(logger)) return logger;
  const guarded: Logger = {
    warn: (message, details) => {
      try {
        logger.warn(message, details);
      } catch {
        // dropped: see above
      }
    },
    error: (message, details) => {
      try {
        logger.error(message, details);
      } catch {
        // dropped: see above
      }
    },
  };
  if (typeof logger.debug === 'function') {
    guarded.debug = (message, details) => {
      try {
        logger.debug!(message, details);
      } catch {
        // dropped: see above
      }
    };
  }
  made.add(guarded);
  return guarded;
}
