/**
 * `WWW-Authenticate` challenges: a writer that always produces valid RFC 9110 §11.6.1 syntax with the
 * value rules of RFC 6750 §3, and a parser (for tests, and for reading challenges of other servers).
 */

/** One challenge: a scheme and its auth-params, in order. */
export interface Challenge {
  scheme: string;
  params: Array<[name: string, value: string]>;
  /** A token68 instead of params (rare; e.g. `Negotiate <blob>`). */
  token68?: string;
}

// RFC 6750 §3: error and error_description are %x20-21 / %x23-5B / %x5D-7E (printable ASCII without " and \).
const NOT_DESCRIPTION_CHAR = /[^\x20\x21\x23-\x5B\x5D-\x7E]/g;
// RFC 6750 §3: scope-token = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Whether a string may be used as an RFC 6750 scope token. */
export function isScopeToken(text: string): boolean {
  return SCOPE_TOKEN.test(text);
}

/** Make any text a legal `error_description` (RFC 6750 §3): disallowed characters become spaces. */
export function sanitizeDescription(text: string): string {
  return text.replace(NOT_DESCRIPTION_CHAR, ' ');
}

function quote(value: string): string {
  // quoted-string (RFC 9110 §5.6.4); control characters are not allowed at all, so drop them.
  return `"${value.replace(/[\x00-\x1F\x7F]/g, ' ').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Serialize one challenge. Every param value is written as a quoted-string. */
export function formatChallenge(challenge: Challenge): string {
  if (challenge.token68 !== undefined) return `${challenge.scheme} ${challenge.token68}`;
  if (challenge.params.length === 0) return challenge.scheme;
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const [name, value] of challenge.params) {
    const key = name.toLowerCase();
    // RFC 6750 §3 / RFC 9110 §11.2: each parameter at most once.
    if (seen.has(key)) continue;
    seen.add(key);
    const v = key === 'error_description' || key === 'error' ? sanitizeDescription(value) : value;
    parts.push(`${name}=${quote(v)}`);
  }
  return `${challenge.scheme} ${parts.join(', ')}`;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parse a `WWW-Authenticate` value (several challenges may be comma-joined, RFC 9110 §11.6.1).
 * Throws `SyntaxError` on malformed input.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const ws = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TCHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const quoted = (): string => {
    if (header[i] !== '"') throw new SyntaxError(`expected '"' at ${i}`);
    i++;
    let s = '';
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\') i++;
      if (i >= n) break;
      s += header[i];
      i++;
    }
    if (header[i] !== '"') throw new SyntaxError('unterminated quoted-string');
    i++;
    return s;
  };
  let current: Challenge | undefined;
  while (i < n) {
    ws();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const name = token();
    if (!name) throw new SyntaxError(`unexpected character at ${i}`);
    ws();
    if (header[i] === '=' && current) {
      // An auth-param of the current challenge, unless it is a token68 ending in '='.
      i++;
      ws();
      const value = header[i] === '"' ? quoted() : token();
      current.params.push([name.toLowerCase(), value]);
      ws();
      if (i < n && header[i] !== ',') throw new SyntaxError(`expected ',' at ${i}`);
      continue;
    }
    // A new challenge: scheme [ 1*SP ( token68 / #auth-param ) ]
    i = start + name.length;
    current = { scheme: name, params: [] };
    out.push(current);
    ws();
    // "Scheme token68": a token68 is followed by the end or a comma, never by a param value.
    const m = /^[A-Za-z0-9\-._~+/]+=*(?=[ \t]*(?:,|$))/.exec(header.slice(i));
    if (m) {
      current.token68 = m[0];
      i += m[0].length;
    }
  }
  return out;
}
