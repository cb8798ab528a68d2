/**
 * `oauth-resource-server/testing`: a development authorization server for demos and for users' own
 * tests. Needs the optional peer dependency `oidc-provider`.
 * @packageDocumentation
 */
export {
  startDevAuthorizationServer,
  type DevAuthorizationServer,
  type DevAuthorizationServerOptions,
  type DevResource,
  type MintOptions,
  type SignTokenOptions,
} from './dev-authorization-server.js';
