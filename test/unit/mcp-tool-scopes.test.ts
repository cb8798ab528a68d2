/**
 * `requireToolScopes`: per-tool scopes on an MCP endpoint, where every call is a JSON-RPC POST to one route.
 * A listed tool's call without its scopes never reaches the transport (single message or batch), the 403 names
 * the scopes, nothing else is held up, a tool name is only ever compared (never looked up on a prototype), and
 * a body the middleware could not read is never passed on to be read and run unchecked. On Express 4 and 5.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { RequestHandler } from 'express';
import {
  ConfigurationError,
  oauthResourceServer,
  parseChallenges,
  requireScopes,
  requireToolScopes,
  type ToolScopes,
} from '../../src/index.js';
import { createTestIssuer, signTestToken, type TestIssuer } from '../../src/testing/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express-versions.js';

const MCP = 'https://mcp.example.com/mcp';
let issuer: TestIssuer;
let base: string;
let admin: string;
beforeAll(async () => {
  issuer = await createTestIssuer();
  base = await signTestToken(issuer, { audience: MCP, scope: 'mcp:tools' });
  admin = await signTestToken(issuer, { audience: MCP, scope: 'mcp:tools notes:admin' });
});

const call = (name: unknown, id = 1) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name } });
const challenge = (res: request.Response) => Object.fromEntries(parseChallenges(res.headers['www-authenticate']!)[0]!.params);

describe.each(EXPRESS_VERSIONS)('requireToolScopes (%s)', (_name, express: ExpressFactory) => {
  function mcpApp(options: { parse?: boolean; tools?: Record<string, ToolScopes>; errors?: string[] } = {}) {
    const app = express();
    const errors = options.errors ?? [];
    app.use(
      oauthResourceServer({
        issuer: issuer.trustedIssuer,
        resource: MCP,
        logger: { warn: () => undefined, error: (m: string) => errors.push(m) },
      }),
    );
    const reached: unknown[] = [];
    const transport: RequestHandler = (req, res) => {
      reached.push(req.body);
      res.json({ ran: true });
    };
    const tools = requireToolScopes(options.tools ?? { clear_notes: ['mcp:tools', 'notes:admin'] });
    app.post('/mcp', requireScopes('mcp:tools'), ...(options.parse === false ? [] : [express.json()]), tools, transport);
    app.get('/mcp', tools, (_req, res) => {
      res.status(405).end();
    });
    return { app, reached };
  }
  const send = (app: object, body: unknown, token = base) =>
    request(app as Parameters<typeof request>[0])
      .post('/mcp')
      .set('authorization', `Bearer ${token}`)
      .send(body as object);

  it("a listed tool's call without its scopes: 403 insufficient_scope naming them, and the transport never sees it", async () => {
    const { app, reached } = mcpApp();
    const res = await send(app, call('clear_notes'));
    expect(res.status).toBe(403);
    expect(challenge(res)).toMatchObject({ error: 'insufficient_scope', scope: 'mcp:tools notes:admin' });
    expect(res.body).toMatchObject({ error: 'insufficient_scope' });
    expect(reached).toEqual([]);
  });

  it('with its scopes the call goes through, as parsed', async () => {
    const { app, reached } = mcpApp();
    const res = await send(app, call('clear_notes'), admin);
    expect(res.status).toBe(200);
    expect(reached).toEqual([call('clear_notes')]);
  });

  it('other tools, other methods, notifications and GET pass', async () => {
    const { app, reached } = mcpApp();
    const bodies = [
      call('list_notes'),
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      call('Clear_Notes'),
    ];
    for (const body of bodies) expect((await send(app, body)).status).toBe(200);
    expect(reached).toEqual(bodies);
    expect((await request(app).get('/mcp').set('authorization', `Bearer ${base}`)).status).toBe(405);
  });

  it('a batch that calls a listed tool needs its scopes, wherever the call sits in it', async () => {
    const { app, reached } = mcpApp();
    for (const batch of [
      [call('clear_notes')],
      [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }, call('clear_notes', 2)],
      [call('list_notes'), call('clear_notes', 2), call('list_notes', 3)],
    ]) {
      const res = await send(app, batch);
      expect(res.status).toBe(403);
      expect(challenge(res)).toMatchObject({ scope: 'mcp:tools notes:admin' });
    }
    expect(reached).toEqual([]);
    expect((await send(app, [call('list_notes'), call('clear_notes', 2)], admin)).status).toBe(200);
    expect((await send(app, [call('list_notes')])).status).toBe(200);
  });

  it("tool names that are Object.prototype's own members are only names: no requirement, no 500", async () => {
    const { app, reached } = mcpApp();
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 42, null, { clear_notes: 1 }]) {
      expect((await send(app, call(name))).status).toBe(200);
    }
    expect(reached).toHaveLength(7);
  });

  it('a JSON body nobody parsed is refused (400), never passed on to be read unchecked; the fix is logged once', async () => {
    const errors: string[] = [];
    const { app, reached } = mcpApp({ parse: false, errors });
    for (let i = 0; i < 2; i++) {
      const res = await send(app, call('clear_notes'));
      expect(res.status).toBe(400);
      expect(challenge(res)).toMatchObject({ error: 'invalid_request' });
    }
    const odd = await request(app)
      .post('/mcp')
      .set('authorization', `Bearer ${base}`)
      .set('content-type', 'Application/JSON; charset')
      .send(JSON.stringify(call('clear_notes')));
    expect(odd.status).toBe(400);
    expect(reached).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(/put express\.json\(\) before it/)]);
  });

  it('a request with no JSON body to read is left to the transport (it refuses those itself)', async () => {
    const { app, reached } = mcpApp({ parse: false });
    const text = await request(app)
      .post('/mcp')
      .set('authorization', `Bearer ${base}`)
      .set('content-type', 'text/plain')
      .send('{"method":"tools/call"}');
    expect(text.status).toBe(200);
    const empty = await request(app).post('/mcp').set('authorization', `Bearer ${base}`).set('content-type', 'application/json');
    expect(empty.status).toBe(200);
    expect(reached).toHaveLength(2);
  });

  it('anyOf: one of the scopes is enough; the 403 names the first', async () => {
    const { app } = mcpApp({ tools: { clear_notes: { anyOf: ['notes:admin', 'notes:owner'] } } });
    const owner = await signTestToken(issuer, { audience: MCP, scope: 'mcp:tools notes:owner' });
    expect((await send(app, call('clear_notes'), owner)).status).toBe(200);
    const res = await send(app, call('clear_notes'));
    expect(res.status).toBe(403);
    expect(challenge(res)).toMatchObject({ scope: 'notes:admin' });
  });

  it("with authRequired: false, a tokenless call of a listed tool is a 401 naming the tool's scopes; others pass", async () => {
    const app = express();
    app.use(oauthResourceServer({ issuer: issuer.trustedIssuer, resource: MCP, authRequired: false, logger: false }));
    const reached: unknown[] = [];
    app.post('/mcp', express.json(), requireToolScopes({ clear_notes: ['mcp:tools', 'notes:admin'] }), (req, res) => {
      reached.push(req.body);
      res.end();
    });
    const res = await request(app).post('/mcp').send(call('clear_notes'));
    expect(res.status).toBe(401);
    expect(challenge(res)).toEqual({ scope: 'mcp:tools notes:admin' });
    expect((await request(app).post('/mcp').send(call('list_notes'))).status).toBe(200);
    expect(reached).toEqual([call('list_notes')]);
  });

  it('without the app-wide middleware: 500 server_error, the call never runs', async () => {
    const app = express();
    let ran = false;
    app.post('/mcp', express.json(), requireToolScopes({ clear_notes: 'notes:admin' }), (_req, res) => {
      ran = true;
      res.end();
    });
    const res = await request(app).post('/mcp').send(call('list_notes'));
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ error: 'server_error' });
    expect(ran).toBe(false);
  });
});

describe('requireToolScopes declarations', () => {
  it.each([
    ['no tools', {}],
    ['an empty list', { clear_notes: [] }],
    ['a derived scope', { clear_notes: { resource: 'notes' } }],
    ['an empty anyOf', { clear_notes: { anyOf: [] } }],
    ['a typo', { clear_notes: { allof: ['a'] } }],
  ])('%s is a ConfigurationError at declaration', (_what, tools) => {
    expect(() => requireToolScopes(tools as Record<string, ToolScopes>)).toThrow(ConfigurationError);
  });

  it('an array or null is a ConfigurationError', () => {
    expect(() => requireToolScopes([] as unknown as Record<string, ToolScopes>)).toThrow(ConfigurationError);
    expect(() => requireToolScopes(null as unknown as Record<string, ToolScopes>)).toThrow(ConfigurationError);
  });
});
