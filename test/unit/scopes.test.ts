/** Scope conventions, derived requirements, and how granted scopes satisfy a requirement. */
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_METHOD_VERBS, resourceNameFromPath, scopeFor } from '../../src/scopes/conventions.js';
import {
  GrantedScopes,
  assertScope,
  challengeScopes,
  closeImplications,
  requirement,
  scopesFromClaims,
} from '../../src/scopes/requirement.js';
import { ResourceServer } from '../../src/resource-server.js';
import { ConfigurationError, InsufficientScopeError } from '../../src/answers/errors.js';
import type { ResourceServerOptions } from '../../src/config/options.js';

const ID = 'https://api.example.com';

function granted(scopes: string[], opts: { implications?: Record<string, string[]>; wildcards?: boolean } = {}): GrantedScopes {
  return new GrantedScopes(scopes, closeImplications(opts.implications), opts.wildcards ?? false);
}

function server(opts: Partial<ResourceServerOptions> = {}): ResourceServer {
  return new ResourceServer({ issuer: 'https://as.example.com', resource: ID, logger: false, ...opts });
}

describe('conventions', () => {
  it.each([
    ['verb:resource', 'read:orders'],
    ['resource:verb', 'orders:read'],
    ['uri:action', 'https://api.example.com/orders:read'],
    ['verb', 'read'],
  ] as Array<['verb:resource' | 'resource:verb' | 'uri:action' | 'verb', string]>)('%s names GET /orders → %s', (convention, scope) => {
    expect(scopeFor(convention, { verb: 'read', resource: 'orders', resourceIdentifier: ID })).toBe(scope);
  });

  it('uri:action joins the identifier without doubling a trailing slash', () => {
    expect(scopeFor('uri:action', { verb: 'write', resource: 'orders', resourceIdentifier: `${ID}/` })).toBe(
      'https://api.example.com/orders:write',
    );
    expect(scopeFor('uri:action', { verb: 'write', resource: 'orders', resourceIdentifier: `${ID}/v1` })).toBe(
      'https://api.example.com/v1/orders:write',
    );
  });

  it('a function convention gets verb, resource and identifier', () => {
    expect(scopeFor((v, r, id) => `${id}#${r}.${v}`, { verb: 'read', resource: 'orders', resourceIdentifier: ID })).toBe(
      'https://api.example.com#orders.read',
    );
  });

  it('the default method → verb map: safe methods read, the others write', () => {
    expect(DEFAULT_METHOD_VERBS).toEqual({ GET: 'read', HEAD: 'read', POST: 'write', PUT: 'write', PATCH: 'write', DELETE: 'write' });
  });
});

describe('resourceNameFromPath', () => {
  it.each([
    ['/orders', '', 'orders'],
    ['/orders/:id', '', 'orders'],
    ['/orders/:id/items', '', 'orders'],
    ['/:tenant/orders/:id', '', 'orders'],
    ['/api/v1/orders/:id', '/api/v1', 'orders'],
    ['/api/v1/orders/:id', '/api/v1/', 'orders'],
    ['/api/v1/orders', '', 'api'],
    ['/api/v10/orders', '/api/v1', 'api'],
    ['/files/*', '', 'files'],
    ['/*/files', '', 'files'],
    ['/(foo|bar)/orders', '', 'orders'],
    ['/user{s}/orders', '', 'orders'],
  ])('%s under mount %p → %p', (path, mount, name) => {
    expect(resourceNameFromPath(path, mount)).toBe(name);
  });

  it.each([
    ['/orders', '/orders', 'orders'],
    ['/orders/:id', '/orders', 'orders'],
    ['/api/v1/orders/:id', '/api/v1/orders', 'orders'],
  ])('when the identifier path is the resource itself, %s under %p → the last static segment %p', (path, mount, name) => {
    expect(resourceNameFromPath(path, mount)).toBe(name);
  });

  it.each([
    ['/', ''],
    ['', ''],
    ['/:id', ''],
    ['/*', ''],
    ['/:a/:b', '/x'],
  ])('%s under mount %p has no resource name', (path, mount) => {
    expect(resourceNameFromPath(path, mount)).toBeUndefined();
  });
});

describe('derivedRequirement (method → verb, path → resource)', () => {
  it.each([
    ['GET', 'read:orders'],
    ['HEAD', 'read:orders'],
    ['POST', 'write:orders'],
    ['PUT', 'write:orders'],
    ['PATCH', 'write:orders'],
    ['DELETE', 'write:orders'],
    ['get', 'read:orders'],
  ])('%s /orders/:id → %s', (method, scope) => {
    expect(server().derivedRequirement(method, { path: '/orders/:id' })).toEqual({ allOf: [scope], anyOf: [] });
  });

  it('applies the configured convention and a custom method map', () => {
    const s = server({ scopes: { convention: 'resource:verb', methodVerbs: { DELETE: 'delete', OPTIONS: 'read' } } });
    expect(s.derivedRequirement('DELETE', { path: '/orders/:id' }).allOf).toEqual(['orders:delete']);
    expect(s.derivedRequirement('OPTIONS', { path: '/orders' }).allOf).toEqual(['orders:read']);
    expect(s.derivedRequirement('GET', { path: '/orders' }).allOf).toEqual(['orders:read']);
  });

  it('uses the identifier path as the prefix to strip', () => {
    const s = server({ resource: `${ID}/api/v1`, scopes: { convention: 'uri:action' } });
    expect(s.derivedRequirement('GET', { path: '/api/v1/orders/:id' }).allOf).toEqual(['https://api.example.com/api/v1/orders:read']);
  });

  it('an explicit resource name wins over the path', () => {
    expect(server().derivedRequirement('GET', { path: '/:id', resource: 'orders' }).allOf).toEqual(['read:orders']);
  });

  it('a method without a verb (the client chose it) is insufficient_scope; a path without a static segment is a configuration error', () => {
    expect(() => server().derivedRequirement('PROPFIND', { path: '/orders' })).toThrow(InsufficientScopeError);
    expect(() => server().derivedRequirement('GET', { path: '/:id' })).toThrow(ConfigurationError);
  });

  it('refuses the former positional form (method, path, mountPath, resource) with a TypeError naming the new one', () => {
    const positional = server().derivedRequirement as unknown as (method: string, path: string) => unknown;
    expect(() => positional.call(server(), 'GET', '/orders')).toThrow(TypeError);
    expect(() => positional.call(server(), 'GET', '/orders')).toThrow(/derivedRequirement\(method, \{ path, mountPath, resource \}\)/);
  });
});

describe('matching granted scopes', () => {
  it('compares whole tokens: read:orders never matches read:ordersx or read:order', () => {
    expect(granted(['read:orders']).has('read:ordersx')).toBe(false);
    expect(granted(['read:orders']).has('read:order')).toBe(false);
    expect(granted(['read:ordersx']).has('read:orders')).toBe(false);
    expect(granted(['read:order']).has('read:orders')).toBe(false);
    expect(granted(['Read:Orders']).has('read:orders')).toBe(false); // case-sensitive
    expect(granted(['read:orders']).has('read:orders')).toBe(true);
  });

  it('all-of needs every scope; any-of needs one; both combine', () => {
    const g = granted(['a', 'c']);
    expect(g.satisfies(requirement(['a', 'c']))).toBe(true);
    expect(g.satisfies(requirement(['a', 'b']))).toBe(false);
    expect(g.satisfies(requirement([], ['b', 'c']))).toBe(true);
    expect(g.satisfies(requirement([], ['b', 'd']))).toBe(false);
    expect(g.satisfies(requirement(['a'], ['b', 'c']))).toBe(true);
    expect(g.satisfies(requirement(['b'], ['c']))).toBe(false);
    expect(g.satisfies(requirement([]))).toBe(true);
  });

  it('implications are transitive and tolerate cycles', () => {
    const rules = { 'orders:admin': ['orders:write'], 'orders:write': ['orders:read'], 'orders:read': ['orders:admin'] };
    const closed = closeImplications({ 'orders:admin': ['orders:write'], 'orders:write': ['orders:read'] });
    expect([...closed.get('orders:admin')!].sort()).toEqual(['orders:read', 'orders:write']);
    const g = granted(['orders:admin'], { implications: { 'orders:admin': ['orders:write'], 'orders:write': ['orders:read'] } });
    expect(g.has('orders:read')).toBe(true);
    expect(g.has('orders:write')).toBe(true);
    expect(
      granted(['orders:read'], { implications: { 'orders:admin': ['orders:write'], 'orders:write': ['orders:read'] } }).has('orders:write'),
    ).toBe(false);
    const cyclic = granted(['orders:write'], { implications: rules });
    expect(cyclic.has('orders:admin')).toBe(true);
    expect([...cyclic.granted]).toEqual(['orders:write']); // route code sees what the token carried
  });

  it('implication rules with an invalid scope fail at start-up', () => {
    expect(() => closeImplications({ 'a b': ['c'] })).toThrow(ConfigurationError);
    expect(() => closeImplications({ a: ['c"d'] })).toThrow(ConfigurationError);
  });

  it('wildcards are off by default', () => {
    expect(granted(['orders:*']).has('orders:read')).toBe(false);
    expect(granted(['*:orders']).has('read:orders')).toBe(false);
  });

  it('orders:* matches exactly one segment', () => {
    const g = granted(['orders:*'], { wildcards: true });
    expect(g.has('orders:read')).toBe(true);
    expect(g.has('orders:write')).toBe(true);
    expect(g.has('orders:')).toBe(false);
    expect(g.has('orders:read:all')).toBe(false);
    expect(g.has('ordersx:read')).toBe(false);
    expect(g.has('x:orders:read')).toBe(false);
    expect(g.has('read:orders')).toBe(false);
  });

  it('*:orders matches exactly one segment', () => {
    const g = granted(['*:orders'], { wildcards: true });
    expect(g.has('read:orders')).toBe(true);
    expect(g.has(':orders')).toBe(false);
    expect(g.has('a:read:orders')).toBe(false);
    expect(g.has('read:xorders')).toBe(false);
    expect(g.has('read:orders:all')).toBe(false);
  });

  it('wildcards apply to implied scopes too', () => {
    expect(granted(['admin'], { wildcards: true, implications: { admin: ['orders:*'] } }).has('orders:read')).toBe(true);
  });

  it('URL scopes are compared whole; their ":" is never a split point', () => {
    const url = 'https://api.example.com/orders:read';
    expect(granted([url]).has(url)).toBe(true);
    expect(granted([url]).has('https://api.example.com/orders:write')).toBe(false);
    expect(granted(['https:*'], { wildcards: true }).has(url)).toBe(false);
    expect(granted(['*:read'], { wildcards: true }).has(url)).toBe(false);
    expect(granted(['https://api.example.com/orders'], { wildcards: true }).has(url)).toBe(false);
    expect(granted(['read'], { wildcards: true }).has(url)).toBe(false);
    const w = granted(['https://api.example.com/orders:*'], { wildcards: true });
    expect(w.has(url)).toBe(true);
    expect(w.has('https://api.example.com/orders:read:x')).toBe(false);
    expect(w.has('https://api.example.com/ordersx:read')).toBe(false);
  });
});

describe('requirements and challenge scopes', () => {
  it('validates declared scopes at declaration time', () => {
    expect(() => requirement(['read orders'])).toThrow(ConfigurationError);
    expect(() => requirement([''])).toThrow(ConfigurationError);
    expect(() => requirement([], ['a"b'])).toThrow(ConfigurationError);
    expect(assertScope('https://api.example.com/orders:read')).toBe('https://api.example.com/orders:read');
  });

  it('a requirement is frozen', () => {
    const r = requirement(['a'], ['b']);
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.allOf)).toBe(true);
  });

  it('challenge scopes: all the all-of scopes and the first any-of alternative', () => {
    expect(challengeScopes(requirement(['a', 'b']))).toEqual(['a', 'b']);
    expect(challengeScopes(requirement([], ['x', 'y']))).toEqual(['x']);
    expect(challengeScopes(requirement(['a'], ['x', 'y']))).toEqual(['a', 'x']);
    expect(challengeScopes(requirement(['a', 'y'], ['x', 'y']))).toEqual(['a', 'y']);
  });
});

describe('scopes from claims (CONFORMANCE 23)', () => {
  it('splits scope on spaces only', () => {
    expect(scopesFromClaims('read:orders write:orders', undefined)).toEqual(['read:orders', 'write:orders']);
    expect(scopesFromClaims('read:orders,write:orders', undefined)).toEqual(['read:orders,write:orders']);
    expect(scopesFromClaims('', undefined)).toEqual([]);
    expect(scopesFromClaims(undefined, undefined)).toEqual([]);
  });

  it('refuses scope as an array or other non-string', () => {
    expect(scopesFromClaims(['read:orders'], undefined)).toBeUndefined();
    expect(scopesFromClaims(42, undefined)).toBeUndefined();
  });

  it('reads scp as an array or a string', () => {
    expect(scopesFromClaims(undefined, ['a', 'b'])).toEqual(['a', 'b']);
    expect(scopesFromClaims('x', 'a b')).toEqual(['x', 'a', 'b']);
    expect(scopesFromClaims(undefined, [1])).toBeUndefined();
  });
});
