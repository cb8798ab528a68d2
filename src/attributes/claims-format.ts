/**
 * The answer formats of an attribute provider's claims endpoint, and how a request's `Accept` header chooses
 * among those offered.
 */

/** The answer formats of the claims endpoint. */
export type ClaimsFormat = 'jwt' | 'json';

/**
 * The format an `Accept` header prefers among those offered: `application/jwt` and `application/json` by their
 * q-values (ties go to the earlier in the header). A header that names neither (no header, a wildcard, `text/html`)
 * gets the default (the first offered); one that refuses the default with `q=0` (RFC 9110 §12.4.2: not
 * acceptable) gets the other unless it refuses that too. Never a 406: RFC 9110 §12.5.1 lets the server answer
 * in its default format instead.
 */
export function negotiateClaimsFormat(accept: string | undefined, formats: readonly ClaimsFormat[]): ClaimsFormat {
  const fallback = formats[0] ?? 'json';
  if (!accept || formats.length < 2) return fallback;
  let best = fallback;
  let bestQ = 0;
  const refused = new Set<ClaimsFormat>();
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const format = type === 'application/jwt' ? 'jwt' : type === 'application/json' ? 'json' : undefined;
    if (!format || !formats.includes(format)) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (q === 0) refused.add(format);
    if (Number.isFinite(q) && q > bestQ) {
      best = format;
      bestQ = q;
    }
  }
  if (bestQ === 0 && refused.has(fallback)) return formats.find((f) => !refused.has(f)) ?? fallback;
  return best;
}
