/**
 * A verified token and a remembered refusal: what the verifiers produce and the verdict cache holds. A verdict
 * is its own cache entry (one object, not a token wrapped in an entry).
 */
import { InvalidTokenError } from '../answers/errors.js';
import type { AccessTokenClaims, AuthContext } from './auth-context.js';
import type { GrantedScopes } from '../scopes/requirement.js';
import type { VerdictParts } from './verdict-parts.js';

/** A verified token: the context route code sees, and what the caller re-checks per request. */
export interface VerifiedToken {
  readonly context: AuthContext;
  readonly granted: GrantedScopes;
  /** `exp` plus the leeway, in milliseconds: the token is refused from this instant on. */
  readonly expiresAtMs: number;
  /**
   * False only for an introspected token without `aud` when `acceptMissingAudience` is on, and for a JWT of an
   * issuer whose token profile binds tokens by their client instead of `aud` (Cognito).
   */
  readonly audienceRequired: boolean;
  /** `aud` values that name this resource for this token's issuer only (its profile's `audiences`), if any. */
  readonly issuerAudiences?: ReadonlySet<string> | undefined;
}

/**
 * The trust a verdict was made under: the issuer state's `trustedUntilMs` (see issuer-registry.ts). A cached
 * verdict is believed only while the clock is before it.
 */
export interface Trust {
  readonly trustedUntilMs: number;
}

/** What a verdict is made of, besides its claims. */
export interface VerdictFacts {
  readonly clientId: string | undefined;
  readonly scopes: string[];
  readonly validatedBy: AuthContext['validatedBy'];
  readonly expiresAtMs: number;
  readonly audienceRequired: boolean;
  readonly issuerAudiences: ReadonlySet<string> | undefined;
  /** Until when the cache may serve the verdict without asking again (the token's expiry for a JWT). */
  readonly freshUntilMs: number;
  /** The JWS header of a JWT (shown to route code as `header`). */
  readonly header?: Record<string, unknown> | undefined;
}

/**
 * A verified token, and what the cache needs to believe it again: fresh until `freshUntilMs` (the token's
 * expiry, or an introspection answer's cache life), and only while `trust` (the issuer state it was made
 * under) holds.
 */
export class Verdict implements VerifiedToken {
  readonly context: AuthContext;
  readonly granted: GrantedScopes;
  readonly expiresAtMs: number;
  readonly audienceRequired: boolean;
  readonly issuerAudiences: ReadonlySet<string> | undefined;
  readonly freshUntilMs: number;
  /**
   * A verdict is also the Authenticated of the common request, a token in the `Authorization` header with the Bearer
   * scheme: a cache hit then allocates no per-request object (authenticated.ts). Own properties, as on any other
   * Authenticated (a spread or JSON copy keeps them).
   */
  readonly location = 'header' as const;
  readonly scheme = 'bearer' as const;
  // Private: a verdict is handed to callers as the request's Authenticated, and the issuer state it points at is
  // the kit's own.
  readonly #trust: Trust;

  constructor(context: AuthContext, granted: GrantedScopes, facts: VerdictFacts, trust: Trust) {
    this.context = context;
    this.granted = granted;
    this.expiresAtMs = facts.expiresAtMs;
    this.audienceRequired = facts.audienceRequired;
    this.issuerAudiences = facts.issuerAudiences;
    this.freshUntilMs = facts.freshUntilMs;
    this.#trust = trust;
    Object.freeze(this);
  }

  /** The trust the verdict was made under. */
  get trust(): Trust {
    return this.#trust;
  }
}

/** A refusal remembered until `untilMs`. */
export class Refusal {
  constructor(
    readonly error: InvalidTokenError,
    readonly untilMs: number,
  ) {
    Object.freeze(this);
  }
}

/** The verified token: its own context and claims; scope set, audience array and repeating strings shared. */
export function buildVerdict(parts: VerdictParts, claims: AccessTokenClaims, facts: VerdictFacts, trust: Trust): Verdict {
  const granted = parts.granted(facts.scopes);
  const header = facts.header;
  const context: AuthContext = Object.freeze({
    issuer: claims.iss,
    subject: claims.sub,
    clientId: facts.clientId,
    audience: parts.audience(claims.aud),
    scopes: granted.granted,
    expiresAt: claims.exp,
    validatedBy: facts.validatedBy,
    claims: deepFreeze(claims),
    ...(header ? { header: deepFreeze(header) } : {}),
    hasScope: granted.hasScope,
  });
  return new Verdict(context, granted, facts, trust);
}

/** Deeper claims than this are refused: no access token needs them, and recursion over them could overflow. */
const MAX_CLAIM_DEPTH = 32;

/**
 * Freeze claims all the way down; refuse (401) claims nested deeper than MAX_CLAIM_DEPTH. The recursion is bounded
 * by that depth, so it cannot overflow; it allocates nothing (this runs for every verified token).
 */
function deepFreeze<T>(value: T): T {
  freezeWithin(value, 0);
  return value;
}

function freezeWithin(value: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  if (depth >= MAX_CLAIM_DEPTH) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the token claims are nested too deeply');
  Object.freeze(value);
  // for-in over own and inherited enumerable keys (only own ones are followed); primitives are skipped here, not
  // in a call: most claims are strings and numbers.
  for (const k in value) {
    const child = (value as Record<string, unknown>)[k];
    if (typeof child === 'object' && child !== null && Object.hasOwn(value, k)) freezeWithin(child, depth + 1);
  }
}
