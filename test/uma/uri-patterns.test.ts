/**
 * Express path templates (4 and 5) as Keycloak's URI patterns (Keycloak Authorization Services guide, policy
 * enforcer `path`: `/resource/{id}`, `/path/*`, exact paths).
 */
import { describe, expect, it } from '@jest/globals';
import { keycloakUris } from '../../src/uma/uri-patterns.js';

describe('keycloakUris', () => {
  it.each([
    ['/photos', ['/photos']],
    ['/', ['/']],
    ['/photos/:id', ['/photos/{id}']],
    ['/:tenant/albums/:id', ['/{tenant}/albums/{id}']],
    ['/a/:id(\\d+)', ['/a/{id}']],
    ['/:"quoted name"', ['/{quoted name}']],
    ['/a\\:b', ['/a:b']],
  ])('names parameters in braces: %s', (template, uris) => {
    expect(keycloakUris(template)).toEqual(uris);
  });

  it.each([
    ['/files/*', ['/files/*']],
    ['/files/*splat', ['/files/*']],
    ['/files/*path/meta', ['/files/*']],
    ['*', ['/*']],
    ['/x/:p*', ['/x/*']],
  ])('ends the pattern at a wildcard: %s', (template, uris) => {
    expect(keycloakUris(template)).toEqual(uris);
  });

  it.each([
    ['/a/:id?', ['/a', '/a/{id}']],
    ['/a/:id(\\d+)?', ['/a', '/a/{id}']],
    ['/files{/*path}', ['/files', '/files/*']],
    ['/users{/:id}/x', ['/users/x', '/users/{id}/x']],
    ['{/:a}{/:b}', ['/', '/{b}', '/{a}', '/{a}/{b}']],
  ])('gives an optional part with and without it: %s', (template, uris) => {
    expect(keycloakUris(template)).toEqual(uris);
  });

  it('bounds the patterns of a template with many optional parts', () => {
    expect(keycloakUris('{/:a}{/:b}{/:c}{/:d}{/:e}{/:f}').length).toBeLessThanOrEqual(16);
  });
});
