/**
 * The HTTP client's callback core (httpExchange, under httpRequest): its callback runs exactly once and never before
 * the call returns, whatever the exchange does (a bad target, an abort before or during it, a deadline before the
 * last chunk, a body too large, a reset, a request node:http refuses to build), and it leaves no listener behind.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { getEventListeners } from 'node:events';
import { httpExchange, httpRequest, type HttpClientError, type HttpResponse } from '../../src/http/client.js';

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/slow-end') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a');
      setTimeout(() => res.end('b'), 150);
    } else if (req.url === '/big-declared') {
      res.writeHead(200, { 'content-length': '5000' });
      res.end('x'.repeat(5000));
    } else if (req.url === '/big-stream') {
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write('x'.repeat(1000));
      res.end();
    } else if (req.url === '/reset') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    } else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Start an exchange; what its callback got, and whether it was called before httpExchange returned. */
function start(target: string, init: Parameters<typeof httpExchange>[1]) {
  const calls: Array<[HttpClientError | undefined, HttpResponse | undefined]> = [];
  httpExchange(target, init, (err, res) => void calls.push([err, res]));
  return { calls, calledBeforeReturn: calls.length > 0 };
}
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const reasonOf = (calls: Array<[HttpClientError | undefined, unknown]>) => calls[0]![0]?.reason;

describe('httpExchange', () => {
  it('answers a bad target once, after returning, as a network failure', async () => {
    const r = start('ftp://x', { timeoutMs: 100, maxBytes: 100 });
    expect(r.calledBeforeReturn).toBe(false);
    await wait(30);
    expect(r.calls).toHaveLength(1);
    expect(reasonOf(r.calls)).toBe('network');
  });

  it('answers a request node:http refuses to build (a header with a line break) once, after returning', async () => {
    const r = start(`${base}/`, { timeoutMs: 50, maxBytes: 100, headers: { 'x-a': 'a\nb' } });
    expect(r.calledBeforeReturn).toBe(false);
    await wait(150);
    expect(r.calls).toHaveLength(1);
    expect(reasonOf(r.calls)).toBe('network');
  });

  it('answers an already aborted signal once, after returning, without taking a socket', async () => {
    let connections = 0;
    const counted = () => void connections++;
    server.on('connection', counted);
    try {
      const ac = new AbortController();
      ac.abort();
      const agent = new Agent({ keepAlive: false }); // a fresh agent: a connection would be a new one
      const r = start(`${base}/`, { timeoutMs: 100, maxBytes: 100, signal: ac.signal, agent });
      expect(r.calledBeforeReturn).toBe(false);
      await wait(150);
      expect(r.calls).toHaveLength(1);
      expect(reasonOf(r.calls)).toBe('aborted');
      expect(connections).toBe(0);
    } finally {
      server.off('connection', counted);
    }
  });

  it('answers a deadline once, and not again when the last chunk arrives later', async () => {
    const r = start(`${base}/slow-end`, { timeoutMs: 50, maxBytes: 100 });
    await wait(300);
    expect(r.calls).toHaveLength(1);
    expect(reasonOf(r.calls)).toBe('timeout');
  });

  it('answers a body over maxBytes once, declared or streamed', async () => {
    const a = start(`${base}/big-declared`, { timeoutMs: 500, maxBytes: 100 });
    const b = start(`${base}/big-stream`, { timeoutMs: 500, maxBytes: 100 });
    await wait(300);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);
    expect(reasonOf(a.calls)).toBe('too_large');
    expect(reasonOf(b.calls)).toBe('too_large');
  });

  it('answers a connection reset mid-body once, as a network failure', async () => {
    const r = start(`${base}/reset`, { timeoutMs: 1000, maxBytes: 1000 });
    await wait(300);
    expect(r.calls).toHaveLength(1);
    expect(reasonOf(r.calls)).toBe('network');
  });

  it('answers an abort during the exchange once', async () => {
    const ac = new AbortController();
    const r = start(`${base}/slow-end`, { timeoutMs: 1000, maxBytes: 1000, signal: ac.signal });
    await wait(50);
    ac.abort();
    await wait(300);
    expect(r.calls).toHaveLength(1);
    expect(reasonOf(r.calls)).toBe('aborted');
  });

  it('answers a response once with its body; httpRequest resolves and rejects on it', async () => {
    const calls: Array<[HttpClientError | undefined, HttpResponse | undefined]> = [];
    await new Promise<void>((resolve) =>
      httpExchange(`${base}/`, { timeoutMs: 1000, maxBytes: 1000 }, (err, res) => {
        calls.push([err, res]);
        resolve();
      }),
    );
    await wait(50); // a second call would come by now
    const r = { calls };
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]![0]).toBeUndefined();
    expect(r.calls[0]![1]!.body.toString()).toBe('ok');
    expect((await httpRequest(`${base}/`, { timeoutMs: 1000, maxBytes: 100 })).status).toBe(200);
    await expect(httpRequest('ftp://x', { timeoutMs: 1000, maxBytes: 100 })).rejects.toMatchObject({ reason: 'network' });
  });

  it('leaves no abort listener on a signal shared by many calls', async () => {
    const ac = new AbortController();
    for (let i = 0; i < 5; i++) await httpRequest(`${base}/`, { timeoutMs: 1000, maxBytes: 100, signal: ac.signal });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});

describe('a kept-alive socket the server closed as the request went out', () => {
  /**
   * A server that answers the first request of each connection and closes the connection, unanswered, when a second
   * request arrives on it: what a client meets when a server (or a proxy) drops an idle connection just as it is
   * reused and sends no `Keep-Alive: timeout=` hint.
   */
  async function closingServer() {
    let connections = 0;
    let requests = 0;
    const srv = createNetServer((socket) => {
      connections++;
      let seen = 0;
      let buffered = '';
      socket.on('data', (d) => {
        buffered += d.toString('latin1');
        while (buffered.includes('\r\n\r\n')) {
          const head = buffered.slice(0, buffered.indexOf('\r\n\r\n') + 4);
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
          if (buffered.length < head.length + length) return;
          buffered = buffered.slice(head.length + length);
          if (++seen > 1) return void socket.destroy();
          requests++;
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
    return { url, counts: () => ({ connections, requests }), close: () => new Promise<void>((r) => srv.close(() => r())) };
  }

  it.each([
    ['a repeatable POST (introspection)', { method: 'POST', body: 'token=a', repeatable: true }],
    ['a GET', { method: 'GET' }],
  ])('sends %s again on another socket, once: answered, not a failure', async (_name, extra) => {
    const srv = await closingServer();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const init = { timeoutMs: 2000, maxBytes: 100, agent, ...extra };
      expect((await httpRequest(srv.url, init)).status).toBe(200);
      const again = await httpRequest(srv.url, init);
      expect(again.body.toString()).toBe('ok');
      expect(srv.counts()).toEqual({ connections: 2, requests: 2 });
    } finally {
      agent.destroy();
      await srv.close();
    }
  });

  it('goes through as many stale pooled sockets as the server closed at once, then a new one', async () => {
    const srv = await closingServer();
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    try {
      const init = { method: 'POST', body: 'token=a', repeatable: true, timeoutMs: 2000, maxBytes: 100, agent };
      // Six connections, each answered once: all six pooled sockets now fail on their next request.
      await Promise.all(Array.from({ length: 6 }, () => httpRequest(srv.url, init)));
      expect(srv.counts().connections).toBe(6);
      expect((await httpRequest(srv.url, init)).body.toString()).toBe('ok');
      expect(srv.counts()).toEqual({ connections: 7, requests: 7 });
    } finally {
      agent.destroy();
      await srv.close();
    }
  });

  it('never sends a POST that is not repeatable twice: a network failure (a registration must not be made twice)', async () => {
    const srv = await closingServer();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const init = { method: 'POST', body: 'x', timeoutMs: 2000, maxBytes: 100, agent };
      expect((await httpRequest(srv.url, init)).status).toBe(200);
      await expect(httpRequest(srv.url, init)).rejects.toMatchObject({ reason: 'network', systemCode: 'ECONNRESET' });
      expect(srv.counts()).toEqual({ connections: 1, requests: 1 });
    } finally {
      agent.destroy();
      await srv.close();
    }
  });
});
