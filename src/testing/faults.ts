/**
 * Fault injection for the development AS (`as.faults`): make chosen endpoints slow, hang, drop the
 * connection, answer an HTTP error or garbage, on every request or on some (flapping), or stop the whole
 * server so that connections are refused. Tests use it to prove that a resource server fails closed (503,
 * never allow) and recovers by itself; users can do the same for their own APIs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The endpoints of the development AS a fault can be aimed at. */
export type DevEndpoint =
  /** `/.well-known/*`: RFC 8414, OpenID Connect and UMA discovery documents. */
  | 'discovery'
  /** The JWK Set (`jwks_uri`). */
  | 'jwks'
  /** The token endpoint (client credentials, PATs, RPTs). */
  | 'token'
  /** RFC 7662 introspection. */
  | 'introspection'
  /** RFC 7591/7592 dynamic client registration. */
  | 'registration'
  /** The UMA protection API (resource registration, permission endpoint, UMA 1.0 RPT endpoint). */
  | 'uma';

/** What a faulted request gets. */
export type DevFault =
  /** The connection is dropped without an answer (ECONNRESET at the client). */
  | { kind: 'reset' }
  /**
   * The request is carried out, then the connection is dropped instead of the answer: the AS has acted
   * (a resource created, a token issued) but the client cannot know. Retries must be idempotent.
   */
  | { kind: 'lose-answer' }
  /** The request is accepted and never answered (the client's deadline must fire). */
  | { kind: 'hang' }
  /** The right answer, `delayMs` late. */
  | { kind: 'slow'; delayMs: number }
  /** An HTTP error (e.g. 500, 502, 503) with an OAuth error body. */
  | { kind: 'status'; status: number }
  /** `200 OK` with a body that is neither JSON nor what was asked for. */
  | { kind: 'garbage' };

/** Where and how often a fault applies. */
export interface DevFaultScope {
  /** Endpoints to fault (default: all of them). */
  endpoints?: DevEndpoint[];
  /** HTTP methods to fault (default: all), e.g. `['POST']` to lose only the answers to creations. */
  methods?: string[];
  /**
   * Fault one request in `every` (counted over the faulted endpoints, the first request included);
   * default 1: every request. `every: 2` alternates: fault, answer, fault, answer.
   */
  every?: number;
  /**
   * A flapping server: from the moment of `inject`, the fault applies for `downMs`, then not for `upMs`,
   * and so on. Clients that retry at their own pace meet it at any phase, unlike a request-count pattern,
   * which a client making the same requests in the same order can meet in lockstep.
   */
  flap?: { downMs: number; upMs: number };
}

/** Fault controls of a development AS (`as.faults`). */
export interface DevFaultControls {
  /** Apply `fault` to the requests `scope` selects, replacing any fault injected before. */
  inject(fault: DevFault, scope?: DevFaultScope): void;
  /** Answer normally again (does not restart a stopped server: see {@link DevFaultControls.start}). */
  clear(): void;
  /** Close the listening socket and drop every connection: new connections are refused until `start()`. */
  stop(): Promise<void>;
  /** Listen again on the same port after `stop()`. */
  start(): Promise<void>;
  /** How many requests met an injected fault so far. */
  readonly injected: number;
}

/** Which endpoint a request path belongs to, or `undefined` for paths no fault is aimed at. */
export function endpointOf(path: string): DevEndpoint | undefined {
  if (path.startsWith('/.well-known/')) return 'discovery';
  if (path === '/jwks') return 'jwks';
  if (path === '/token') return 'token';
  if (path === '/token/introspection') return 'introspection';
  if (path === '/reg' || path.startsWith('/reg/')) return 'registration';
  if (/^\/(uma|uma1|authz\/protection)(\/|$)/.test(path)) return 'uma';
  return undefined;
}

/** The part of the fault controls the AS's request handler consults. */
export interface FaultGate {
  /**
   * Decide the fate of one request: `'pass'` to answer it normally (after `delayMs`, if any), or `'done'`
   * when the fault has answered (or deliberately not answered) it.
   */
  apply(req: IncomingMessage, res: ServerResponse): { outcome: 'pass'; delayMs: number } | { outcome: 'done' };
}

const ALL: readonly DevEndpoint[] = ['discovery', 'jwks', 'token', 'introspection', 'registration', 'uma'];
const GARBAGE = '<html><body>502 Bad Gateway</body></html>\n\u0000\u00ff{"active":';

/** Make the controls and the gate for one server; `listen`/`close` stop and restart its listener. */
export function createFaults(listener: { close(): Promise<void>; listen(): Promise<void> }): {
  controls: DevFaultControls;
  gate: FaultGate;
} {
  let current:
    | {
        fault: DevFault;
        endpoints: ReadonlySet<DevEndpoint>;
        methods: ReadonlySet<string> | undefined;
        every: number;
        seen: number;
        flap: DevFaultScope['flap'];
        since: number;
      }
    | undefined;
  let injected = 0;
  let stopped = false;

  const gate: FaultGate = {
    apply(req, res) {
      const endpoint = endpointOf((req.url ?? '').split('?')[0] ?? '');
      if (!current || !endpoint || !current.endpoints.has(endpoint)) return { outcome: 'pass', delayMs: 0 };
      if (current.methods && !current.methods.has((req.method ?? '').toUpperCase())) return { outcome: 'pass', delayMs: 0 };
      if (current.flap) {
        const { downMs, upMs } = current.flap;
        if ((Date.now() - current.since) % (downMs + upMs) >= downMs) return { outcome: 'pass', delayMs: 0 };
      }
      const seen = current.seen++;
      if (seen % current.every !== 0) return { outcome: 'pass', delayMs: 0 };
      injected++;
      const { fault } = current;
      switch (fault.kind) {
        case 'slow':
          return { outcome: 'pass', delayMs: fault.delayMs };
        case 'reset':
          req.socket.destroy();
          return { outcome: 'done' };
        case 'lose-answer': {
          const drop = () => {
            req.socket.destroy();
            return res;
          };
          res.writeHead = drop as typeof res.writeHead;
          res.write = (() => (drop(), true)) as typeof res.write;
          res.end = drop as typeof res.end;
          return { outcome: 'pass', delayMs: 0 };
        }
        case 'hang':
          // Keep the request open; the socket is released when the client gives up or the server stops.
          req.resume();
          return { outcome: 'done' };
        case 'status':
          res.statusCode = fault.status;
          res.setHeader('content-type', 'application/json');
          if (fault.status === 503) res.setHeader('retry-after', '1');
          res.end(
            JSON.stringify({
              error: fault.status >= 500 ? 'temporarily_unavailable' : 'invalid_request',
              error_description: 'injected fault',
            }),
          );
          return { outcome: 'done' };
        case 'garbage':
          res.statusCode = 200;
          res.setHeader('content-type', 'application/json');
          res.end(GARBAGE);
          return { outcome: 'done' };
      }
    },
  };

  const controls: DevFaultControls = {
    inject(fault, scope = {}) {
      const every = scope.every ?? 1;
      if (!Number.isInteger(every) || every < 1) throw new RangeError('every must be a positive integer');
      if (fault.kind === 'status' && !(Number.isInteger(fault.status) && fault.status >= 400 && fault.status <= 599)) {
        throw new RangeError('status must be an HTTP error status (400-599)');
      }
      const methods = scope.methods ? new Set(scope.methods.map((m) => m.toUpperCase())) : undefined;
      const { flap } = scope;
      if (flap && !(flap.downMs > 0 && flap.upMs > 0)) throw new RangeError('flap needs positive downMs and upMs');
      current = { fault, endpoints: new Set(scope.endpoints ?? ALL), methods, every, seen: 0, flap, since: Date.now() };
    },
    clear() {
      current = undefined;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await listener.close();
    },
    async start() {
      if (!stopped) return;
      await listener.listen();
      stopped = false;
    },
    get injected() {
      return injected;
    },
  };
  return { controls, gate };
}
