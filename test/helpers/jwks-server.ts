/**
 * A small JWKS endpoint under the test's control: which keys it publishes, whether it answers, and how
 * many times it was asked. For the key-set rules that a real AS cannot be made to break on demand.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg = 'RS256', kid = randomBytes(6).toString('hex')): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface JwksServer {
  url: string;
  issuer: string;
  requests: number;
  keys: TestKey[];
  /** 'up' answers the JWKS; 'down' answers 500; 'hang' never answers. */
  mode: 'up' | 'down' | 'hang';
  close(): Promise<void>;
}

export async function startJwksServer(keys: TestKey[]): Promise<JwksServer> {
  const state = { requests: 0, keys, mode: 'up' as JwksServer['mode'] };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/jwks') {
      res.statusCode = 404;
      return res.end();
    }
    state.requests++;
    if (state.mode === 'hang') return;
    if (state.mode === 'down') {
      res.statusCode = 500;
      return res.end('down');
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: state.keys.map((k) => k.publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url: `${base}/jwks`,
    issuer: base,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  }) as JwksServer;
}

/** Sign an access token with a test key; claims default to a valid RFC 9068 token. */
export async function signWith(
  key: TestKey,
  issuer: string,
  audience: string,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: issuer,
    sub: 'user-1',
    aud: audience,
    client_id: 'client-1',
    iat: now,
    exp: now + 300,
    jti: randomBytes(8).toString('hex'),
    ...claims,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header }).sign(key.privateKey);
}
