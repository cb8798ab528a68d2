/**
 * A small authorization server under the test's control, for what a real one cannot be made to do on
 * demand: hang, fail, answer garbage or a forged signed response, and record exactly what it was sent.
 * It serves RFC 8414 metadata, a JWKS, and an introspection endpoint whose answer the test chooses.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  form: URLSearchParams;
}

export type FakeAnswer = { status?: number; json?: unknown; text?: string; contentType?: string; delayMs?: number } | 'hang';

export interface FakeAuthorizationServer {
  issuer: string;
  introspectionEndpoint: string;
  /** Every request to the introspection endpoint. */
  introspections: RecordedRequest[];
  /** TCP connections accepted so far (keep-alive reuse shows as few connections for many requests). */
  connections: number;
  /** What the introspection endpoint answers (a function of the request, or a fixed answer). */
  answer: FakeAnswer | ((req: RecordedRequest) => FakeAnswer | Promise<FakeAnswer>);
  /** Sign an RFC 9701 response with the AS's key (or another key, to forge one). */
  signIntrospection(claims: Record<string, unknown>, options?: { typ?: string; foreignKey?: boolean }): Promise<string>;
  close(): Promise<void>;
}

// RSA key generation costs ~100 ms: one pair of keys serves every fake server of a test file.
let keys: Promise<[Awaited<ReturnType<typeof generateKeyPair>>, Awaited<ReturnType<typeof generateKeyPair>>]> | undefined;

export async function startFakeAuthorizationServer(): Promise<FakeAuthorizationServer> {
  keys ??= Promise.all([generateKeyPair('RS256', { extractable: true }), generateKeyPair('RS256')]);
  const [{ privateKey, publicKey }, foreign] = await keys;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'fake-1', alg: 'RS256', use: 'sig' };
  let issuer = '';
  const state: Pick<FakeAuthorizationServer, 'introspections' | 'answer' | 'connections'> = {
    introspections: [],
    answer: { json: { active: false } },
    connections: 0,
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = (req.url ?? '').split('?')[0] ?? '';
        const send = (status: number, body: string, type = 'application/json') => {
          res.statusCode = status;
          res.setHeader('content-type', type);
          res.end(body);
        };
        if (path === '/.well-known/oauth-authorization-server') {
          return send(
            200,
            JSON.stringify({
              issuer,
              introspection_endpoint: `${issuer}/introspect`,
              jwks_uri: `${issuer}/jwks`,
              introspection_signing_alg_values_supported: ['RS256'],
            }),
          );
        }
        if (path === '/jwks') return send(200, JSON.stringify({ keys: [jwk] }));
        if (path !== '/introspect') return send(404, '{}');
        const body = Buffer.concat(chunks).toString('utf8');
        const recorded: RecordedRequest = { method: req.method ?? '', path, headers: req.headers, body, form: new URLSearchParams(body) };
        state.introspections.push(recorded);
        const answer = typeof state.answer === 'function' ? await state.answer(recorded) : state.answer;
        if (answer === 'hang') return;
        if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
        send(answer.status ?? 200, answer.text ?? JSON.stringify(answer.json ?? {}), answer.contentType ?? 'application/json');
      })();
    });
  });
  server.on('connection', () => {
    state.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return Object.assign(state, {
    issuer,
    introspectionEndpoint: `${issuer}/introspect`,
    async signIntrospection(claims: Record<string, unknown>, options: { typ?: string; foreignKey?: boolean } = {}) {
      const key: CryptoKey = options.foreignKey ? foreign.privateKey : privateKey;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'fake-1', typ: options.typ ?? 'token-introspection+jwt' })
        .sign(key);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  }) as FakeAuthorizationServer;
}
