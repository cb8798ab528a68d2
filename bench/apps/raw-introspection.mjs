// (e) The reference for uncached introspection: a hand-written middleware that POSTs every token to the AS's
// introspection endpoint on a keep-alive node:http agent and checks `active`, `aud` and the scope. No cache,
// no coalescing, no deadline: the cheapest correct-looking client, to measure the kit's uncached path against.
import http from 'node:http';
import { createApp, listOrders, serve, RESOURCE } from './common.mjs';

const endpoint = new URL(process.env.BENCH_INTROSPECTION_ENDPOINT);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const authorization = `Basic ${Buffer.from(`${encodeURIComponent(process.env.BENCH_CLIENT_ID)}:${encodeURIComponent(process.env.BENCH_CLIENT_SECRET)}`).toString('base64')}`;

function introspect(token) {
  return new Promise((resolve, reject) => {
    const body = `token=${encodeURIComponent(token)}&token_type_hint=access_token`;
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
      accept: 'application/json',
      authorization,
    };
    const req = http.request(
      { hostname: endpoint.hostname, port: endpoint.port, path: endpoint.pathname, method: 'POST', agent, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 ? JSON.parse(text) : undefined);
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const app = createApp();
app.use((req, res, next) => {
  const m = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? '');
  if (!m) return res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'invalid_request' });
  introspect(m[1]).then(
    (answer) => {
      if (!answer) return res.status(503).json({ error: 'temporarily_unavailable' });
      const aud = Array.isArray(answer.aud) ? answer.aud : [answer.aud];
      if (answer.active !== true || !aud.includes(RESOURCE))
        return res.status(401).set('WWW-Authenticate', 'Bearer error="invalid_token"').json({ error: 'invalid_token' });
      if (
        !String(answer.scope ?? '')
          .split(' ')
          .includes('read:orders')
      )
        return res.status(403).json({ error: 'insufficient_scope' });
      req.auth = answer;
      next();
    },
    () => res.status(503).json({ error: 'temporarily_unavailable' }),
  );
});
app.get('/orders', listOrders);
serve(app);
