/**
 * The protection API client against answers an AS should not give, on the wire with a recording server:
 * Keycloak paging that ignores `first`/`max`, a list that never ends, a `Location` that is not valid
 * percent-encoding (FedAuthz §3.2.1), and permission tickets that cannot go into a challenge header
 * (Grant §3.2.1). Each must end as a ProtectionApiError (or a settled list), never hang or leak a URIError.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ProtectionApiError } from '../../src/uma/resource-registration.js';
import { protectionClientAt } from '../helpers/protection-client.js';
import { startLoopbackServer, writeAnswer, type LoopbackServer } from '../helpers/loopback-server.js';

type Answer = { status: number; json?: unknown; headers?: Record<string, string> };

let server: LoopbackServer;
let base = '';
/** Request URLs the protection API saw (not the token endpoint). */
const urls: string[] = [];
let answer: (url: string) => Answer = () => ({ status: 500 });

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/token') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ access_token: 'pat-1', token_type: 'Bearer', expires_in: 300 }));
      }
      urls.push(req.url!);
      const a = answer(req.url!);
      writeAnswer(res, a);
    });
  });
  base = server.base;
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  urls.length = 0;
  answer = () => ({ status: 500 });
});

const client = (profile: 'uma2' | 'keycloak' = 'uma2') => protectionClientAt(base, profile);

const ids = (from: number) => Array.from({ length: 100 }, (_, i) => `id-${from + i}`);
const offset = (url: string) => Number(new URL(url, base).searchParams.get('first'));

describe('Keycloak listing that ignores first/max (CONFORMANCE 62, 72)', () => {
  it('list() stops at the first page that brings no new id instead of paging forever', async () => {
    answer = () => ({ status: 200, json: ids(0) }); // the same full page whatever first/max say
    const listed = await client('keycloak').list();
    expect(listed).toEqual(ids(0));
    expect(urls).toHaveLength(2);
  });

  it('listDescriptions() stops at the first deep page that brings no new resource, without duplicates', async () => {
    answer = () => ({ status: 200, json: ids(0).map((_id) => ({ _id, name: _id, resource_scopes: ['view'] })) });
    const listed = await client('keycloak').listDescriptions();
    expect(listed.map((r) => r.id)).toEqual(ids(0));
    expect(urls).toHaveLength(2);
  });

  it('a list that never ends fails with a ProtectionApiError after the page cap, not a silent truncation', async () => {
    answer = (url) => ({ status: 200, json: ids(offset(url)) }); // always a full page of new ids
    const err = await client('keycloak')
      .list()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtectionApiError);
    expect((err as ProtectionApiError).operation).toBe('list');
    expect(urls).toHaveLength(1000);
  }, 30_000);

  it('a deep list that never ends fails with a ProtectionApiError after the page cap', async () => {
    answer = (url) => ({ status: 200, json: ids(offset(url)).map((_id) => ({ _id, resource_scopes: [] })) });
    const err = await client('keycloak')
      .listDescriptions()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtectionApiError);
    expect(urls).toHaveLength(1000);
  }, 30_000);
});

describe('create with a malformed Location (FedAuthz §3.2.1)', () => {
  it('a Location whose last segment is not valid percent-encoding is a ProtectionApiError, not a URIError', async () => {
    answer = () => ({ status: 201, json: {}, headers: { location: '/rreg/%E0%A4%A' } });
    const err = await client()
      .create({ scopes: ['view'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtectionApiError);
    expect((err as ProtectionApiError).operation).toBe('create');
  });
});

describe('permission tickets that cannot be written into a challenge (Grant §3.2.1)', () => {
  it.each([
    ['a line separator', 'tick\u2028et'],
    ['a space', 'tick et'],
    ['a double quote', 'tick"et'],
    ['a backslash', 'tick\\et'],
    ['a control character', 'tick\u0007et'],
    ['a non-ASCII letter', 'tické'],
  ])('a ticket with %s is a ProtectionApiError that does not echo it', async (_what, ticket) => {
    answer = () => ({ status: 201, json: { ticket } });
    const err = await client()
      .requestTicket([{ resourceId: 'r1', scopes: ['view'] }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtectionApiError);
    expect((err as ProtectionApiError).operation).toBe('permission');
    expect((err as Error).message).not.toContain(ticket);
  });

  it('takes a ticket of visible ASCII up to 4096 characters and refuses a longer one', async () => {
    const ticket = `${'a'.repeat(4090)}-._~+/`;
    answer = () => ({ status: 201, json: { ticket } });
    expect(await client().requestTicket([{ resourceId: 'r1', scopes: ['view'] }])).toBe(ticket);
    answer = () => ({ status: 201, json: { ticket: `${ticket}a` } });
    await expect(client().requestTicket([{ resourceId: 'r1', scopes: ['view'] }])).rejects.toBeInstanceOf(ProtectionApiError);
  });
});
