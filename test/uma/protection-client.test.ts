/**
 * The protection API client on the wire, against a recording server whose answers the test chooses:
 * exactly what is sent (FedAuthz §3.2, §4.1) and how each answer is read, including the variants real
 * servers give (a Location header without `_id`, 200 or 204 on delete, objects in a list).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type IncomingHttpHeaders } from 'node:http';
import { ProtectionApiError } from '../../src/uma/resource-registration.js';
import { protectionClientAt } from '../helpers/protection-client.js';
import { startLoopbackServer, writeAnswer, type LoopbackServer } from '../helpers/loopback-server.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}
type Answer = { status: number; json?: unknown; headers?: Record<string, string> };

let server: LoopbackServer;
let base = '';
const seen: Seen[] = [];
let answers: Array<Answer | ((s: Seen) => Answer)> = [];
let tokensIssued = 0;

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      if (req.url === '/token') {
        tokensIssued++;
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ access_token: `pat-${tokensIssued}`, token_type: 'Bearer', expires_in: 300 }));
      }
      const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
      seen.push(s);
      const next = answers.shift() ?? { status: 500 };
      const a = typeof next === 'function' ? next(s) : next;
      writeAnswer(res, a);
    });
  });
  base = server.base;
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  seen.length = 0;
  answers = [];
});

const client = (profile: 'uma2' | 'keycloak' = 'uma2') => protectionClientAt(base, profile);

describe('resource registration on the wire', () => {
  it('creates with POST rreguri/, JSON with resource_scopes, the PAT as Bearer, and reads _id (CONFORMANCE 58, 59)', async () => {
    answers = [
      { status: 201, json: { _id: 'abc', user_access_policy_uri: 'https://as/policy/abc' }, headers: { location: `${base}/rreg/abc` } },
    ];
    const r = await client().create({ scopes: ['view'], name: 'Album', type: 'urn:album' });
    expect(r).toMatchObject({ id: 'abc', userAccessPolicyUri: 'https://as/policy/abc' });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/rreg/', body: { resource_scopes: ['view'], name: 'Album', type: 'urn:album' } });
    expect(seen[0]!.headers.authorization).toMatch(/^Bearer pat-\d+$/);
    expect(seen[0]!.headers['content-type']).toBe('application/json');
  });

  it('sends resource_scopes even when empty, and tolerates a Location header without _id (CONFORMANCE 58, 59)', async () => {
    answers = [{ status: 201, json: {}, headers: { location: `${base}/rreg/from-location` } }];
    expect((await client().create({ scopes: [] })).id).toBe('from-location');
    expect(seen[0]!.body).toEqual({ resource_scopes: [] });
  });

  it('updates with a complete description via PUT (CONFORMANCE 60)', async () => {
    answers = [{ status: 200, json: { _id: 'abc' } }];
    expect(await client().update('abc', { scopes: ['view', 'delete'], name: 'Album' })).toBe(true);
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/rreg/abc', body: { resource_scopes: ['view', 'delete'], name: 'Album' } });
    answers = [{ status: 404, json: { error: 'not_found' } }];
    expect(await client().update('gone', { scopes: [] })).toBe(false);
  });

  it('treats 200 and 204 as a successful delete, and 404 as already gone (CONFORMANCE 61)', async () => {
    answers = [{ status: 200 }, { status: 204 }, { status: 404, json: { error: 'not_found' } }];
    const c = client();
    await c.delete('a');
    await c.delete('b');
    await c.delete('c');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['DELETE /rreg/a', 'DELETE /rreg/b', 'DELETE /rreg/c']);
    answers = [{ status: 500 }];
    await expect(c.delete('d')).rejects.toBeInstanceOf(ProtectionApiError);
  });

  it('parses List as an array of _id strings (CONFORMANCE 62)', async () => {
    answers = [{ status: 200, json: ['a', 'b'] }];
    expect(await client().list()).toEqual(['a', 'b']);
    answers = [{ status: 200, json: { not: 'an array' } }];
    await expect(client().list()).rejects.toBeInstanceOf(ProtectionApiError);
  });

  it('renews the PAT once on a 401 and retries (CONFORMANCE 71)', async () => {
    answers = [
      { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      { status: 200, json: [] },
    ];
    await client().list();
    expect(seen).toHaveLength(2);
    expect(seen[0]!.headers.authorization).not.toBe(seen[1]!.headers.authorization);
  });
});

describe('permission requests on the wire', () => {
  it('POSTs resource_id and resource_scopes and reads the ticket from a 201 (CONFORMANCE 63)', async () => {
    answers = [{ status: 201, json: { ticket: 't-1' } }];
    expect(await client().requestTicket([{ resourceId: 'abc', scopes: ['view'] }])).toBe('t-1');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/perm', body: { resource_id: 'abc', resource_scopes: ['view'] } });
  });

  it('surfaces invalid_resource_id and invalid_scope as typed errors (CONFORMANCE 64)', async () => {
    answers = [
      { status: 400, json: { error: 'invalid_resource_id' } },
      { status: 400, json: { error: 'invalid_scope' } },
    ];
    await expect(client().requestTicket([{ resourceId: 'x', scopes: [] }])).rejects.toMatchObject({
      error: 'invalid_resource_id',
      status: 400,
    });
    await expect(client().requestTicket([{ resourceId: 'x', scopes: ['nope'] }])).rejects.toMatchObject({
      error: 'invalid_scope',
      status: 400,
    });
  });
});

describe('Keycloak profile on the wire (CONFORMANCE 72)', () => {
  it('reads the whole resource from a 201 without Location, accepts 204 on PUT, scopes as objects, deep=true pages', async () => {
    const c = client('keycloak');
    answers = [
      { status: 201, json: { _id: 'k1', name: 'Album', resource_scopes: [{ id: 's1', name: 'view' }], owner: { id: 'o', name: 'rs' } } },
    ];
    expect((await c.create({ scopes: ['view'], name: 'Album', uris: ['/albums/*'] })).id).toBe('k1');
    expect(seen[0]!.url).toBe('/rreg');
    expect(seen[0]!.body).toMatchObject({ resource_scopes: ['view'], name: 'Album', uris: ['/albums/*'] });
    answers = [{ status: 204 }];
    expect(await c.update('k1', { scopes: ['view'], name: 'Album' })).toBe(true);
    const page = Array.from({ length: 100 }, (_, i) => ({ _id: `id${i}`, name: `r${i}`, resource_scopes: [{ name: 'view' }] }));
    answers = [
      { status: 200, json: page },
      { status: 200, json: [{ _id: 'last', name: 'last', resource_scopes: [{ name: 'view' }, 'edit'] }] },
    ];
    const all = await c.listDescriptions();
    expect(all).toHaveLength(101);
    expect(all[100]).toMatchObject({ id: 'last', scopes: ['view', 'edit'] });
    expect(seen.slice(-2).map((s) => s.url)).toEqual(['/rreg?deep=true&first=0&max=100', '/rreg?deep=true&first=100&max=100']);
  });

  it('sends permission requests as an array', async () => {
    answers = [{ status: 201, json: { ticket: 'jws-ticket' } }];
    await client('keycloak').requestTicket([{ resourceId: 'k1', scopes: ['view'] }]);
    expect(seen[0]!.body).toEqual([{ resource_id: 'k1', resource_scopes: ['view'] }]);
  });
});
