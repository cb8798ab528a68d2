/**
 * The base64url alphabet (RFC 4648 §5) read character by character: what the admission table takes its bits from
 * and what the canonical-encoding check of a JWS signature reads.
 */

/** The value of each base64url character (indexed by its code, below 128); 0 for any other character. */
export const SEXTET = new Uint8Array(128);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('').forEach((c, i) => (SEXTET[c.charCodeAt(0)] = i));

/**
 * Whether unpadded base64url text, whose alphabet the caller has checked, is the canonical encoding of its bytes: a
 * length that leaves 2 or 3 characters in the last group carries 4 or 2 unused bits, which must be zero; one
 * character alone encodes no byte (RFC 4648 §3.5, §5). Read from the last character: nothing is decoded or encoded.
 */
export function isCanonicalBase64url(text: string): boolean {
  const rest = text.length & 3;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const last = SEXTET[text.charCodeAt(text.length - 1) & 0x7f]!;
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}
