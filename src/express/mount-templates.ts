/**
 * The path templates of an Express mount (`app.use(path, router)`), read from the layer Express built, for
 * Express 5 (router 2 keeps the path as given) and Express 4 (only a regular expression compiled by
 * path-to-regexp 0.1 is kept, which is read back here for the shapes that compiler writes).
 */

/**
 * One step of Express's dispatch, done with the layer's own matcher: the part of the path the layer matches
 * (what Express removes from the URL and adds to `req.baseUrl`), or undefined when it does not match. `dot`:
 * Express 4 also accepts a `.` right after a mount's match.
 */
export interface Step {
  match(path: string): string | undefined;
  dot: boolean;
}

/** A template as far as it can be read: undefined where it is not a string template (a regular expression). */
export interface MountTemplate {
  template: string | undefined;
  /** What was declared, for messages. */
  display: string;
  /** The layer's own matcher for this element; undefined where Express's layer has none the kit can use. */
  step?: Step;
}

/** @internal The parts of an Express 4 or 5 layer the kit reads. */
export interface MountLayer {
  rawPath?: unknown;
  regexp?: RegExp & { fast_slash?: boolean };
  keys?: Array<{ name: string | number }>;
  /** Express 5 (router 2): one matcher per path element. */
  matchers?: Array<(path: string) => false | { path: string }>;
  /** Express 5: a `/` mount (every path, nothing removed). */
  slash?: boolean;
}

/** The templates a mount layer matches: one, or one per element of an array mount, each with its step. */
export function mountTemplates(layer: MountLayer): MountTemplate[] {
  const raw = layer.rawPath;
  let out: MountTemplate[];
  if (typeof raw === 'string') out = [fromString(raw)];
  else if (Array.isArray(raw))
    out = (raw as unknown[]).map((p) => (typeof p === 'string' ? fromString(p) : { template: undefined, display: String(p) }));
  else if (raw instanceof RegExp) out = [{ template: undefined, display: String(raw) }];
  else if (!layer.regexp) out = [{ template: undefined, display: '(unknown mount)' }];
  else if (layer.regexp.fast_slash) out = [{ template: '', display: '' }];
  else
    out = readExpress4(
      layer.regexp.source,
      (layer.keys ?? []).map((k) => String(k.name)),
    );
  const steps = layerSteps(layer, out.length);
  return out.map((t, i) => ({ ...t, step: steps[i] }));
}

/**
 * The layer's own matchers, one per path element (`count` of them): Express 5 keeps one per element; Express 4
 * one regular expression whose alternatives are the elements' (when the alternatives cannot be told apart, the
 * whole expression stands for each element, which can only make more places fit).
 */
export function layerSteps(layer: MountLayer, count: number): Array<Step | undefined> {
  if (Array.isArray(layer.matchers)) {
    return Array.from({ length: count }, (_, i) => {
      const m = layer.matchers![i];
      if (layer.slash) return { match: () => '', dot: false };
      if (typeof m !== 'function') return undefined;
      return {
        match: (p: string) => {
          try {
            const r = m(p);
            return r ? r.path : undefined;
          } catch {
            return undefined; // a malformed %-escape: Express answered 400 itself
          }
        },
        dot: false,
      };
    });
  }
  const re = layer.regexp;
  if (!re) return Array.from({ length: count }, () => undefined);
  if (re.fast_slash) return Array.from({ length: count }, () => ({ match: () => '', dot: true }));
  const alts = splitTop(re.source);
  const one = (rx: RegExp): Step => ({ match: (p: string) => rx.exec(p)?.[0], dot: true });
  if (alts.length !== count) return Array.from({ length: count }, () => one(re));
  return alts.map((a) => {
    try {
      return one(new RegExp(a, re.flags.replace(/[gy]/g, '')));
    } catch {
      return one(re);
    }
  });
}

function fromString(p: string): MountTemplate {
  return { template: p === '/' ? '' : p, display: p };
}

/**
 * path-to-regexp 0.1 (Express 4) writes `^` + the path + `\/?(?=\/|$)`, with `/` and `.` escaped, `/:name` as
 * `(?:\/([^/]+?))`, `/:name(re)` as `(?:\/(re))`, `/:name?` with a `?` after the group, `*` as `(.*)`, and an
 * array as its elements' expressions joined by `|`. Anything else (an unescaped `+`, `?`, a class) came from a
 * regular expression or a pattern this reader does not know: no template.
 */
function readExpress4(source: string, keys: string[]): MountTemplate[] {
  const out: MountTemplate[] = [];
  let k = 0;
  for (const alt of splitTop(source)) {
    const read = readOne(alt, () => keys[k++] ?? String(k));
    out.push(read === undefined ? { template: undefined, display: `/${alt}/` } : { template: read, display: read || '/' });
  }
  return out;
}

/** Split a source at its top-level `|` (outside groups and classes). */
function splitTop(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(source.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(source.slice(start));
  return parts;
}

/** The index after the group that opens at `open` (a `(`), or -1. */
function closeOf(s: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

function readOne(alt: string, nextKey: () => string): string | undefined {
  const END = '\\/?(?=\\/|$)';
  if (!alt.startsWith('^') || !alt.endsWith(END)) return undefined;
  const source = alt.slice(1, -END.length);
  let out = '';
  for (let i = 0; i < source.length;) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined; // \d, \w: a class, not a literal
      out += next;
      i += 2;
    } else if (source.startsWith('(?:', i)) {
      // A parameter: (?:\/(re)) or (?:(re)) inside a segment, optionally followed by `?`.
      const end = closeOf(source, i);
      if (end < 0) return undefined;
      const body = source.slice(i + 3, end - 1);
      const slash = body.startsWith('\\/');
      const inner = slash ? body.slice(2) : body;
      if (!inner.startsWith('(') || closeOf(inner, 0) !== inner.length) return undefined;
      const re = inner.slice(1, -1);
      const name = nextKey();
      const optional = source[end] === '?';
      const custom = re === '[^/]+?' || re === '[^\\/]+?' || re === '(?:(?!\\/|-).)+?' || re === '(?:(?!\\/|\\.).)+?' ? '' : `(${re})`;
      out += `${slash ? '/' : ''}:${name}${custom}${optional ? '?' : ''}`;
      i = end + (optional ? 1 : 0);
    } else if (source.startsWith('(.*)', i)) {
      nextKey();
      out += '*';
      i += 4;
    } else if (/[A-Za-z0-9_~!&',;=@%-]/.test(c)) {
      out += c;
      i++;
    } else return undefined;
  }
  return out;
}
