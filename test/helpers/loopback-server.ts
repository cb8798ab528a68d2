/**
 * A plain HTTP server on a free loopback port for tests that play an AS endpoint by hand, and the writer of
 * a chosen answer. One place for the listen / close dance the recording servers share.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1:0 with `handler`. */
export async function startLoopbackServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<LoopbackServer> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A chosen answer: status, headers, and a JSON body (none when `json` is undefined). */
export interface ChosenAnswer {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
}

export function writeAnswer(res: ServerResponse, a: ChosenAnswer): void {
  res.statusCode = a.status;
  for (const [k, v] of Object.entries(a.headers ?? {})) res.setHeader(k, v);
  if (a.json !== undefined) res.setHeader('content-type', 'application/json');
  res.end(a.json === undefined ? undefined : JSON.stringify(a.json));
}
