/**
 * oauth-resource-server: an Express API becomes a standards-exact OAuth 2.0 resource server.
 *
 * The core (token extraction, verification, scopes, answers) never imports Express; the Express layer
 * is `oauthResourceServer`, `requireScopes` and `getAuth`.
 * @packageDocumentation
 */
export { oauthResourceServer, type ResourceServerMiddleware } from './express/middleware.js';
export { requireScopes, ROUTE_SCOPES, type ScopeDeclaration, type ScopeHandler, type RouteScopes } from './express/require-scopes.js';
export { getAuth, getAccessToken } from './express/request-context.js';
export { requireToolScopes, type ToolScopes } from './express/mcp-tools.js';
export { requireAuthentication } from './express/require-authentication.js';
export { requireClaims } from './express/require-claims.js';
export type { ClaimCheck, ClaimChecks, ClaimValue, ClaimsPredicate, ClaimsPredicateOptions } from './claims/claim-checks.js';
export { requireDpop } from './express/require-dpop.js';
export type { AuthenticationRequirement } from './claims/step-up.js';
export { umaProtection, ROUTE_UMA, type UmaProtection, type UmaProtectionOptions, type UmaRouteOptions } from './express/uma.js';
export { scanRoutes, type ScannedRoute } from './express/route-scan.js';
export { assertRouteScopes } from './express/assert-route-scopes.js';
export { UmaRegistrar, type UmaRegistrarOptions, type RegistrationStatus } from './uma/registrar.js';
export type {
  ResourceDescription,
  RegisteredResource,
  MarkedDescription,
  RegistrationMark,
  UmaProfileName,
  PermissionRequest,
} from './uma/profiles.js';
export type { DesiredResource, SyncPlan, DeletePolicy, MappingOrigin } from './uma/sync.js';
export { ProtectionApiError, type ProtectionApiErrorInit } from './uma/protection-api-error.js';
export {
  AuthorizationServerCallError,
  type AsStep,
  type AsFailure,
  type AsFailureKind,
  type AuthorizationServerCallInit,
} from './http/as-failure.js';
export { resourcesFromRoutes, type DeclaredRoute, type RouteResourceOptions } from './uma/route-resources.js';
export { storeOwnerAuthorization, type OwnerAuthorization } from './authz-server/protection-token.js';
export { FileStore } from './stores/file.js';
export {
  registerResourceServer,
  type SelfRegistrationOptions,
  type ResourceServerCredentials,
} from './authz-server/client-registration.js';
export { protectedResourceMetadata, type MetadataRouterOptions } from './express/metadata.js';
export { buildMetadata, metadataUrl, type MetadataOptions, type ProtectedResourceMetadata } from './metadata/metadata.js';
export { ResourceServer, type Authenticated, type AnswerContext, type ResourceIdentity, type ScopedRoute } from './resource-server.js';
export type { MaybePromise } from './types/maybe-promise.js';
export type { AuthContext, AccessTokenClaims } from './token/auth-context.js';
export type { JWK, CryptoKey, KeyObject } from './token/keys.js';
export { DEFAULTS, type ResourceServerOptions, type TrustedIssuer, type IntrospectionOptions, type Logger } from './config/options.js';
export type { CacheStore } from './stores/store.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export { isAtomicStore, type AtomicStore, type LockOptions } from './stores/store.js';
export { StoreError, LockTimeoutError } from './stores/store-error.js';
export { RedisStore, type RedisStoreOptions, type RedisConnectOptions, type RedisClientLike } from './stores/redis.js';
export {
  KitError,
  ResourceServerError,
  MissingCredentialsError,
  InvalidRequestError,
  InvalidTokenError,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  TokenBindingError,
  InvalidDpopProofError,
  UseDpopNonceError,
  ServiceUnavailableError,
  AuthorizationServerUnavailableError,
  DpopReplaySetFullError,
  ConfigurationError,
  NotAuthenticatedError,
  type KitErrorCode,
  type ErrorCode,
  type InvalidTokenCode,
  type StoreErrorCode,
  type OAuthErrorCode,
  type KitErrorInit,
  type ResourceServerErrorInit,
  type UserAuthenticationChallenge,
} from './answers/errors.js';
export { formatChallenge, parseChallenges, type Challenge } from './answers/www-authenticate.js';
export type { ScopeConvention } from './scopes/conventions.js';
export type { ScopeRequirement } from './scopes/requirement.js';
export type { JwsAlgorithm } from './token/jws.js';
export { TOKEN_PROFILE_NAMES, type TokenProfile, type TokenProfileName, type TokenProfileOptions } from './token/profiles.js';
export type { HttpRequestLike } from './token/extract.js';
export type { ErrorAnswer } from './answers/error-answer.js';
export {
  attributeProvider,
  type AttributeProviderRouter,
  type AttributeProviderRouterOptions,
  type AttributeProviderUmaOptions,
} from './express/attribute-provider.js';
export {
  AttributeProvider,
  STANDARD_SCOPE_CLAIMS,
  type AttributeProviderOptions,
  type ClaimsProviderSubject,
  type ClaimsRequest,
  type ClaimsAnswer,
  type ClaimsJwtRecipient,
  type ClaimGroup,
  type UserLookup,
} from './attributes/attribute-provider.js';
export { negotiateClaimsFormat, type ClaimsFormat } from './attributes/claims-format.js';
export type { ClaimsSigningKey } from './attributes/claims-signing-key.js';
export { claimGroupResources, type ClaimGroupResourceOptions } from './attributes/claim-group-resources.js';
export {
  authorizationDetailsFor,
  readAuthorizationDetails,
  COMMON_AUTHORIZATION_DETAIL_FIELDS,
  type AuthorizationDetail,
  type AuthorizationDetailsPolicy,
} from './claims/authorization-details.js';

// Types the public API refers to (documented with it). Internals (resolved options, the token verifier and its
// parts, the DPoP verifier, the UMA protection API clients) are not exported: their shapes may change in any release.
export type { DpopOptions } from './sender/dpop.js';
export type { MtlsOptions, TlsRequestLike } from './sender/mtls.js';
export { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from './token/jws.js';
export type { UmaProfile } from './uma/profiles.js';
export type { AuthenticatableRequest } from './resource-server.js';
export type { VerifiedToken } from './token/verdict.js';
export type { GrantedScopes } from './scopes/requirement.js';
export type { AudienceMatcher } from './token/audience.js';
export type { MetadataFacts } from './metadata/metadata.js';
