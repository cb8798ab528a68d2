/**
 * RFC 9396 (Rich Authorization Requests), the resource server's side: read `authorization_details` from
 * a validated token (the JWT claim, §9.1, or the introspection answer's top-level member, §9.2), act only
 * on the types this resource server implements (CONFORMANCE 73), and deny when an implemented entry is
 * restricted by `locations` to other resource servers (§2.2, §12; CONFORMANCE 74). Framework-agnostic.
 *
 * Strings are compared without normalisation (§12). An entry of an implemented type that carries a field
 * the type does not know, or a common field of the wrong JSON type, is a reason to deny (§5, §12), never
 * to guess; entries of other types are ignored whatever they hold.
 */
import { InsufficientScopeError, InvalidTokenError } from '../answers/errors.js';

/** One authorization details object (RFC 9396 §2), as the token carried it. */
export interface AuthorizationDetail {
  /** The type (REQUIRED, §2): decides which other fields may appear and what they mean. */
  readonly type: string;
  /** Where the grant may be used, typically resource server URIs (§2.2). */
  readonly locations?: readonly string[];
  /** Kinds of actions granted (§2.2). */
  readonly actions?: readonly string[];
  /** Kinds of data granted (§2.2). */
  readonly datatypes?: readonly string[];
  /** A specific resource available at the API (§2.2). */
  readonly identifier?: string;
  /** Levels of privilege granted (§2.2). */
  readonly privileges?: readonly string[];
  /** Type-specific fields. */
  readonly [field: string]: unknown;
}

/** The common data fields of RFC 9396 §2.2 (plus `type`), known to every type. */
export const COMMON_AUTHORIZATION_DETAIL_FIELDS: readonly string[] = Object.freeze([
  'type',
  'locations',
  'actions',
  'datatypes',
  'identifier',
  'privileges',
]);

/** What a resource server implements, and who it is. */
export interface AuthorizationDetailsPolicy {
  /**
   * The types this resource server implements, each with the type-specific fields it understands besides
   * the common ones (`{ 'payment_initiation': ['instructedAmount', 'creditorName'] }`). Entries of any
   * other type are ignored (RFC 9396 §9; CONFORMANCE 73).
   */
  readonly types: Readonly<Record<string, readonly string[]>>;
  /** This resource server's identifier(s): an implemented entry with `locations` must name one exactly. */
  readonly resource: string | readonly string[];
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * The `authorization_details` of a validated token's claims (JWT or introspection top level), or
 * undefined when the token has none. Throws {@link InvalidTokenError} (401 `invalid_token`) when the
 * member is not an array of objects that each carry a string `type` (RFC 9396 §2: `type` is REQUIRED).
 */
export function readAuthorizationDetails(claims: Readonly<Record<string, unknown>>): readonly AuthorizationDetail[] | undefined {
  const raw = claims.authorization_details;
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the access token authorization_details must be an array');
  for (const entry of raw as unknown[]) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || typeof (entry as { type?: unknown }).type !== 'string') {
      throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'every authorization_details entry must be an object with a string type');
    }
  }
  return raw as AuthorizationDetail[];
}

function deny(message: string): InsufficientScopeError {
  // RFC 6750 §3.1: the token is valid but does not grant this; no scope would fix it, so none is named.
  return new InsufficientScopeError([], message);
}

/** Check one entry of an implemented type against the policy; throws when it must be denied. */
function checkEntry(entry: AuthorizationDetail, known: readonly string[], resources: readonly string[]): void {
  for (const field of Object.keys(entry)) {
    if (!COMMON_AUTHORIZATION_DETAIL_FIELDS.includes(field) && !known.includes(field)) {
      throw deny('the access token authorization_details carry a field this resource does not understand');
    }
  }
  for (const field of ['locations', 'actions', 'datatypes', 'privileges'] as const) {
    if (entry[field] !== undefined && !isStringArray(entry[field]))
      throw deny(`the access token authorization_details ${field} must be an array of strings`);
  }
  if (entry.identifier !== undefined && typeof entry.identifier !== 'string')
    throw deny('the access token authorization_details identifier must be a string');
  // RFC 9396 §2.2, §12 (CONFORMANCE 74): `locations` restricts where the grant may be used; exact strings.
  if (entry.locations !== undefined && !entry.locations.some((l) => resources.includes(l))) {
    throw deny('the access token authorization_details are not for this resource');
  }
}

/**
 * The entries of a validated token that this resource server implements and that apply to it.
 *
 * - No `authorization_details`, or only entries of other types: an empty array (CONFORMANCE 73).
 * - An implemented entry whose `locations` do not include this resource server, that carries an unknown
 *   field, or a common field of the wrong type: throws {@link InsufficientScopeError} (403
 *   `insufficient_scope`, CONFORMANCE 74). One such entry denies the request: a token restricted elsewhere
 *   is never partly honoured.
 * - A malformed member (not an array, an entry without a string `type`): throws {@link InvalidTokenError}.
 *
 * @example
 * ```ts
 * const details = authorizationDetailsFor(getAuth(req)!.claims, {
 *   types: { 'https://api.example.com/account': ['accounts'] },
 *   resource: 'https://api.example.com',
 * });
 * ```
 */
export function authorizationDetailsFor(
  claims: Readonly<Record<string, unknown>>,
  policy: AuthorizationDetailsPolicy,
): AuthorizationDetail[] {
  const all = readAuthorizationDetails(claims);
  if (!all) return [];
  const resources = typeof policy.resource === 'string' ? [policy.resource] : policy.resource;
  const out: AuthorizationDetail[] = [];
  for (const entry of all) {
    if (!Object.prototype.hasOwnProperty.call(policy.types, entry.type)) continue; // CONFORMANCE 73: not ours
    checkEntry(entry, policy.types[entry.type] ?? [], resources);
    out.push(entry);
  }
  return out;
}
