/**
 * Permission tickets of the development UMA AS (FedAuthz §4.2; Grant §3.3.1, §5.5): opaque, single-use,
 * short-lived correlation handles for the permissions a resource server asked for. Keycloak's are RS256 JWS
 * (`PermissionTicketToken`, Keycloak Authorization Services, permission ticket), still looked up here by value.
 */
import { randomBytes } from 'node:crypto';
import type { UmaPermission, UmaProfileName } from './uma-types.js';

/** What a ticket stands for. */
export interface Ticket {
  /** The requested permissions (TicketScopes per resource, Grant §3.3.4). */
  readonly permissions: UmaPermission[];
  /** The resource server that asked (PAT client). */
  readonly server: string;
  /** The resource owner (PAT owner). */
  readonly owner: string;
  /** Keycloak: `claims` pushed with the permission request. */
  readonly claims: Record<string, unknown> | undefined;
  expiresAtMs: number;
}

/** What a new ticket is for: its permissions, the resource server that asks, the owner, pushed claims. */
export type TicketRequest = Pick<Ticket, 'permissions' | 'server' | 'owner'> & { readonly claims?: Record<string, unknown> | undefined };

/** Why a ticket cannot be redeemed. */
export type TicketProblem = 'unknown' | 'expired';

/** Signs a Keycloak ticket (the dev AS's own key). */
export type TicketSigner = (claims: Record<string, unknown>) => Promise<string>;

/** The AS's outstanding tickets. */
export class TicketStore {
  ttlSeconds: number;
  readonly #tickets = new Map<string, Ticket>();
  readonly #profile: UmaProfileName;
  readonly #sign: TicketSigner;
  readonly #issuer: string;

  constructor(profile: UmaProfileName, ttlSeconds: number, issuer: string, sign: TicketSigner) {
    this.#profile = profile;
    this.ttlSeconds = ttlSeconds;
    this.#issuer = issuer;
    this.#sign = sign;
  }

  /** Issue a ticket (FedAuthz §4.2: one ticket, however many permissions). */
  async issue({ permissions, server, owner, claims }: TicketRequest): Promise<string> {
    this.#sweep();
    const now = Date.now();
    const expiresAtMs = now + this.ttlSeconds * 1000;
    const jti = randomBytes(24).toString('base64url');
    const value =
      this.#profile === 'keycloak'
        ? await this.#sign({
            jti,
            iss: this.#issuer,
            aud: server,
            azp: server,
            sub: owner,
            iat: Math.floor(now / 1000),
            exp: Math.floor(expiresAtMs / 1000),
            permissions: permissions.map((p) => ({ rsid: p.resource_id, scopes: p.resource_scopes })),
            ...(claims ? { claims } : {}),
          })
        : jti;
    this.#tickets.set(value, { permissions: structuredClone(permissions), server, owner, claims, expiresAtMs });
    return value;
  }

  /** Look a ticket up without using it. */
  peek(value: string): Ticket | TicketProblem {
    const t = this.#tickets.get(value);
    if (!t) return 'unknown';
    return t.expiresAtMs <= Date.now() ? 'expired' : t;
  }

  /** Use a ticket up (single use, Grant §5.5); a used ticket is unknown from then on. */
  take(value: string): Ticket | TicketProblem {
    const t = this.peek(value);
    this.#tickets.delete(value);
    return t;
  }

  /** Expire every outstanding ticket (test control). */
  expireAll(): void {
    for (const t of this.#tickets.values()) t.expiresAtMs = 0;
  }

  /** Forget tickets that expired long ago (expired ones are kept a while to tell "expired" from "unknown"). */
  #sweep(): void {
    const horizon = Date.now() - 3_600_000;
    for (const [k, t] of this.#tickets) if (t.expiresAtMs < horizon && t.expiresAtMs !== 0) this.#tickets.delete(k);
  }
}
