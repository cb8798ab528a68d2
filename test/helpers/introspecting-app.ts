/**
 * An Express app guarded by the kit that introspects every token at a fake AS (test/helpers/fake-authorization-
 * server.ts), and an active answer for it: what the introspection tests build their cases on.
 */
import express from 'express';
import { oauthResourceServer, requireScopes, type ResourceServerOptions } from '../../src/index.js';
import type { FakeAuthorizationServer } from './fake-authorization-server.js';

/** The app: `GET /r` needs the `read` scope and answers with `handler` (default: `ok`). */
export function introspectingApp(
  fake: FakeAuthorizationServer,
  resource: string,
  introspection: Record<string, unknown> = {},
  extra: Partial<ResourceServerOptions> = {},
  handler: express.RequestHandler = (_req, res) => void res.end('ok'),
): express.Express {
  const a = express();
  a.use(
    oauthResourceServer({
      issuer: {
        issuer: fake.issuer,
        validation: 'introspection',
        introspection: { clientId: 'rs-client', clientSecret: 'rs-secret', endpoint: fake.introspectionEndpoint, ...introspection },
      },
      resource,
      logger: false,
      ...extra,
    }),
  );
  a.get('/r', requireScopes('read'), handler);
  return a;
}

/** An active answer for `resource` with the `read` scope, valid five more minutes. */
export function activeAnswer(
  fake: FakeAuthorizationServer,
  resource: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    active: true,
    scope: 'read',
    client_id: 'c1',
    sub: 'u1',
    aud: resource,
    iss: fake.issuer,
    exp: Math.floor(Date.now() / 1000) + 300,
    token_type: 'Bearer',
    ...extra,
  };
}
