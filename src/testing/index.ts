/**
 * `oauth-resource-server/testing`: a development authorization server for demos and for users' own
 * tests, optionally with the UMA 2.0 protection API and grant (or Keycloak's or UMA 1.0's flavour).
 * Needs the optional peer dependency `oidc-provider`.
 * @packageDocumentation
 */
export { startDevAuthorizationServer } from './dev-authorization-server.js';
export type {
  DevAuthorizationServer,
  DevUmaAuthorizationServer,
  DevAuthorizationServerOptions,
  DevResource,
  MintOptions,
  SignTokenOptions,
} from './dev-authorization-server-types.js';
export type {
  DevUmaControls,
  DevUmaOptions,
  UmaNeedInfo,
  UmaPermission,
  UmaPolicy,
  UmaPolicyContext,
  UmaPolicyDecision,
  UmaProfileName,
  UmaRequestCounts,
  UmaRequiredClaim,
  UmaResourceRepresentation,
} from './uma-types.js';
export type { DevEndpoint, DevFault, DevFaultControls, DevFaultScope } from './faults.js';
export { createTestIssuer, signTestToken, type TestIssuer, type TestTokenOptions } from './test-issuer.js';
