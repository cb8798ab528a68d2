/**
 * The development UMA AS's resource registration endpoint with a resource id that is not valid
 * percent-encoding: FedAuthz §3.2 wants 400 `invalid_request` for a malformed request, in every profile,
 * not an empty 500.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';
import { wire } from './uma-wire.js';

describe.each(['uma2', 'keycloak'] as const)('malformed resource id in the registration path (%s)', (profile) => {
  let as: DevUmaAuthorizationServer;
  let pat: string;
  beforeAll(async () => {
    as = await startDevAuthorizationServer({ resources: [], uma: { profile } });
    pat = await as.uma.obtainPat();
  });
  afterAll(async () => {
    await as?.close();
  });

  it.each(['GET', 'PUT', 'DELETE'])('%s {rreguri}/%%E0%%A4%%A is 400 invalid_request (FedAuthz §3.2)', async (method) => {
    const res = await wire(method, `${as.uma.resourceRegistrationEndpoint}/%E0%A4%A`, {
      bearer: pat,
      ...(method === 'PUT' ? { json: { resource_scopes: [] } } : {}),
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });
});
