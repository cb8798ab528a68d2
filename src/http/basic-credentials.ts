/**
 * Client credentials in an HTTP Basic `Authorization` header (RFC 6749 §2.3.1): the client id and secret are
 * each encoded with the `application/x-www-form-urlencoded` algorithm, joined by `:`, and base64-encoded.
 *
 * Which form-urlencoding matters in practice: many deployed authorization servers (and proxies in front of
 * them) compare the Basic credentials without decoding them. openid-client uses the strict HTML 4 reading,
 * which also escapes `-`, `_`, `.`, `!`, `~`, `*`, `'`, `(` and `)`: a secret like `a-b` arrives as `a%2Db`
 * and such a server refuses it. The WHATWG URL serializer (what `URLSearchParams` produces) leaves ASCII
 * letters, digits and `*-._` as they are, so credentials made of those characters are byte-identical
 * whether the server decodes or not; any other character is still encoded as RFC 6749 asks, and a server
 * that decodes reads it back exactly.
 */
import type { ClientAuth } from 'openid-client';

const HEX = '0123456789ABCDEF';

/** Bytes the serializer leaves as they are: ASCII letters, digits, `*`, `-`, `.`, `_`. */
function unescaped(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x2a || // *
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f // _
  );
}

/**
 * The WHATWG URL Standard's `application/x-www-form-urlencoded` serializer for one name or value (§5.2,
 * "percent-encode after encoding" with the application/x-www-form-urlencoded percent-encode set and
 * spaceAsPlus): UTF-8 bytes, space as `+`, letters, digits and `*-._` kept, every other byte as `%XX`
 * (upper-case hex). A lone surrogate becomes U+FFFD first, as the URL Standard's USVString conversion does.
 */
export function formUrlEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (unescaped(byte)) out += String.fromCharCode(byte);
    else if (byte === 0x20) out += '+';
    else out += `%${HEX[byte >> 4]!}${HEX[byte & 0x0f]!}`;
  }
  return out;
}

/** The `Authorization` header value of HTTP Basic client authentication (RFC 6749 §2.3.1). */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`, 'utf8').toString('base64')}`;
}

/**
 * `client_secret_basic` for openid-client: the same header as {@link basicAuthorization}, in place of
 * openid-client's own `ClientSecretBasic` (whose stricter encoding servers that do not decode refuse).
 */
export function clientSecretBasic(clientSecret: string): ClientAuth {
  return (_as, client, _body, headers) => {
    headers.set('authorization', basicAuthorization(client.client_id, clientSecret));
  };
}
