/**
 * The outbound HTTP client for every call to an authorization server (discovery, JWKS, later
 * introspection and the protection API). node:http keep-alive costs about a fifth of `fetch`'s CPU per
 * call here (measured in bench/), and every call has a deadline and a response-size bound.
 */
import http from 'node:http';
import https from 'node:https';
import { KitError } from '../answers/errors.js';

/** What {@link httpRequest} takes. */
export interface HttpRequestInit {
  method?: string;
  /** Request headers; with a body, `content-length` is added unless given. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Deadline for the whole exchange, in milliseconds. */
  timeoutMs: number;
  /** Largest accepted response body, in bytes. */
  maxBytes: number;
  signal?: AbortSignal | null | undefined;
  /** A dedicated agent (e.g. one carrying a TLS client certificate); default a shared keep-alive agent. */
  agent?: http.Agent | undefined;
  /**
   * The request may be sent again (introspection is a read): with it, a POST lost on a kept-alive socket the server
   * had closed is retried like a GET is. Other POSTs (registration, a PAT) are never sent twice.
   */
  repeatable?: boolean;
}

/** Methods whose repetition changes nothing (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
/** Connections a kept-alive socket loses when the server closed it as the request went out. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);
/**
 * Retries after stale sockets. Each uses up one pooled socket the server had closed (a server that resets all its
 * idle connections at once leaves as many as the pool held), and stops at the first failure of a new connection;
 * this bound and the deadline only guard against the unforeseen.
 */
const MAX_STALE_RETRIES = 64;

/** A buffered response. */
export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** What the constructor of {@link HttpClientError} takes. */
export interface HttpClientErrorInit {
  reason: HttpClientError['reason'];
  message: string;
  /** The system error code of a network failure. */
  systemCode?: string | undefined;
  /** The deadline that passed, for a timeout. */
  timeoutMs?: number;
}

/**
 * A failed exchange (network error, timeout, oversized body): the peer gave no usable answer. Internal
 * (`ERR_HTTP_CLIENT`): the caller classifies it into an `AuthorizationServerCallError` or a 503.
 */
export class HttpClientError extends KitError {
  declare readonly code: 'ERR_HTTP_CLIENT';
  readonly reason: 'timeout' | 'network' | 'too_large' | 'aborted';
  /** The system error code of a network failure (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`...): `code` is the kit's. */
  readonly systemCode: string | undefined;
  /** The deadline that passed, for a timeout. */
  readonly timeoutMs: number | undefined;
  constructor(init: HttpClientErrorInit) {
    super({ code: 'ERR_HTTP_CLIENT', message: init.message });
    this.reason = init.reason;
    this.systemCode = init.systemCode;
    this.timeoutMs = init.timeoutMs;
  }
}

const agents = {
  // As many idle sockets kept as may be open: under load, freed sockets are reused, not closed and reopened.
  // No agent `timeout`: it re-arms a socket timer on every request (each call has its own deadline), and idle
  // sockets are bounded by maxFreeSockets and closed by the AS's own keep-alive timeout.
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 }),
};

/** A URL read once, for many requests to it (the introspection endpoint): node:http need not parse it per call. */
export interface RequestTarget {
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  /** The port, when the URL names one. */
  readonly port: number | undefined;
  /** Path and query. */
  readonly path: string;
  /** `user:password` from the URL's userinfo (sent as Basic credentials, as node:http does for a URL). */
  readonly auth?: string;
}

/** The {@link RequestTarget} of an http(s) URL; a TypeError for another scheme. */
export function requestTarget(url: string | URL): RequestTarget {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`unsupported URL scheme ${u.protocol}`);
  // An IPv6 literal is bracketed in a URL, not in a hostname node:net connects to.
  const target = {
    protocol: u.protocol,
    hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : undefined,
    path: `${u.pathname}${u.search}`,
  } as const;
  return u.username || u.password ? { ...target, auth: `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` } : target;
}

/** One HTTP exchange with keep-alive, a deadline and a body-size bound. */
export function httpRequest(target: string | URL | RequestTarget, init: HttpRequestInit): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    httpExchange(target, init, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

/** What {@link httpExchange} calls once: with the failure, or with the response. */
export type ExchangeCallback = (err: HttpClientError | undefined, res: HttpResponse | undefined) => void;

/**
 * {@link httpRequest} without its promise: `done` is called exactly once, never before this returns, from the
 * response's last event or the failure; so a caller that goes on synchronously (the per-request introspection) saves
 * a promise and a microtask hop. A request node:http refuses to build (an invalid header) is a `network` failure.
 * `done` must not throw: what it throws is not caught here.
 */
export function httpExchange(target: string | URL | RequestTarget, init: HttpRequestInit, done: ExchangeCallback): void {
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let req: http.ClientRequest | undefined;
  let onAbort: (() => void) | undefined;
  const signal = init.signal ?? undefined;
  const finish = (err: HttpClientError | undefined, res: HttpResponse | undefined): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (onAbort) signal!.removeEventListener('abort', onAbort);
    if (err) req?.destroy();
    done(err, res);
  };
  const fail = (err: HttpClientError): void => finish(err, undefined);
  const timedOut = () =>
    new HttpClientError({ reason: 'timeout', message: `no answer within ${init.timeoutMs} ms`, timeoutMs: init.timeoutMs });
  // A caller's own deadline (openid-client's `timeout`) is a timeout too, not an abort.
  const aborted = () =>
    (signal!.reason as { name?: unknown } | undefined)?.name === 'TimeoutError'
      ? timedOut()
      : new HttpClientError({ reason: 'aborted', message: 'aborted' });
  try {
    const t = typeof target === 'string' || target instanceof URL ? requestTarget(target) : target;
    // Aborted already: no socket is taken.
    if (signal?.aborted) {
      process.nextTick(fail, aborted());
      return;
    }
    const protocol = t.protocol;
    const mod = protocol === 'https:' ? https : http;
    const headers =
      init.body === undefined || init.headers?.['content-length'] !== undefined ? init.headers : withLength(init.headers, init.body);
    // No `protocol` member: the module and the agent imply it (node:http checks them against each other).
    const options: http.RequestOptions = {
      hostname: t.hostname,
      path: t.path,
      method: init.method ?? 'GET',
      headers,
      agent: init.agent ?? agents[protocol],
    };
    if (t.port !== undefined) options.port = t.port;
    if (t.auth) options.auth = t.auth;
    const repeatable = init.repeatable === true || IDEMPOTENT.has(options.method!);
    let retries = 0;
    const send = (): void => {
      let answered = false;
      const sent = mod.request(options, (res) => {
        answered = true;
        read(res);
      });
      req = sent;
      sent.on('error', (e: NodeJS.ErrnoException) => {
        if (sent !== req || settled) return;
        // Node's docs (ClientRequest reusedSocket): a kept-alive socket the server closed just as this request went
        // out fails without an answer. Not the AS failing: a repeatable request goes out again on another socket.
        if (repeatable && !answered && sent.reusedSocket && STALE_SOCKET.has(e.code ?? '') && retries < MAX_STALE_RETRIES) {
          retries++;
          sent.destroy();
          try {
            return send();
          } catch (err) {
            return fail(new HttpClientError({ reason: 'network', message: err instanceof Error ? err.message : String(err) }));
          }
        }
        fail(new HttpClientError({ reason: 'network', message: e.code ?? 'network error', systemCode: e.code }));
      });
      sent.end(init.body);
    };
    const read = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(res.headers['content-length']);
      if (declared > init.maxBytes) return fail(new HttpClientError({ reason: 'too_large', message: 'response body too large' }));
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > init.maxBytes) fail(new HttpClientError({ reason: 'too_large', message: 'response body too large' }));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        // Most answers arrive in one chunk: no copy then.
        if (!settled)
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
          });
      });
      // A connection lost mid-answer is an 'error' here too (an ECONNRESET "aborted"); 'aborted' is deprecated.
      res.on('error', () => fail(new HttpClientError({ reason: 'network', message: 'response stream failed' })));
    };
    timer = setTimeout(() => fail(timedOut()), init.timeoutMs);
    timer.unref?.();
    if (signal) {
      onAbort = () => fail(aborted());
      signal.addEventListener('abort', onAbort, { once: true });
    }
    send();
  } catch (err) {
    // A bad target, or a request node:http would not build: answered like any failure, after this returns.
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const message = err instanceof Error ? err.message : String(err);
    process.nextTick(fail, new HttpClientError({ reason: 'network', message, systemCode: typeof code === 'string' ? code : undefined }));
  }
}

/**
 * `headers` with the `content-length` of `body`, in a new object built key by key (a spread copy makes an object
 * node:http reads more slowly on every request).
 */
function withLength(headers: Record<string, string> | undefined, body: string | Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) out[k] = headers[k]!;
  out['content-length'] = String(Buffer.byteLength(body));
  return out;
}

/** Options of {@link createFetch}. */
export interface FetchAdapterOptions {
  timeoutMs: number;
  maxBytes: number;
  agent?: http.Agent | undefined;
  /** Its POSTs may be sent again (see {@link HttpRequestInit.repeatable}): introspection's, not registration's. */
  repeatable?: boolean;
}

/**
 * A `fetch`-compatible function on {@link httpRequest}, for libraries that accept a custom fetch
 * (openid-client's `customFetch`). Redirects are not followed (an AS answer that redirects is an error).
 */
export function createFetch(options: FetchAdapterOptions) {
  return async (
    input: string | URL,
    init: {
      method?: string;
      headers?: Record<string, string> | Headers | [string, string][];
      body?: unknown;
      signal?: AbortSignal | null;
    } = {},
  ): Promise<Response> => {
    const headers: Record<string, string> = {};
    new Headers(init.headers as ConstructorParameters<typeof Headers>[0]).forEach((v, k) => {
      headers[k] = v;
    });
    let body: string | Buffer | undefined;
    if (typeof init.body === 'string') body = init.body;
    else if (init.body instanceof URLSearchParams) {
      body = init.body.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
    } else if (init.body instanceof Uint8Array) body = Buffer.from(init.body);
    else if (init.body != null) throw new TypeError('unsupported request body type');
    const res = await httpRequest(input, {
      method: init.method ?? 'GET',
      headers,
      body,
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes,
      signal: init.signal,
      agent: options.agent,
      repeatable: options.repeatable,
    });
    const h = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const x of v) h.append(k, x);
      else if (v !== undefined) h.set(k, v);
    }
    const nullBody = res.status === 204 || res.status === 304;
    return new Response(nullBody ? null : res.body, { status: res.status, headers: h });
  };
}
