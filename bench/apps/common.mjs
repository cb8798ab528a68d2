// Shared by the benchmark apps: the route handler and the listen/ready/shutdown protocol with bench/run.mjs.
import express from 'express';

export const ISSUER = required('BENCH_ISSUER');
export const RESOURCE = required('BENCH_RESOURCE');
export const JWKS_URI = process.env.BENCH_JWKS_URI;

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set (the apps are started by bench/run.mjs)`);
    process.exit(2);
  }
  return v;
}

const ORDERS = { orders: [{ id: 'o-1001', item: 'widget', quantity: 2 }] };

/** The same small JSON answer in every app. */
export function listOrders(_req, res) {
  res.json(ORDERS);
}

/**
 * The peer's errors go to next(err): answer them as an API would (status, WWW-Authenticate), not with
 * Express's default handler, which logs every 401 with a stack trace.
 */
export function answerPeerErrors(err, _req, res, _next) {
  res
    .status(err.status ?? 500)
    .set(err.headers ?? {})
    .json({ error: err.code ?? 'server_error' });
}

export function createApp() {
  return express();
}

/** Listen on a free loopback port, tell the orchestrator (`READY <port>` on stdout), exit cleanly on SIGTERM. */
export function serve(app) {
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`READY ${server.address().port}\n`);
  });
  server.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });
  const stop = () => {
    server.closeAllConnections?.();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The orchestrator holds our stdin open; when it dies without signalling us, stdin ends: exit too.
  process.stdin.on('end', stop);
  process.stdin.resume();
}
