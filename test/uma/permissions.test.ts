/** UMA permissions of an RPT (FedAuthz §5.1.1) and Keycloak's JWT RPT shape. */
import { describe, expect, it } from '@jest/globals';
import { grants, rptPermissions } from '../../src/uma/permissions.js';

const now = 1_800_000_000;
const atNow = { nowSeconds: now, toleranceSeconds: 0 };

describe('RPT permissions', () => {
  it('grants when a permission of the resource holds every required scope (CONFORMANCE 68)', () => {
    const claims = { active: true, permissions: [{ resource_id: 'r1', resource_scopes: ['view', 'edit'] }] };
    expect(grants(claims, 'r1', ['view'], atNow)).toBe(true);
    expect(grants(claims, 'r1', ['view', 'edit'], atNow)).toBe(true);
    expect(grants(claims, 'r1', ['delete'], atNow)).toBe(false);
    expect(grants(claims, 'r2', ['view'], atNow)).toBe(false);
  });

  it('treats an answer with scope and no permissions as non-UMA: it grants no permission (CONFORMANCE 68)', () => {
    expect(rptPermissions({ active: true, scope: 'view' })).toBeUndefined();
    expect(grants({ active: true, scope: 'view' }, 'r1', ['view'], atNow)).toBe(false);
  });

  it('enforces each permission’s own exp and nbf (CONFORMANCE 69)', () => {
    const claims = {
      permissions: [
        { resource_id: 'r1', resource_scopes: ['view'], exp: now - 1 },
        { resource_id: 'r2', resource_scopes: ['view'], nbf: now + 60 },
      ],
    };
    expect(grants(claims, 'r1', ['view'], atNow)).toBe(false);
    expect(grants(claims, 'r2', ['view'], atNow)).toBe(false);
    expect(grants(claims, 'r1', ['view'], { nowSeconds: now - 10, toleranceSeconds: 0 })).toBe(true);
  });

  it('grants nothing with an empty permissions array (CONFORMANCE 70)', () => {
    expect(grants({ permissions: [] }, 'r1', [], atNow)).toBe(false);
  });

  it('reads Keycloak JWT RPTs (authorization.permissions with rsid and scopes)', () => {
    const claims = { authorization: { permissions: [{ rsid: 'r1', rsname: 'album', scopes: ['view'] }] } };
    expect(grants(claims, 'r1', ['view'], atNow)).toBe(true);
  });

  it('ignores malformed permission entries instead of trusting them', () => {
    const claims = {
      permissions: [null, 'r1', { resource_id: 'r1', resource_scopes: 'view' }, { resource_id: 7, resource_scopes: ['view'] }],
    };
    expect(grants(claims, 'r1', ['view'], atNow)).toBe(false);
  });
});
