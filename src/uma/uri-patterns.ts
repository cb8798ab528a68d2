/**
 * Express path templates as the URI patterns Keycloak matches resources by (the policy enforcer's paths, and
 * the admin console): a parameter is `{name}`, a wildcard ends the pattern with `*` (`/files/*`), exact
 * segments stay (Keycloak Authorization Services guide, "Policy enforcer" configuration: `path`). Express 4
 * (`:id`, `:id(\\d+)`, `:id?`, `*`) and Express 5 (`:id`, `*splat`, `{/:optional}`, `\\` escapes) templates are
 * read; an optional part gives the pattern with and without it.
 */

type Part = { lit: string } | { param: string } | { wild: true } | { opt: Part[] };

/** At most this many patterns per template (optional parts multiply them). */
const MAX_PATTERNS = 16;
/** Marks where a wildcard ended a pattern while variants are expanded. */
const END = '\u0000';

/** The Keycloak URI patterns of an Express path template. */
export function keycloakUris(template: string): string[] {
  const out: string[] = [];
  for (const v of expand(parse(template, 0)[0])) {
    const cut = v.indexOf(END);
    const pattern = cut === -1 ? v : `${v.slice(0, cut)}*`;
    const p = pattern.startsWith('/') ? pattern : `/${pattern}`;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** The parts of `t` from `i` up to the closing brace (inside an optional group) or the end. */
function parse(t: string, i: number, inGroup = false): [Part[], number] {
  const parts: Part[] = [];
  let lit = '';
  const flush = () => {
    if (lit) parts.push({ lit });
    lit = '';
  };
  while (i < t.length) {
    const c = t[i]!;
    if (c === '\\' && i + 1 < t.length) {
      lit += t[i + 1];
      i += 2;
    } else if (c === '}' && inGroup) {
      flush();
      return [parts, i + 1];
    } else if (c === '{') {
      flush();
      const [inner, next] = parse(t, i + 1, true);
      parts.push({ opt: inner });
      i = next;
    } else if (c === ':' || c === '*') {
      const name = /^(?:"(?:[^"\\]|\\.)*"|[\w$]+)/.exec(t.slice(i + 1))?.[0] ?? '';
      if (c === ':' && !name) {
        lit += c;
        i++;
        continue;
      }
      i += 1 + name.length;
      if (t[i] === '(') i = skipGroup(t, i); // Express 4: a parameter's own regular expression
      if (c === '*' || t[i] === '*' || t[i] === '+') {
        if (c === ':') i++;
        flush();
        parts.push({ wild: true });
      } else if (t[i] === '?') {
        // Express 4 `/:id?`: the segment, slash included, is optional.
        i++;
        const slash = lit.endsWith('/');
        if (slash) lit = lit.slice(0, -1);
        flush();
        parts.push({ opt: [...(slash ? [{ lit: '/' }] : []), { param: paramName(name) }] });
      } else {
        flush();
        parts.push({ param: paramName(name) });
      }
    } else {
      lit += c;
      i++;
    }
  }
  flush();
  return [parts, i];
}

function paramName(raw: string): string {
  return raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
}

/** The index after the parenthesised group starting at `i` (nested groups and escapes counted). */
function skipGroup(t: string, i: number): number {
  let depth = 0;
  for (; i < t.length; i++) {
    if (t[i] === '\\') i++;
    else if (t[i] === '(') depth++;
    else if (t[i] === ')' && --depth === 0) return i + 1;
  }
  return i;
}

/** Every rendering of `parts`, an optional part with and without it. */
function expand(parts: Part[]): string[] {
  let variants = [''];
  const append = (suffix: string) => {
    variants = variants.map((v) => (v.includes(END) ? v : v + suffix));
  };
  for (const p of parts) {
    if ('lit' in p) append(p.lit);
    else if ('param' in p) append(`{${p.param}}`);
    else if ('wild' in p) append(END);
    else {
      const inner = expand(p.opt);
      variants = variants.flatMap((v) => (v.includes(END) ? [v] : [v, ...inner.map((x) => v + x)])).slice(0, MAX_PATTERNS);
    }
  }
  return variants;
}
