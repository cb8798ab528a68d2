/**
 * Client authentication with `client_secret_basic` (RFC 6749 §2.3.1) against two kinds of authorization
 * server: one that form-urldecodes the Basic credentials as RFC 6749 asks, and one that compares them as
 * sent (what many deployed servers and proxies do). Ids and secrets made of letters, digits and `-_.*` must
 * pass both; others are encoded as RFC 6749 asks, which only the decoding server can read back.
 * Introspection (an opaque token through the middleware) and the PAT (client_credentials) are both covered;
 * RFC 7591 registration sends no client credentials (a bearer initial access token, or none).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import request from 'supertest';
import { oauthResourceServer, requireScopes, getAuth, MemoryStore, registerResourceServer } from '../../src/index.js';
import { ProtectionToken } from '../../src/authz-server/protection-token.js';
import { basicAuthorization, formUrlEncode } from '../../src/http/basic-credentials.js';
import { startLoopbackServer, writeAnswer, type LoopbackServer } from '../helpers/loopback-server.js';

const RESOURCE = 'https://api.example.com';
const TOKEN = 'opaque-token-0123456789';

type Mode = 'decoding' | 'raw-comparing';
interface Credentials {
  id: string;
  secret: string;
}

interface AsDouble {
  issuer: string;
  /** Every `Authorization` header the AS received, as sent. */
  authorizations: string[];
}

const servers: LoopbackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** RFC 6749 §2.3.1 read strictly: form-urldecode (`+` is a space, then percent-decoding) after base64. */
function formUrlDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The id and secret of a Basic header: split at the first `:`, decoded or not. */
function basicCredentials(header: string | undefined, mode: Mode): Credentials | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const [id, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  if (mode === 'raw-comparing') return { id, secret };
  const [did, dsecret] = [formUrlDecode(id), formUrlDecode(secret)];
  return did === undefined || dsecret === undefined ? undefined : { id: did, secret: dsecret };
}

/** An AS with an introspection and a token endpoint that knows one client. */
async function startAs(mode: Mode, client: Credentials): Promise<AsDouble> {
  const authorizations: string[] = [];
  let issuer = '';
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      authorizations.push(req.headers.authorization ?? '');
      const got = basicCredentials(req.headers.authorization, mode);
      if (!got || got.id !== client.id || got.secret !== client.secret) {
        return writeAnswer(res, { status: 401, headers: { 'www-authenticate': 'Basic' }, json: { error: 'invalid_client' } });
      }
      const now = Math.floor(Date.now() / 1000);
      if (req.url === '/introspect') {
        return writeAnswer(res, {
          status: 200,
          json: {
            active: true,
            scope: 'read',
            sub: 'u1',
            client_id: 'c1',
            aud: RESOURCE,
            iss: issuer,
            exp: now + 300,
            token_type: 'Bearer',
          },
        });
      }
      if (req.url === '/token')
        return writeAnswer(res, { status: 200, json: { access_token: 'pat-1', token_type: 'Bearer', expires_in: 300 } });
      writeAnswer(res, { status: 404, json: {} });
    });
  };
  const server = await startLoopbackServer(handler);
  servers.push(server);
  issuer = server.base;
  return { issuer, authorizations };
}

function app(as: AsDouble, c: Credentials) {
  const a = express();
  a.use(
    oauthResourceServer({
      issuer: {
        issuer: as.issuer,
        validation: 'introspection',
        introspection: { clientId: c.id, clientSecret: c.secret, endpoint: `${as.issuer}/introspect` },
      },
      resource: RESOURCE,
      logger: false,
      http: { timeoutMs: 2000 },
    }),
  );
  a.get('/r', requireScopes('read'), (req, res) => {
    res.json({ sub: getAuth(req)!.subject });
  });
  return a;
}

const introspect = (as: AsDouble, c: Credentials) => request(app(as, c)).get('/r').set('Authorization', `Bearer ${TOKEN}`);
const pat = (as: AsDouble, c: Credentials) =>
  new ProtectionToken({
    issuer: as.issuer,
    tokenEndpoint: `${as.issuer}/token`,
    clientId: c.id,
    clientSecret: c.secret,
    timeoutMs: 2000,
    maxBytes: 65536,
  }).get();

/** Made only of characters the serializer leaves alone: the same bytes whether the AS decodes or not. */
const PLAIN: Credentials = { id: 'rs-client_1.api', secret: 'Zk-3_q.Wx*9-' };
/** With `:`, `%`, a space (and `-`): encoded per RFC 6749 §2.3.1. */
const SPECIAL: Credentials = { id: 'rs client:1-a', secret: 'p:w%d x-1' };
/** What RFC 6749 §2.3.1 with the WHATWG serializer puts on the wire for SPECIAL. */
const SPECIAL_WIRE = `Basic ${Buffer.from('rs+client%3A1-a:p%3Aw%25d+x-1').toString('base64')}`;

describe('formUrlEncode (WHATWG application/x-www-form-urlencoded serializer)', () => {
  it('leaves letters, digits and *-._ alone, writes a space as +, and %XX (upper case) for every other byte', () => {
    expect(formUrlEncode('AZaz09*-._')).toBe('AZaz09*-._');
    expect(formUrlEncode('a b')).toBe('a+b');
    expect(formUrlEncode(":%+/=&~!'()")).toBe('%3A%25%2B%2F%3D%26%7E%21%27%28%29');
    expect(formUrlEncode('é€')).toBe('%C3%A9%E2%82%AC');
    expect(formUrlEncode('\u007f\u0000')).toBe('%7F%00');
  });

  it('agrees with URLSearchParams for every ASCII character, non-ASCII ones and a lone surrogate', () => {
    const samples = [...Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)), 'ü', '日本', '😀', '\ud800', 'a\udc00b'];
    for (const s of samples) expect(formUrlEncode(s)).toBe(new URLSearchParams([['', s]]).toString().slice(1));
  });

  it('builds the Basic header from the encoded id and secret (RFC 6749 §2.3.1)', () => {
    expect(basicAuthorization(SPECIAL.id, SPECIAL.secret)).toBe(SPECIAL_WIRE);
    expect(basicAuthorization(PLAIN.id, PLAIN.secret)).toBe(`Basic ${Buffer.from(`${PLAIN.id}:${PLAIN.secret}`).toString('base64')}`);
  });
});

describe.each<Mode>(['decoding', 'raw-comparing'])('introspection with client_secret_basic, %s AS', (mode) => {
  it('an id and secret with - _ . * are accepted: the opaque token is answered active', async () => {
    const as = await startAs(mode, PLAIN);
    const res = await introspect(as, PLAIN);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sub: 'u1' });
    expect(as.authorizations).toEqual([`Basic ${Buffer.from(`${PLAIN.id}:${PLAIN.secret}`).toString('base64')}`]);
  });
});

describe.each<Mode>(['decoding', 'raw-comparing'])('the PAT (client_credentials) with client_secret_basic, %s AS', (mode) => {
  it('an id and secret with - _ . * get a PAT', async () => {
    const as = await startAs(mode, PLAIN);
    expect(await pat(as, PLAIN)).toBe('pat-1');
    expect(as.authorizations).toEqual([`Basic ${Buffer.from(`${PLAIN.id}:${PLAIN.secret}`).toString('base64')}`]);
  });
});

describe('credentials with : % and a space', () => {
  it('introspection: an AS that decodes per RFC 6749 §2.3.1 reads them back exactly', async () => {
    const as = await startAs('decoding', SPECIAL);
    expect((await introspect(as, SPECIAL)).status).toBe(200);
    expect(as.authorizations).toEqual([SPECIAL_WIRE]);
  });

  it('introspection: an AS that compares raw gets exactly the RFC 6749 bytes (and so refuses them: 503)', async () => {
    const as = await startAs('raw-comparing', SPECIAL);
    expect((await introspect(as, SPECIAL)).status).toBe(503);
    expect(as.authorizations).toEqual([SPECIAL_WIRE]);
  });

  it('PAT: an AS that decodes per RFC 6749 §2.3.1 reads them back exactly', async () => {
    const as = await startAs('decoding', SPECIAL);
    expect(await pat(as, SPECIAL)).toBe('pat-1');
    expect(as.authorizations).toEqual([SPECIAL_WIRE]);
  });

  it('PAT: an AS that compares raw gets exactly the RFC 6749 bytes', async () => {
    const as = await startAs('raw-comparing', SPECIAL);
    await expect(pat(as, SPECIAL)).rejects.toThrow();
    expect(as.authorizations).toEqual([SPECIAL_WIRE]);
  });
});

describe('registration (RFC 7591)', () => {
  it('sends no client credentials: only the initial access token, as a bearer token', async () => {
    const seen: Array<string | undefined> = [];
    const server = await startLoopbackServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(req.headers.authorization);
        writeAnswer(res, { status: 201, json: { client_id: PLAIN.id, client_secret: PLAIN.secret } });
      });
    });
    servers.push(server);
    const creds = await registerResourceServer({
      issuer: server.base,
      registrationEndpoint: `${server.base}/register`,
      initialAccessToken: 'iat-1',
      store: new MemoryStore(),
    });
    expect(creds).toMatchObject({ clientId: PLAIN.id, clientSecret: PLAIN.secret });
    expect(seen).toEqual(['Bearer iat-1']);
  });
});
