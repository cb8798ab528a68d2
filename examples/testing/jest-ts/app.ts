// The API under test (TypeScript, compiled to CommonJS by ts-jest).
import express from 'express';
import { oauthResourceServer, requireScopes, getAuth, type ResourceServerOptions } from 'oauth-resource-server';

export function createApp(options: ResourceServerOptions): express.Express {
  const app = express();
  app.use(oauthResourceServer(options));
  app.get('/orders', requireScopes('read:orders'), (req, res) => {
    res.json({ for: getAuth(req)?.subject, scopes: [...(getAuth(req)?.scopes ?? [])] });
  });
  return app;
}
