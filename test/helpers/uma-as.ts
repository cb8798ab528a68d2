/**
 * The kit's UMA test AS for the tests of one `describe`: started before them, closed after, and (with
 * `clearEach`) emptied of every registered set before each test, through the protection API itself.
 */
import { afterAll, beforeAll, beforeEach } from '@jest/globals';
import { UmaRegistrar, type UmaProfileName } from '../../src/index.js';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';

/**
 * Register the hooks; the returned object stands for the AS once started (reads go to the running one).
 */
export function useUmaAs(profile: UmaProfileName, identifiers: string[], options: { clearEach?: boolean } = {}): DevUmaAuthorizationServer {
  let current: DevUmaAuthorizationServer | undefined;
  beforeAll(async () => {
    current = await startDevAuthorizationServer({
      resources: identifiers.map((identifier) => ({ identifier, scopes: ['view'] })),
      uma: { profile },
    });
  });
  afterAll(async () => {
    await current?.close();
  });
  if (options.clearEach) beforeEach(() => clearUmaAs(current!, profile));
  return new Proxy({} as DevUmaAuthorizationServer, {
    get(_target, prop) {
      if (!current) throw new Error('the UMA test AS is not started yet');
      const v = (current as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(current) : v;
    },
  });
}

/** Delete every set the AS holds. */
export async function clearUmaAs(as: DevUmaAuthorizationServer, profile: UmaProfileName): Promise<void> {
  const client = await new UmaRegistrar({ issuer: as.issuer, profile, ...as.resourceServerClient, logger: false }).client();
  for (const r of as.uma.resources()) await client.delete(r._id);
}
