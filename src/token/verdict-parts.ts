/**
 * What cached verdicts share, so that a cached token costs little more than its own claims: the strings that
 * repeat across tokens (audience, client, scope), one frozen audience array per audience, and one
 * {@link GrantedScopes} (with its `hasScope`) per distinct set of scopes. Every table is bounded: when one is
 * full it starts again empty (what is already shared stays shared; only new sharing waits a little).
 */
import { GrantedScopes } from '../scopes/requirement.js';

/** Distinct values remembered per table before it starts again. */
const MAX_SHARED = 1024;
/** Longer strings are not worth a table slot (and are unlikely to repeat). */
const MAX_SHARED_LENGTH = 512;

/** Claims whose string values usually repeat across tokens (never `sub` or `jti`, which are per user or token). */
const REPEATING_CLAIMS = ['aud', 'client_id', 'azp', 'cid', 'appid', 'scope', 'scp', 'token_type', 'typ', 'acr', 'tid', 'ver'] as const;

/** Equal values shared by reference: per verifier, bounded. */
export class VerdictParts {
  readonly #strings = new Map<string, string>();
  readonly #audiences = new Map<string, readonly string[]>();
  readonly #scopes = new Map<string, GrantedScopes>();
  readonly #implications: Map<string, readonly string[]>;
  readonly #wildcards: boolean;

  constructor(implications: Map<string, readonly string[]>, wildcards: boolean) {
    this.#implications = implications;
    this.#wildcards = wildcards;
  }

  /** `s`, or an equal string seen before (so the claims of many tokens point at one copy). */
  string(s: string): string {
    if (s.length > MAX_SHARED_LENGTH) return s;
    const known = this.#strings.get(s);
    if (known !== undefined) return known;
    if (this.#strings.size >= MAX_SHARED) this.#strings.clear();
    this.#strings.set(s, s);
    return s;
  }

  /**
   * Put shared copies of the repeating claims into `claims` (not yet frozen; the values are equal, only their
   * copies change), `iss` included: it is the issuer's own string.
   */
  shareClaims(claims: Record<string, unknown>, issuer: string): void {
    if (claims.iss === issuer) claims.iss = issuer;
    for (const name of REPEATING_CLAIMS) {
      const v = claims[name];
      if (typeof v === 'string') claims[name] = this.string(v);
      else if (Array.isArray(v) && !Object.isFrozen(v)) {
        for (let i = 0; i < v.length; i++) if (typeof v[i] === 'string') v[i] = this.string(v[i] as string);
      }
    }
  }

  /** The frozen audience array of `aud` (a string or an array of strings), shared for a single audience. */
  audience(aud: unknown): readonly string[] {
    if (aud === undefined) return EMPTY;
    const one = typeof aud === 'string' ? aud : Array.isArray(aud) && aud.length === 1 ? (aud[0] as string) : undefined;
    if (one === undefined) return Object.freeze([...(aud as string[])]);
    let shared = this.#audiences.get(one);
    if (!shared) {
      if (this.#audiences.size >= MAX_SHARED) this.#audiences.clear();
      shared = Object.freeze([one]);
      this.#audiences.set(one, shared);
    }
    return shared;
  }

  /** The granted scopes of a token carrying `scopes`: one object per distinct scope set. */
  granted(scopes: readonly string[]): GrantedScopes {
    const key = scopes.length === 1 ? scopes[0]! : scopes.join(' ');
    let g = this.#scopes.get(key);
    if (!g) {
      if (this.#scopes.size >= MAX_SHARED) this.#scopes.clear();
      g = new GrantedScopes(scopes, this.#implications, this.#wildcards);
      this.#scopes.set(key, g);
    }
    return g;
  }
}

const EMPTY: readonly string[] = Object.freeze([]);
