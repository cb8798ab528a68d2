/**
 * Duplicate member names in a JSON text. `JSON.parse` keeps the last of `{"active":false,"active":true}`; another
 * reader (a gateway, an audit log) may keep the first. RFC 8259 §4 calls such a text's behaviour unpredictable and
 * I-JSON (RFC 7493 §2.3) forbids it, so an answer the kit acts on must not be read two ways.
 */

/**
 * Whether an object anywhere in `text` names a member twice (names compared after unescaping: `"\u0061ctive"` is
 * `"active"`). `text` must already be valid JSON (`JSON.parse` accepted it): this does not check the syntax, it
 * only follows strings, objects and arrays. Linear in the text, quadratic only in one object's member count.
 */
export function hasDuplicateMemberNames(text: string): boolean {
  // Every uncached introspection reads one: without a backslash, names are compared as the text spells them,
  // with no string or Set made (about 1 µs for a 200-character answer here, about twice that with them).
  const escapes = text.includes('\\');
  // Names of the open objects: [start, end) pairs into `text`, or decoded names where the text has escapes.
  const spans: number[] = [];
  const decoded: string[] = [];
  // Per open container: where its names begin in `spans` / `decoded`, or -1 for an array.
  const open: number[] = [];
  let key = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) j++;
        else if (d === 0x22) break;
      }
      if (key) {
        const from = open[open.length - 1]!;
        if (escapes) {
          const name = JSON.parse(text.slice(i, j + 1)) as string;
          for (let k = from; k < decoded.length; k++) if (decoded[k] === name) return true;
          decoded.push(name);
        } else {
          for (let k = from; k < spans.length; k += 2) if (sameSpan(text, spans[k]!, spans[k + 1]!, i + 1, j)) return true;
          spans.push(i + 1, j);
        }
        key = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      open.push(escapes ? decoded.length : spans.length);
      key = true;
    } else if (c === 0x5b /* [ */) {
      open.push(-1);
      key = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      const from = open.pop()!;
      if (from >= 0) (escapes ? decoded : spans).length = from;
      key = false;
    } else if (c === 0x2c /* , */) {
      key = open[open.length - 1]! >= 0;
    }
  }
  return false;
}

function sameSpan(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (; a < aEnd; a++, b++) if (text.charCodeAt(a) !== text.charCodeAt(b)) return false;
  return true;
}
