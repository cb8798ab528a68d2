/**
 * RFC 8707 / RFC 9068 §4: the token's `aud` must contain an identifier of this resource server. The
 * comparison is on whole strings (RFC 9728 §6: code-point equality, no normalisation); the optional
 * path mode only adds exact strings of path-segment ancestors, so it is never a substring match.
 */
export class AudienceMatcher {
  /** The identifiers this matcher accepts as they were configured or derived. */
  readonly identifiers: readonly string[];
  readonly #accepted: ReadonlySet<string>;

  constructor(identifiers: readonly string[], mode: 'exact' | 'path') {
    this.identifiers = identifiers;
    const accepted = new Set(identifiers);
    if (mode === 'path') for (const id of identifiers) for (const a of pathAncestors(id)) accepted.add(a);
    this.#accepted = accepted;
  }

  /** Whether an `aud` claim (string or array, already normalised to an array) names this resource. */
  matches(audience: readonly string[]): boolean {
    for (const a of audience) if (this.#accepted.has(a)) return true;
    return false;
  }
}

/** `https://h/a/b` → `https://h/a/b/`, `https://h/a`, `https://h/a/`, `https://h`, `https://h/`. */
function pathAncestors(id: string): string[] {
  let url: URL;
  try {
    url = new URL(id);
  } catch {
    return [];
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return [];
  const pathStart = id.indexOf('/', id.indexOf('//') + 2);
  const origin = pathStart === -1 ? id : id.slice(0, pathStart);
  const path = id.slice(origin.length).split(/[?#]/)[0] ?? '';
  const segments = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = segments.length; i >= 0; i--) {
    const p = segments.slice(0, i).join('/');
    const base = p ? `${origin}/${p}` : origin;
    out.push(base, `${base}/`);
  }
  return out;
}
