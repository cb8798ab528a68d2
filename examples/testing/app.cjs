// The API under test (CommonJS): the resource server's options come from the caller, so tests can point it
// at a test issuer or a development authorization server.
const express = require('express');
const { oauthResourceServer, requireScopes, getAuth } = require('oauth-resource-server');

function createApp(options) {
  const app = express();
  app.use(oauthResourceServer(options));
  app.get('/orders', requireScopes('read:orders'), (req, res) => res.json({ for: getAuth(req).subject }));
  app.post('/orders', requireScopes('write:orders'), (req, res) => res.status(201).json({ created: true }));
  return app;
}

module.exports = { createApp };
