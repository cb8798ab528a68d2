/**
 * A development authorization server: a real, certified OpenID provider (`oidc-provider`) started on a
 * loopback port with resource indicators (RFC 8707), JWT (RFC 9068) and opaque access tokens,
 * token introspection (RFC 7662) and revocation (RFC 7009). The kit's own tests and the demo use it,
 * and so can users' tests: nothing here is a mock. With the `uma` option it also speaks the UMA 2.0
 * protection API and grant (or Keycloak's or UMA 1.0's flavour): see `uma-authorization-server.ts`.
 *
 * `oidc-provider` is an optional peer dependency of this entry point only.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import type { JWK } from '../token/keys.js';
import { INTERNAL_REQUEST_HEADER, prepareUma, type AttachedUma } from './uma-authorization-server.js';
import type { UmaProvider } from './uma-http.js';
import type { DevUmaOptions } from './uma-types.js';
import { createFaults } from './faults.js';
import { basicAuthorization as basic } from '../http/basic-credentials.js';
import { importPeer, loadOutsideSandbox } from '../peers/peer-import.js';
import type { DevAuthorizationServer, DevAuthorizationServerOptions, DevUmaAuthorizationServer } from './dev-authorization-server-types.js';

interface ProviderLike extends UmaProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Start a development authorization server on loopback.
 *
 * @example
 * ```ts
 * const as = await startDevAuthorizationServer({ resources: [{ identifier: 'https://api.example.com', scopes: ['read:orders'] }] });
 * const token = await as.mintAccessToken({ resource: 'https://api.example.com', scope: 'read:orders' });
 *
 * // With the UMA 2.0 protection API (also `{ profile: 'keycloak' }` or `{ profile: 'uma1' }`):
 * const umaAs = await startDevAuthorizationServer({ resources: [], uma: true });
 * const pat = await umaAs.uma.obtainPat();
 * ```
 */
export function startDevAuthorizationServer(
  options: DevAuthorizationServerOptions & { uma: true | DevUmaOptions },
): Promise<DevUmaAuthorizationServer>;
export function startDevAuthorizationServer(options: DevAuthorizationServerOptions): Promise<DevAuthorizationServer>;
export async function startDevAuthorizationServer(options: DevAuthorizationServerOptions): Promise<DevAuthorizationServer> {
  // Inside a test runner's CommonJS sandbox (Jest's default mode) oidc-provider, an ES module, can only be
  // loaded by Node itself, and it accepts configuration objects of its own realm only: the whole server runs there.
  const outside = loadOutsideSandbox('../testing/dev-authorization-server.js') as
    { startDevAuthorizationServer: typeof startDevAuthorizationServer } | undefined;
  if (outside) {
    return Promise.resolve()
      .then(() => outside.startDevAuthorizationServer(options))
      .then((server) => inThisRealm(server), rethrowHere);
  }
  // oidc-provider prints start-up notices meant for production deployments (in-memory adapter, the Node
  // version it prefers); a development server on loopback has nothing to act on, so they are held back.
  const restore = quietOidcProvider();
  const { default: Provider } = (await importPeer('oidc-provider', 'startDevAuthorizationServer').finally(restore)) as {
    default: new (issuer: string, config: Record<string, unknown>) => ProviderLike;
  };
  const host = options.host ?? '127.0.0.1';
  // Checked before anything listens.
  const registrationToken = options.registration ? registrationGate(options.registration) : undefined;
  const requests = { introspection: 0, token: 0, jwks: 0, discovery: 0 };
  // The issuer needs the port, and the provider needs the issuer: listen first, attach the provider after.
  const late: { handler?: (req: IncomingMessage, res: ServerResponse) => void; uma?: AttachedUma } = {};
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const handler = late.handler;
    if (!handler) {
      res.statusCode = 503;
      res.end();
    } else if (!late.uma) handler(req, res);
    else {
      // The UMA front handler answers its own endpoints and passes everything else on to oidc-provider.
      late.uma.handle(req, res).then(
        (answered) => {
          if (!answered) handler(req, res);
        },
        () => {
          if (!res.headersSent) res.statusCode = 500;
          res.end();
        },
      );
    }
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.headers[INTERNAL_REQUEST_HEADER] !== undefined) return answer(req, res);
    if (path === '/token/introspection') requests.introspection++;
    else if (path === '/token') requests.token++;
    else if (path === '/jwks') requests.jwks++;
    else if (path?.startsWith('/.well-known/')) requests.discovery++;
    const fate = faults.gate.apply(req, res);
    if (fate.outcome === 'done') return;
    // Unreferenced: the listener keeps the process alive, not a late answer.
    if (fate.delayMs > 0) setTimeout(() => answer(req, res), fate.delayMs).unref();
    else answer(req, res);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  const closeListener = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen(options.port ?? 0);
  const { port } = server.address() as AddressInfo;
  const faults = createFaults({ close: closeListener, listen: () => listen(port) });
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };

  const resources = new Map(options.resources.map((r) => [r.identifier, r]));
  const rsClient = { clientId: 'resource-server', clientSecret: randomBytes(24).toString('base64url') };
  const rsJwtClient = { clientId: 'resource-server-jwt', clientSecret: randomBytes(24).toString('base64url') };
  const mintSecret = randomBytes(24).toString('base64url');
  const umaClient = { clientId: 'uma-client', clientSecret: randomBytes(24).toString('base64url') };
  const uma = options.uma
    ? prepareUma(options.uma, {
        resourceServers: [rsClient, rsJwtClient],
        umaClient,
        sign: (claims) => new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey),
      })
    : undefined;
  // With registration on, the resources' scopes are the AS's own (static) scopes too: oidc-provider accepts only
  // those in a registered client's `scope` (RFC 7591 §2), and MCP clients register with the scopes they need.
  const resourceScopes = options.registration ? [...new Set(options.resources.flatMap((r) => r.scopes))] : [];
  // With UMA on, `uma_protection` (and for UMA 1.0 `uma_authorization`) are static scopes that only the
  // resource-server clients (the UMA client) may ask for, through the `scope` client metadata; the resources'
  // scopes stay open to every pre-configured client.
  const scoped = (client: Record<string, unknown>) =>
    uma ? { ...client, scope: [uma.clientScope(String(client.client_id)), ...resourceScopes].join(' ') } : client;
  const staticScopes =
    uma || resourceScopes.length ? { scopes: [...new Set(['openid', 'offline_access', ...(uma?.scopes ?? []), ...resourceScopes])] } : {};

  const restoreAgain = quietOidcProvider();
  const provider = withRestore(
    restoreAgain,
    () =>
      new Provider(issuer, {
        jwks: { keys: [privateJwk] },
        clients: [
          { client_id: 'dev-jwt', client_secret: mintSecret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
          {
            client_id: 'dev-opaque',
            client_secret: mintSecret,
            grant_types: ['client_credentials'],
            redirect_uris: [],
            response_types: [],
          },
          {
            client_id: rsClient.clientId,
            client_secret: rsClient.clientSecret,
            grant_types: ['client_credentials'],
            redirect_uris: [],
            response_types: [],
          },
          {
            client_id: rsJwtClient.clientId,
            client_secret: rsJwtClient.clientSecret,
            grant_types: ['client_credentials'],
            redirect_uris: [],
            response_types: [],
            introspection_signed_response_alg: 'RS256',
          },
          ...(uma ? [uma.client] : []),
        ].map(scoped),
        ...staticScopes,
        ...(uma ? { extraTokenClaims: uma.extraTokenClaims } : {}),
        ttl: {
          ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
            token.resourceServer?.accessTokenTTL ?? 600,
        },
        features: {
          devInteractions: { enabled: false },
          clientCredentials: { enabled: true },
          // Any authenticated client may introspect and revoke: this is a development server.
          introspection: { enabled: true, allowedPolicy: async () => true },
          jwtIntrospection: { enabled: true },
          revocation: { enabled: true, allowedPolicy: async () => true },
          ...(options.registration
            ? {
                registration: { enabled: true, initialAccessToken: registrationToken },
                registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
              }
            : {}),
          resourceIndicators: {
            enabled: true,
            defaultResource: async () => undefined,
            useGrantedResource: async () => true,
            getResourceServerInfo: async (_ctx: unknown, indicator: string, client: { clientId: string }) => {
              const resource = resources.get(indicator);
              if (!resource) {
                const { errors } = (await importPeer('oidc-provider', 'startDevAuthorizationServer')) as {
                  errors: { InvalidTarget: new () => Error };
                };
                throw new errors.InvalidTarget();
              }
              const format =
                client.clientId === 'dev-opaque' ? 'opaque' : client.clientId === 'dev-jwt' ? 'jwt' : (resource.format ?? 'jwt');
              return {
                scope: resource.scopes.join(' '),
                audience: resource.identifier,
                accessTokenTTL: resource.ttlSeconds ?? 3600,
                accessTokenFormat: format,
                ...(format === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
              };
            },
          },
        },
      }),
  );
  late.handler = provider.callback();
  if (uma) late.uma = await uma.attach(provider, issuer);

  const tokenEndpoint = `${issuer}/token`;

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    resourceServerClient: rsClient,
    resourceServerJwtClient: rsJwtClient,
    tokenEndpoint,
    mintingClients: {
      jwt: { clientId: 'dev-jwt', clientSecret: mintSecret },
      opaque: { clientId: 'dev-opaque', clientSecret: mintSecret },
    },
    requests,
    ...(late.uma ? { uma: late.uma.controls } : {}),
    async mintAccessToken({ resource, scope, format }) {
      const registered = resources.get(resource);
      const clientId = (format ?? registered?.format ?? 'jwt') === 'opaque' ? 'dev-opaque' : 'dev-jwt';
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource });
      if (scope) body.set('scope', scope);
      const res = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { authorization: basic(clientId, mintSecret), 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const json = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!res.ok || !json.access_token) {
        throw new Error(`the development AS refused to mint a token: ${json.error ?? res.status} ${json.error_description ?? ''}`);
      }
      return json.access_token;
    },
    async signToken({ claims = {}, header = {} }) {
      const now = Math.floor(Date.now() / 1000);
      const first = options.resources[0]?.identifier;
      const payload: Record<string, unknown> = {
        iss: issuer,
        sub: 'dev-user',
        aud: first,
        client_id: 'dev-jwt',
        iat: now,
        exp: now + 300,
        jti: randomBytes(12).toString('base64url'),
        ...claims,
      };
      for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
      const protectedHeader = { alg: 'RS256', typ: 'at+jwt', kid, ...header } as { alg: string };
      return new SignJWT(payload as JWTPayload).setProtectedHeader(protectedHeader).sign(privateKey);
    },
    async revoke(token) {
      const res = await fetch(`${issuer}/token/revocation`, {
        method: 'POST',
        headers: { authorization: basic('dev-jwt', mintSecret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
      });
      if (!res.ok) throw new Error(`revocation failed: ${res.status}`);
    },
    faults: faults.controls,
    async close() {
      faults.controls.clear();
      if (server.listening) await closeListener();
    },
  };
}

/**
 * oidc-provider's `initialAccessToken` for the registration option: the token, or `false` for open registration.
 * Open only when asked for by name: an unset token (`{ initialAccessToken: process.env.X }`) is a mistake, said
 * now, not an open endpoint.
 */
function registrationGate(registration: NonNullable<DevAuthorizationServerOptions['registration']>): string | false {
  const r = registration as { initialAccessToken?: unknown; open?: unknown };
  if (r.open === true && r.initialAccessToken === undefined) return false;
  if (typeof r.initialAccessToken === 'string' && r.initialAccessToken && r.open === undefined) return r.initialAccessToken;
  throw new TypeError('registration takes { initialAccessToken: <non-empty string> } or { open: true }');
}

/* eslint-disable no-console -- this swaps console methods to hold back oidc-provider notices */
function quietOidcProvider(): () => void {
  const { warn, info } = console;
  const filter =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider')) return;
      original.apply(console, args);
    };
  console.warn = filter(warn);
  console.info = filter(info);
  return () => {
    console.warn = warn;
    console.info = info;
  };
}
/* eslint-enable no-console */

function withRestore<T>(restore: () => void, fn: () => T): T {
  try {
    return fn();
  } finally {
    restore();
  }
}

/**
 * Under a test runner's sandbox the server lives in Node's own realm, and so do the errors it throws: there
 * `err instanceof Error` is false and `rejects.toThrow(Error)` fails. Its methods' errors are made again here.
 */
function inThisRealm<T extends object>(server: T): T {
  return new Proxy(server, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          rethrowHere(err);
        }
        return (typeof result === 'object' || typeof result === 'function') &&
          result !== null &&
          typeof (result as { then?: unknown }).then === 'function'
          ? Promise.resolve(result).catch(rethrowHere)
          : result;
      };
    },
  });
}

/** Throw `err` again as an error of this realm (same name, message and code; the original as `cause`). */
function rethrowHere(err: unknown): never {
  if (err instanceof Error || typeof err !== 'object' || err === null) throw err;
  const { name, message, code } = err as { name?: unknown; message?: unknown; code?: unknown };
  const local = name === 'TypeError' ? new TypeError(String(message), { cause: err }) : new Error(String(message), { cause: err });
  if (typeof name === 'string' && name !== 'TypeError') local.name = name;
  if (code !== undefined) Object.assign(local, { code });
  throw local;
}
