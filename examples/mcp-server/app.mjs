// An MCP server (the official SDK's McpServer over Streamable HTTP) protected by the kit: the resource server
// of the MCP authorization spec. MCP clients find the authorization server from the 401 and the RFC 9728
// metadata, get a token for this server's canonical URI (RFC 8707) and present it on every request.
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  oauthResourceServer,
  protectedResourceMetadata,
  requireScopes,
  requireToolScopes,
  getAuth,
  assertRouteScopes,
} from 'oauth-resource-server';

/**
 * @param {{ issuer: string, url: string }} config
 *   `url`: the MCP endpoint's canonical URI (lowercase scheme and host, no fragment, no trailing slash), e.g.
 *   `https://mcp.example.com/mcp`. Tokens must be issued for exactly this URI, and the metadata names it.
 */
export function createMcpApp({ issuer, url }) {
  const app = express();
  // authRequired: false: a request without a token goes on to the endpoint's requireScopes, whose 401 names
  // the scope to ask for (the MCP spec's scope guidance). So every route here declares its scopes.
  const rs = oauthResourceServer({ issuer, resource: url, authRequired: false, metadata: { resourceName: 'Notes MCP server' } });
  // RFC 9728 metadata at /.well-known/oauth-protected-resource/mcp, named in every 401 and 403.
  app.use(protectedResourceMetadata(rs, { app }));
  app.use(rs);

  const notes = ['buy tea'];
  const endpoint = new URL(url).pathname;
  app.post(
    endpoint,
    requireScopes('mcp:tools'),
    express.json(),
    // A tool that needs more: a 403 insufficient_scope naming both scopes, which the client steps up from.
    requireToolScopes({ clear_notes: ['mcp:tools', 'notes:admin'] }),
    async (req, res) => {
      // Stateless: a server and a transport per request, each request authorized on its own token.
      const server = notesServer(notes, getAuth(req));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(req, res, req.body);
      } catch {
        if (!res.headersSent) res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null });
      }
    },
  );
  // No server-initiated stream and no session to end: the transport allows a 405 for GET and DELETE.
  app.all(endpoint, requireScopes('mcp:tools'), (req, res) => {
    res.set('allow', 'POST').status(405).end();
  });
  // What express.json() refuses (not JSON, too large) is a JSON-RPC error, never Express's error page.
  app.use((err, req, res, next) => {
    if (res.headersSent) return next(err);
    const status = Number.isInteger(err?.status) && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json({
      jsonrpc: '2.0',
      id: null,
      error: status === 400 ? { code: -32700, message: 'Parse error' } : { code: -32000, message: 'Request refused' },
    });
  });

  assertRouteScopes(app);
  return app;
}

/** The MCP server of one request; its tools see the caller through getAuth(req). */
function notesServer(notes, auth) {
  const server = new McpServer({ name: 'notes', version: '1.0.0' });
  const text = (value) => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });
  server.registerTool('whoami', { description: 'Who the access token was issued to' }, () =>
    text({ subject: auth.subject, client: auth.clientId, scopes: [...auth.scopes] }),
  );
  server.registerTool('list_notes', { description: 'Every note' }, () => text(notes));
  server.registerTool('clear_notes', { description: 'Delete every note (needs notes:admin)' }, () => {
    notes.length = 0;
    return text(notes);
  });
  return server;
}
