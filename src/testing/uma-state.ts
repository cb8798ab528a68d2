/**
 * The state of the development UMA AS, shared by its handlers: registry, tickets, test settings, counters.
 */
import type { PatCheckSettings, UmaProvider } from './uma-http.js';
import type { StoredResource } from './uma-resources.js';
import type { TicketStore } from './uma-tickets.js';
import type { UmaPolicy, UmaProfileName, UmaRequestCounts } from './uma-types.js';

/** Everything the UMA handlers share. */
export interface UmaState {
  readonly profile: UmaProfileName;
  readonly issuer: string;
  readonly provider: UmaProvider;
  /** Registered resources by `_id`, in registration order. */
  readonly registry: Map<string, StoredResource>;
  readonly tickets: TicketStore;
  readonly pat: PatCheckSettings;
  /** Extra claims of tokens being minted (RPT permissions), read by oidc-provider's `extraTokenClaims`. */
  readonly pendingExtra: WeakMap<object, Record<string, unknown>>;
  readonly requests: UmaRequestCounts;
  /** Absolute URL of the resource registration endpoint (uma1: its `resource_set` collection). */
  readonly registrationUrl: string;
  /** Base URL of the (UMA 2.0) user access policy pages. */
  readonly policyUrl: string;
  policy: UmaPolicy | undefined;
  permissionTtlSeconds: number | undefined;
  rptTtlSeconds: number;
  down: boolean;
}

/** Count a request. */
export function count(state: UmaState, endpoint: keyof UmaRequestCounts, method: string): void {
  const byMethod = state.requests[endpoint];
  byMethod[method] = (byMethod[method] ?? 0) + 1;
}
