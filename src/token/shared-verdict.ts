/**
 * The form in which introspection verdicts are shared between replicas through a CacheStore (see
 * verifier.ts): what is written, and what is believed when read back.
 */
/**
 * A verdict as replicas share it: an active answer, until when it is fresh and when it was obtained (`atMs`, so
 * that a replica that forgot the issuer since does not believe it), or a refusal and its end.
 */
export type SharedVerdict = { answer: Record<string, unknown>; freshUntilMs: number; atMs: number } | { refusal: string; untilMs: number };

/** A stored verdict, or undefined for anything else (the store is not trusted to hold what was written). */
export function parseSharedVerdict(raw: string): SharedVerdict | undefined {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (typeof v.refusal === 'string') return { refusal: v.refusal, untilMs: typeof v.untilMs === 'number' ? v.untilMs : 0 };
    if (v.answer && typeof v.answer === 'object' && typeof v.freshUntilMs === 'number') {
      // Written by a version without `atMs`: as old as can be (believed only for configured issuers).
      return {
        answer: v.answer as Record<string, unknown>,
        freshUntilMs: v.freshUntilMs,
        atMs: typeof v.atMs === 'number' ? v.atMs : -Infinity,
      };
    }
  } catch {
    // a corrupt entry is ignored
  }
  return undefined;
}
