/**
 * Plain-fetch helpers for the tests of the development UMA AS: every call goes over the wire, and the
 * answer is kept whole (status, headers, parsed body) so tests can hold it to the spec's format.
 */
export interface WireAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text when it is not JSON, `undefined` when empty. */
  body: unknown;
  /** The body as a JSON object (empty object when it is not one). */
  json: Record<string, unknown>;
}

export interface WireOptions {
  /** Bearer token (a PAT, an AAT). */
  bearer?: string;
  /** Basic client credentials. */
  basic?: { clientId: string; clientSecret: string };
  /** JSON body. */
  json?: unknown;
  /** Raw body (sent as application/json). */
  raw?: string;
  /** Form body. */
  form?: Record<string, string>;
}

export async function wire(method: string, url: string, o: WireOptions = {}): Promise<WireAnswer> {
  const headers: Record<string, string> = {};
  if (o.bearer !== undefined) headers.authorization = `Bearer ${o.bearer}`;
  if (o.basic) headers.authorization = `Basic ${Buffer.from(`${o.basic.clientId}:${o.basic.clientSecret}`).toString('base64')}`;
  let body: string | undefined;
  if (o.json !== undefined || o.raw !== undefined) {
    headers['content-type'] = 'application/json';
    body = o.raw ?? JSON.stringify(o.json);
  } else if (o.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  }
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text === '' ? undefined : text;
  try {
    if (text) parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  const json = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  return { status: res.status, headers: res.headers, body: parsed, json };
}

/** The payload of a compact JWS (no verification). */
export function jwsPayload(jws: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
