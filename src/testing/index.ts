/**
 * `oauth-resource-server/testing`: a development authorization server for demos and for users' own
 * tests, optionally with the UMA 2.0 protection API and grant (or Keycloak's or UMA 1.0's flavour).
 * Needs the optional peer dependency `oidc-provider`.
 * @packageDocumentation
 */
export {
  startDevAuthorizationServer,
  type DevAuthorizationServer,
  type DevUmaAuthorizationServer,
  type DevAuthorizationServerOptions,
  type DevResource,
  type MintOptions,
  type SignTokenOptions,
} from './dev-authorization-server.js';
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
