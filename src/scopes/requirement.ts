/**
 * What a route requires (all-of and any-of scopes) and how a token's granted scopes satisfy it:
 * scopes are compared as whole tokens (RFC 6749 §3.3: space-delimited, case-sensitive strings), so
 * `read:orders` never matches `read:ordersx`, and a `:` or a URL inside a scope is never split.
 */
import { ConfigurationError } from '../answers/errors.js';
import { isScopeToken } from '../answers/www-authenticate.js';

/** A route's scope requirement. */
export interface ScopeRequirement {
  /** Every one of these is needed. */
  readonly allOf: readonly string[];
  /** At least one of these is needed (ignored when empty). */
  readonly anyOf: readonly string[];
}

/** What a route declared: a fixed requirement, or one derived from method and path by the convention. */
export type RouteScopes = { kind: 'static'; requirement: ScopeRequirement } | { kind: 'derived'; resource: string | undefined };

/** Check a declared scope at declaration time, so a typo fails at start-up, not on a request. */
export function assertScope(scope: string): string {
  if (typeof scope !== 'string' || !isScopeToken(scope)) {
    throw new ConfigurationError(
      `invalid scope ${JSON.stringify(scope)}: a scope is one RFC 6749 §3.3 scope-token (printable ASCII, no space, " or \\)`,
    );
  }
  return scope;
}

/** Build a requirement, validating every scope. */
export function requirement(allOf: readonly string[], anyOf: readonly string[] = []): ScopeRequirement {
  return Object.freeze({ allOf: Object.freeze(allOf.map(assertScope)), anyOf: Object.freeze(anyOf.map(assertScope)) });
}

/** Optional scope algebra, off by default. */
export interface ScopeRules {
  /** `{ 'orders:write': ['orders:read'] }`: a granted key grants its values too (transitively). */
  implications?: Readonly<Record<string, readonly string[]>>;
  /** Grant `orders:*` → any `orders:<verb>`, and `*:orders` → any `<verb>:orders` (one whole segment). */
  wildcards?: boolean;
}

/** The transitive closure of implication rules, computed once at start-up. */
export function closeImplications(rules: Readonly<Record<string, readonly string[]>> | undefined): Map<string, readonly string[]> {
  const closed = new Map<string, readonly string[]>();
  if (!rules) return closed;
  for (const start of Object.keys(rules)) {
    assertScope(start);
    const seen = new Set<string>();
    const stack = [...(rules[start] ?? [])];
    while (stack.length) {
      const s = assertScope(stack.pop()!);
      if (seen.has(s) || s === start) continue;
      seen.add(s);
      stack.push(...(rules[s] ?? []));
    }
    closed.set(start, [...seen]);
  }
  return closed;
}

/** A set that cannot be changed through it (a frozen Set can still be added to). */
class ReadonlyStringSet implements ReadonlySet<string> {
  readonly #set: Set<string>;
  constructor(set: Set<string>) {
    this.#set = set;
    Object.freeze(this);
  }
  get size(): number {
    return this.#set.size;
  }
  has(value: string): boolean {
    return this.#set.has(value);
  }
  forEach(callback: (value: string, value2: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const v of this.#set) callback.call(thisArg, v, v, this);
  }
  entries(): SetIterator<[string, string]> {
    return this.#set.entries();
  }
  keys(): SetIterator<string> {
    return this.#set.keys();
  }
  values(): SetIterator<string> {
    return this.#set.values();
  }
  [Symbol.iterator](): SetIterator<string> {
    return this.#set.values();
  }
  get [Symbol.toStringTag](): string {
    return 'ReadonlySet';
  }
}

/**
 * Granted scopes of a token, expanded once (implications) and matched in O(1) per required scope. Immutable: one
 * instance serves every token that carries the same scopes.
 */
export class GrantedScopes {
  /** The scopes as the token carried them (what route code sees). */
  readonly granted: ReadonlySet<string>;
  /** {@link GrantedScopes.has}, bound: the `hasScope` of every context with these scopes (one function, not one per token). */
  readonly hasScope: (scope: string) => boolean = (scope) => this.has(scope);
  readonly #effective: Set<string>;
  readonly #prefixes: string[] = [];
  readonly #suffixes: string[] = [];

  constructor(granted: Iterable<string>, implications: Map<string, readonly string[]>, wildcards: boolean) {
    const carried = new Set(granted);
    // Shared by every token with these scopes: route code gets a view it cannot add to.
    this.granted = new ReadonlyStringSet(carried);
    this.#effective = new Set(carried);
    for (const s of carried) for (const implied of implications.get(s) ?? []) this.#effective.add(implied);
    if (wildcards) {
      for (const s of this.#effective) {
        if (s.length > 2 && s.endsWith(':*')) this.#prefixes.push(s.slice(0, -1));
        else if (s.length > 2 && s.startsWith('*:')) this.#suffixes.push(s.slice(1));
      }
    }
  }

  /** Whether the token grants `scope`. */
  has(scope: string): boolean {
    if (this.#effective.has(scope)) return true;
    for (const p of this.#prefixes) {
      if (scope.startsWith(p) && !scope.includes(':', p.length) && scope.length > p.length) return true;
    }
    for (const suffix of this.#suffixes) {
      if (scope.endsWith(suffix) && scope.length > suffix.length && !scope.slice(0, -suffix.length).includes(':')) return true;
    }
    return false;
  }

  /** Whether the requirement is met. */
  satisfies(req: ScopeRequirement): boolean {
    for (const s of req.allOf) if (!this.has(s)) return false;
    if (req.anyOf.length === 0) return true;
    for (const s of req.anyOf) if (this.has(s)) return true;
    return false;
  }
}

/**
 * The scopes a challenge names (RFC 6750 §3 `scope`): all the all-of scopes and the first any-of
 * alternative, which is the least a client must ask for.
 */
export function challengeScopes(req: ScopeRequirement): string[] {
  const out = [...req.allOf];
  if (req.anyOf.length && !req.anyOf.some((s) => out.includes(s))) out.push(req.anyOf[0]!);
  return out;
}

/** Parse granted scopes from the `scope` (space-delimited string) and `scp` (array or string) claims. */
export function scopesFromClaims(scope: unknown, scp: unknown): string[] | undefined {
  // The usual answer, one string of single-space-separated scopes: its split is the list (no second array).
  if (scp === undefined && typeof scope === 'string') {
    const parts = scope.split(' ');
    if (!parts.includes('')) return parts;
  }
  const out: string[] = [];
  if (scope !== undefined) {
    if (typeof scope !== 'string') return undefined; // RFC 9068 §2.2.3: a string, never an array
    for (const s of scope.split(' ')) if (s) out.push(s);
  }
  if (scp !== undefined) {
    if (typeof scp === 'string') {
      for (const s of scp.split(' ')) if (s) out.push(s);
    } else if (Array.isArray(scp) && scp.every((s) => typeof s === 'string')) out.push(...(scp as string[]));
    else return undefined;
  }
  return out;
}
