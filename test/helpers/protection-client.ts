/**
 * A UMA protection-API client (its PAT from `base/token`, its endpoints `base/rreg/` and `base/perm`) for tests that
 * play the authorization server on a loopback server at `base`.
 */
import { ProtectionToken } from '../../src/authz-server/protection-token.js';
import { ResourceRegistrationClient } from '../../src/uma/resource-registration.js';

export function protectionClientAt(base: string, profile: 'uma2' | 'keycloak' = 'uma2'): ResourceRegistrationClient {
  const pat = new ProtectionToken({
    issuer: base,
    tokenEndpoint: `${base}/token`,
    clientId: 'rs',
    clientSecret: 'secret',
    timeoutMs: 2000,
    maxBytes: 65536,
  });
  return new ResourceRegistrationClient({
    profile,
    registrationEndpoint: `${base}/rreg/`,
    permissionEndpoint: `${base}/perm`,
    pat,
    timeoutMs: 2000,
    maxBytes: 65536,
  });
}
