/**
 * An attribute provider's claim groups as UMA resources, so that the OP, as the UMA authorization server, knows
 * which claims it brokers here.
 */
import { DEFAULTS } from '../config/options.js';
import type { DesiredResource } from '../uma/sync.js';
import type { AttributeProvider } from './attribute-provider.js';

/** Options of {@link claimGroupResources}. */
export interface ClaimGroupResourceOptions {
  /** Prefix of each resource's `name` (names are unique per owner at Keycloak). Default none. */
  namePrefix?: string;
  /** The resource `type`. Default `claim-group`. */
  type?: string;
}

/**
 * The provider's claim groups as UMA resources, one per scope (`resource_scopes: [scope]`), for
 * `UmaRegistrar.declare()` or `register()`: the OP, as the UMA authorization server, then knows which
 * claims it brokers here. Keys are `claims:<scope>`.
 */
export function claimGroupResources(provider: AttributeProvider, options: ClaimGroupResourceOptions = {}): DesiredResource[] {
  return provider.claimGroups().map(({ scope, claims }) => ({
    key: `claims:${scope}`,
    name: `${options.namePrefix ?? ''}${scope}`,
    type: options.type ?? DEFAULTS.umaClaimGroupType,
    scopes: [scope],
    description: `Claims released under the ${scope} scope: ${claims.join(' ')}`,
  }));
}
