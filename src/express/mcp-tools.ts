/**
 * Per-tool scopes for an MCP server (Model Context Protocol, Streamable HTTP transport). Every MCP call is a
 * JSON-RPC message POSTed to one endpoint, so the route's `requireScopes` cannot tell one tool from another;
 * this middleware reads the parsed JSON-RPC body and asks, for each `tools/call` of a listed tool, for that
 * tool's scopes, answering 403 `insufficient_scope` naming them (MCP authorization, "Scope Challenge
 * Handling": the challenge a client steps up from).
 */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { ConfigurationError, InsufficientScopeError, InvalidRequestError } from '../answers/errors.js';
import { challengeScopes, type ScopeRequirement } from '../scopes/requirement.js';
import { requireScopes, ROUTE_SCOPES, type ScopeDeclaration } from './require-scopes.js';
import { peekState } from './request-context.js';
import { respondUnconfigured, respondWithError } from './respond.js';

/** The scopes of one tool: one scope, all of a list, or `{ allOf, anyOf }` as in {@link requireScopes}. */
export type ToolScopes = string | readonly string[] | Pick<ScopeDeclaration, 'allOf' | 'anyOf'>;

/**
 * Require scopes per MCP tool, on the MCP endpoint, after the JSON body parser and before the transport. Needs
 * the app-wide {@link oauthResourceServer} middleware before it.
 *
 * Give each tool everything its call needs, the endpoint's own scope included: the 403's `scope` is then the
 * whole set, so a client that re-authorizes with exactly the challenged scopes keeps the ones it had (MCP
 * authorization, "Runtime Insufficient Scope Errors"). A batch (a JSON-RPC array) needs the scopes of every
 * listed tool it calls. Tools not listed, and every other method, pass. Pass `req.body` to the transport
 * (`transport.handleRequest(req, res, req.body)`), so it runs exactly the messages checked here.
 *
 * These scopes are not added to the metadata's `scopes_supported`: MCP clients ask for all of those at first,
 * and the spec wants that list to be what basic use needs, the rest asked for by step-up (RFC 9728 §2 lets a
 * resource leave scopes out).
 *
 * @example
 * ```ts
 * app.post('/mcp', requireScopes('mcp:tools'), express.json(),
 *   requireToolScopes({ delete_note: ['mcp:tools', 'notes:admin'] }),
 *   (req, res) => transport.handleRequest(req, res, req.body));
 * ```
 */
export function requireToolScopes(tools: Readonly<Record<string, ToolScopes>>): RequestHandler {
  if (typeof tools !== 'object' || tools === null || Array.isArray(tools)) {
    throw new ConfigurationError('requireToolScopes takes an object: { toolName: scopes }');
  }
  // A Map of the own entries: a tool name is the client's text, and must never reach Object.prototype.
  const requirements = new Map<string, ScopeRequirement>();
  for (const [name, scopes] of Object.entries(tools)) {
    const args =
      typeof scopes === 'string' ? [scopes] : Array.isArray(scopes) ? [...(scopes as readonly string[])] : [scopes as ScopeDeclaration];
    const declared = requireScopes(...args)[ROUTE_SCOPES];
    if (declared.kind !== 'static') {
      throw new ConfigurationError(
        `requireToolScopes: tool ${JSON.stringify(name)} needs its scopes written out (nothing to derive them from)`,
      );
    }
    requirements.set(name, declared.requirement);
  }
  if (!requirements.size) throw new ConfigurationError('requireToolScopes: no tools given');
  const once = { done: false };
  const unparsed = { done: false };

  return function requireToolScopesHandler(req: Request, res: Response, next: NextFunction): void {
    const state = peekState(req);
    if (!state?.server)
      return respondUnconfigured(undefined, 'requireToolScopes() ran without app.use(oauthResourceServer(...)) before it', res, next, once);
    const { server, auth } = state;
    // MCP Streamable HTTP: only a POST carries JSON-RPC messages (GET opens a stream, DELETE ends a session).
    if (req.method !== 'POST') return next();
    const body: unknown = req.body;
    if (body === undefined) {
      // Nothing parsed. With no JSON body to read the transport refuses the request itself (415, or a JSON-RPC
      // parse error) and runs nothing. With one, the transport would read and run what was never checked here.
      if (!carriesJsonBody(req)) return next();
      if (!unparsed.done) {
        unparsed.done = true;
        server.options.logger.error('requireToolScopes() saw a JSON request whose body was not parsed: put express.json() before it');
      }
      return respondWithError(
        server,
        new InvalidRequestError('ERR_REQUEST_MALFORMED', 'the request body could not be read as JSON'),
        res,
        next,
      );
    }
    for (const message of Array.isArray(body) ? (body as unknown[]) : [body]) {
      const name = calledTool(message);
      const needed = name === undefined ? undefined : requirements.get(name);
      if (!needed) continue;
      if (!auth) return respondWithError(server, server.missingCredentials(challengeScopes(needed)), res, next);
      if (!auth.granted.satisfies(needed)) return respondWithError(server, new InsufficientScopeError(challengeScopes(needed)), res, next);
    }
    next();
  };
}

/** The tool a JSON-RPC message calls (`tools/call`, `params.name`), if it is one. */
function calledTool(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { method, params } = message as { method?: unknown; params?: unknown };
  if (method !== 'tools/call' || typeof params !== 'object' || params === null) return undefined;
  const name = (params as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Whether the request has a body that a JSON reader would read: a body at all (RFC 9112 §6.3), and a media
 * type whose essence is `application/json`, read leniently (parameters and their syntax ignored), so that no
 * type the transport reads as JSON is taken for something else.
 */
function carriesJsonBody(req: Request): boolean {
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return false;
  const type = req.headers['content-type'];
  return typeof type === 'string' && type.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}
