/**
 * oauth-resource-server: an Express API becomes a standards-exact OAuth 2.0 resource server.
 *
 * The core (token extraction, verification, scopes, answers) never imports Express; the Express layer
 * is `oauthResourceServer`, `requireScopes` and `getAuth`.
 * @packageDocumentation
 */
export { oauthResourceServer, type ResourceServerMiddleware } from './express/middleware.js';
export { requireScopes, ROUTE_SCOPES, type ScopeDeclaration, type ScopeHandler, type RouteScopes } from './express/require-scopes.js';
export { getAuth } from './express/request-context.js';
export { ResourceServer, type Authenticated, type ResourceIdentity } from './resource-server.js';
export type { AuthContext, AccessTokenClaims } from './auth-context.js';
export { DEFAULTS, type ResourceServerOptions, type TrustedIssuer, type IntrospectionOptions, type Logger } from './options.js';
export type { CacheStore } from './stores/store.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export {
  ResourceServerError,
  MissingCredentialsError,
  InvalidRequestError,
  InvalidTokenError,
  InsufficientScopeError,
  AuthorizationServerUnavailableError,
  ConfigurationError,
  type ErrorCode,
  type OAuthErrorCode,
} from './errors.js';
export { formatChallenge, parseChallenges, type Challenge } from './www-authenticate.js';
export type { ScopeConvention } from './scopes/conventions.js';
export type { ScopeRequirement } from './scopes/requirement.js';
export type { JwsAlgorithm } from './token/jws.js';
export type { HttpRequestLike } from './token/extract.js';
export type { ErrorAnswer } from './error-answer.js';
