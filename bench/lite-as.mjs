#!/usr/bin/env node
// A lightweight loopback authorization server for the introspection benchmarks: RFC 8414 metadata and an
// RFC 7662 introspection endpoint that answers every token active (or `{"active":false}` for a token starting
// with `inactive`), checking the client's Basic credentials. It costs the AS little CPU per call, so that what
// is measured is the client's cost (the dev AS, oidc-provider, spends more per call than the client under test).
//
// Run as a child: prints `READY <port>` on stdout; a line `stats` on stdin prints one `STATS {json}` line
// (introspection calls, connections accepted, CPU µs used); stdin's end stops it.
// Environment: LITE_AS_CLIENT_ID, LITE_AS_CLIENT_SECRET, LITE_AS_RESOURCE (the `aud` of every answer).
import http from 'node:http';
import { createInterface } from 'node:readline';

const clientId = process.env.LITE_AS_CLIENT_ID ?? 'rs-client';
const clientSecret = process.env.LITE_AS_CLIENT_SECRET ?? 'rs-secret';
const resource = process.env.LITE_AS_RESOURCE ?? 'https://api.example.com/orders';
const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
let issuer = '';
let introspections = 0;
let connections = 0;

const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.method === 'GET' && req.url === '/.well-known/oauth-authorization-server') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ issuer, introspection_endpoint: `${issuer}/introspect` }));
    return;
  }
  if (req.method !== 'POST' || req.url !== '/introspect') {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => {
    body += d;
  });
  req.on('end', () => {
    introspections++;
    if (req.headers.authorization !== basic) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="as"' });
      res.end('{"error":"invalid_client"}');
      return;
    }
    const token = /(?:^|&)token=([^&]*)/.exec(body)?.[1] ?? '';
    const answer = token.startsWith('inactive')
      ? '{"active":false}'
      : `{"active":true,"scope":"read:orders","client_id":"bench-client","sub":"user-1","aud":${JSON.stringify(resource)},"iss":${JSON.stringify(issuer)},"exp":${Math.floor(Date.now() / 1000) + 3600},"token_type":"Bearer"}`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.on('connection', () => {
  connections++;
});
server.listen(0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`READY ${server.address().port}\n`);
});
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stats') return;
  const cpu = process.cpuUsage();
  process.stdout.write(`STATS ${JSON.stringify({ introspections, connections, cpuUs: cpu.user + cpu.system })}\n`);
});
process.stdin.on('end', () => process.exit(0));
