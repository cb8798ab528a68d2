/**
 * What the opt-in debug channel (`logger.debug`) says about a refused token: the check that failed and the values
 * that decided it, so that a developer whose authorization server's tokens are refused finds why from the server
 * log alone. Computed only when `debug` is present, after the refusal, from the token and the settings; never
 * carries the token, its signature or its whole payload, and every value taken from the token is bounded.
 */
import type { ResourceServerError } from '../answers/errors.js';
import type { ResolvedIssuer } from '../config/options.js';
import { clientIdOf, scopesOf, type TokenPolicy } from './profiles.js';

/** What the refusal is explained against. */
export interface RefusalContext {
  /** The settings of a trusted issuer (configured, or vouched for by the resolver), if any. */
  issuer(iss: string): { readonly config: ResolvedIssuer; readonly policy: TokenPolicy } | undefined;
  /** The configured issuers. */
  readonly issuers: readonly string[];
  /** Whether `resolveIssuer` is configured. */
  readonly resolver: boolean;
  /** This resource's identifiers where the token was presented. */
  readonly audiences: readonly string[];
  readonly clockToleranceSeconds: number;
}

const MAX_STRING = 200;
const MAX_ITEMS = 10;

/** A value from the token, bounded: long strings cut, long arrays shortened, objects only named. */
function shown(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…` : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return v;
  if (Array.isArray(v)) return v.slice(0, MAX_ITEMS).map((x) => (typeof x === 'string' || typeof x === 'number' ? shown(x) : typeof x));
  return `(${typeof v})`;
}

/** The header and payload of a JWS, or undefined for anything else (an opaque or malformed token). */
function peek(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
    return isObject(header) && isObject(payload) ? { header, payload } : undefined;
  } catch {
    return undefined;
  }
}

/** The details of one refusal, for `logger.debug`. */
export function refusalDetails(err: ResourceServerError, token: string, ctx: RefusalContext): Record<string, unknown> {
  const out: Record<string, unknown> = { code: err.code, check: err.message };
  const jws = peek(token);
  if (!jws) {
    out.format = token.split('.').length === 5 ? 'JWE (encrypted)' : 'not a JWS (opaque or malformed)';
    return out;
  }
  const { header, payload } = jws;
  out.alg = shown(header.alg);
  if (header.kid !== undefined) out.kid = shown(header.kid);
  out.typ = header.typ === undefined ? '(none)' : shown(header.typ);
  out.issuer = shown(payload.iss);
  const trusted = typeof payload.iss === 'string' ? ctx.issuer(payload.iss) : undefined;
  const profile = trusted?.policy.profile;
  if (profile) out.profile = profile.name;
  const now = Math.floor(Date.now() / 1000);
  switch (err.code) {
    case 'ERR_TOKEN_ISSUER':
      out.expectedIssuers = ctx.issuers.slice(0, MAX_ITEMS);
      if (ctx.resolver)
        out.resolveIssuer = trusted ? 'vouched' : 'did not vouch for this issuer (or is not asked for tokens without a string iss)';
      break;
    case 'ERR_TOKEN_ALGORITHM':
      if (trusted) out.expectedAlgorithms = [...trusted.config.algorithms];
      break;
    case 'ERR_TOKEN_TYPE':
      if (profile) {
        out.expectedTyp = profile.typ.map((t) => (t === null ? '(none)' : t));
        const wrong = Object.entries(profile.claimValues).filter(([name, value]) => payload[name] !== value);
        if (wrong.length) out.claimValues = wrong.map(([claim, expected]) => ({ claim, got: shown(payload[claim]), expected }));
      }
      break;
    case 'ERR_TOKEN_AUDIENCE':
      out.audience = payload.aud === undefined ? '(none)' : shown(payload.aud);
      out.expectedAudience = [...ctx.audiences, ...(profile?.audiences ?? [])].slice(0, MAX_ITEMS);
      if (profile?.clientIds) {
        out.clientId = shown(clientIdOf(payload, profile));
        out.expectedClientIds = profile.clientIds.slice(0, MAX_ITEMS);
      }
      if (profile?.scopePrefixes.length) {
        out.scopes = shown(scopesOf(payload, profile) ?? '(malformed)');
        out.expectedScopePrefixes = profile.scopePrefixes;
      }
      break;
    case 'ERR_TOKEN_CLAIM':
      if (trusted) {
        const missing = trusted.policy.requiredClaims.filter((c) => payload[c] === undefined || payload[c] === null);
        if (trusted.policy.requireClient && clientIdOf(payload, trusted.policy.profile) === undefined)
          missing.push(trusted.policy.profile.clientIdClaims.join(' or '));
        if (missing.length) out.missingClaims = missing;
      }
      break;
    case 'ERR_TOKEN_EXPIRED':
    case 'ERR_TOKEN_NOT_YET_VALID':
      for (const c of ['exp', 'nbf', 'iat'] as const) if (payload[c] !== undefined) out[c] = shown(payload[c]);
      out.now = now;
      out.leewaySeconds = ctx.clockToleranceSeconds;
      break;
    default:
      // Key, signature, header and introspection refusals: alg, kid and typ above are what decided them.
      break;
  }
  return out;
}
