/**
 * An authorization server double whose every endpoint can be made to misbehave in one chosen way: a 400 JSON
 * error (the AS up, refusing the request itself), an empty
 * 401 without a content type, a 401 with a `WWW-Authenticate` challenge, a 403 JSON error, a 500 HTML page,
 * a 200 of broken JSON, a hang, or a refused connection (the server stopped). It counts the calls to each
 * endpoint, so a test can see how often the kit asked while the AS was down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';

export type Endpoint = 'discovery' | 'jwks' | 'introspection' | 'token' | 'uma-discovery' | 'uma' | 'registration';
export type Misbehaviour = 'ok' | 'json-400' | 'empty-401' | 'challenge-401' | 'json-403' | 'html-500' | 'garbage' | 'hang';

export interface MisbehavingAs {
  issuer: string;
  /** How each endpoint answers (default `ok`). */
  mode: Partial<Record<Endpoint, Misbehaviour>>;
  /** Calls per endpoint. */
  calls: Record<Endpoint, number>;
  /** The issuer the metadata documents name (default: the real one). */
  advertisedIssuer: string | undefined;
  sign(claims?: Record<string, unknown>): Promise<string>;
  /** Close the listener and every connection: new connections are refused until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const ENDPOINTS: Record<string, Endpoint> = {
  '/.well-known/oauth-authorization-server': 'discovery',
  '/.well-known/openid-configuration': 'discovery',
  '/.well-known/uma2-configuration': 'uma-discovery',
  '/jwks': 'jwks',
  '/introspect': 'introspection',
  '/token': 'token',
  '/perm': 'uma',
  '/register': 'registration',
};

/** Each misbehaviour as status, headers and body (`hang`: no answer at all). */
const ANSWERS: Record<Exclude<Misbehaviour, 'ok' | 'hang'>, [number, Record<string, string>, string]> = {
  'json-400': [400, { 'content-type': 'application/json' }, '{"error":"invalid_request"}'],
  'empty-401': [401, {}, ''],
  'challenge-401': [401, { 'www-authenticate': 'Basic realm="as", error="invalid_client"' }, ''],
  'json-403': [403, { 'content-type': 'application/json' }, '{"error":"access_denied"}'],
  'html-500': [500, { 'content-type': 'text/html' }, '<html><body>Internal Server Error</body></html>'],
  garbage: [200, { 'content-type': 'application/json' }, '{"active": tru'],
};

function misbehave(mode: Exclude<Misbehaviour, 'ok'>, res: ServerResponse): void {
  if (mode === 'hang') return;
  const [status, headers, body] = ANSWERS[mode];
  res.writeHead(status, headers);
  res.end(body);
}

export async function startMisbehavingAs(): Promise<MisbehavingAs> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const calls = Object.fromEntries(Object.values(ENDPOINTS).map((e) => [e, 0])) as Record<Endpoint, number>;
  calls.uma = 0;
  const state = { mode: {} as MisbehavingAs['mode'], calls, advertisedIssuer: undefined as string | undefined };
  let issuer = '';
  let port = 0;

  const answer = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse) => {
    const json = (body: unknown, status = 200) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    const iss = state.advertisedIssuer ?? issuer;
    switch (endpoint) {
      case 'discovery':
        return json({
          issuer: iss,
          jwks_uri: `${issuer}/jwks`,
          introspection_endpoint: `${issuer}/introspect`,
          token_endpoint: `${issuer}/token`,
          registration_endpoint: `${issuer}/register`,
        });
      case 'uma-discovery':
        return json({
          issuer: iss,
          token_endpoint: `${issuer}/token`,
          resource_registration_endpoint: `${issuer}/rreg`,
          permission_endpoint: `${issuer}/perm`,
        });
      case 'jwks':
        return json({ keys: [jwk] });
      case 'introspection':
        return json({
          active: true,
          scope: 'read',
          aud: 'https://api.example.com',
          iss: issuer,
          sub: 'u1',
          client_id: 'c1',
          exp: Math.floor(Date.now() / 1000) + 300,
        });
      case 'token':
        return json({ access_token: `pat-${randomBytes(6).toString('hex')}`, token_type: 'Bearer', expires_in: 300 });
      case 'uma':
        if (req.url?.startsWith('/perm')) return json({ ticket: 'ticket-1' }, 201);
        if (req.method === 'POST') return json({ _id: `r-${randomBytes(4).toString('hex')}` }, 201);
        return json([]);
      case 'registration':
        return json({ client_id: 'registered', client_secret: 'registered-secret' }, 201);
    }
  };

  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const endpoint: Endpoint | undefined = ENDPOINTS[path] ?? (path.startsWith('/rreg') ? 'uma' : undefined);
      if (!endpoint) {
        res.statusCode = 404;
        return res.end();
      }
      state.calls[endpoint]++;
      const mode = state.mode[endpoint] ?? 'ok';
      if (mode === 'ok') return answer(endpoint, req, res);
      misbehave(mode, res);
    });
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const shut = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await listen();
  port = (server.address() as AddressInfo).port;
  issuer = `http://127.0.0.1:${port}`;

  return Object.assign(state, {
    issuer,
    async sign(claims: Record<string, unknown> = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: issuer,
        sub: 'u1',
        aud: 'https://api.example.com',
        client_id: 'c1',
        iat: now,
        exp: now + 300,
        jti: randomBytes(8).toString('hex'),
        scope: 'read',
        ...claims,
      };
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' }).sign(privateKey as CryptoKey);
    },
    stop: shut,
    start: listen,
    close: async () => {
      if (server.listening) await shut();
    },
  }) as MisbehavingAs;
}
