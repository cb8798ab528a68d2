/**
 * The registrar's link to the UMA AS: its endpoints (discovered, or given), the resource server's PAT and the
 * protection API client that uses it, and one client per resource owner (UMA 2.0's per-owner PATs).
 */
import { discoverUma, type UmaServerMetadata } from '../authz-server/uma-configuration.js';
import { AsHealth, AuthorizationServerCallError } from '../http/as-failure.js';
import { ProtectionToken, type ProtectionTokenSettings } from '../authz-server/protection-token.js';
import { ResourceRegistrationClient, type RegistrationClientSettings } from './resource-registration.js';
import type { ResolvedUmaOptions } from './registrar-options.js';

/** One connection to the AS: its metadata, the resource server's client, and how to make an owner's. */
export interface Connection {
  client: ResourceRegistrationClient;
  metadata: UmaServerMetadata;
  settings: ProtectionTokenSettings;
  clientSettings: Omit<RegistrationClientSettings, 'pat'>;
}

/** Connects on first need, once for all callers; after a failure (or {@link ProtectionConnection.forget}), anew. */
export class ProtectionConnection {
  readonly #options: ResolvedUmaOptions;
  /** Failures of calls to the AS (discovery, PAT, protection API), logged once per state change. */
  readonly #health: AsHealth;
  /** A sign that the AS lost state (`invalid_resource_id`, a PAT refused that it accepted before). */
  readonly #onStateLoss: () => void;
  #connection: Promise<Connection> | undefined;
  readonly #ownerClients = new Map<string, ResourceRegistrationClient>();

  constructor(options: ResolvedUmaOptions, onStateLoss: () => void) {
    this.#options = options;
    this.#health = new AsHealth(options.logger);
    this.#onStateLoss = onStateLoss;
  }

  /** Discover again at the next call (after a failed sync: the AS may have moved its endpoints). */
  forget(): void {
    this.#connection = undefined;
  }

  /** The protection API client with the resource server's PAT. */
  async client(): Promise<ResourceRegistrationClient> {
    return (await this.connect()).client;
  }

  /**
   * The protection API client for a resource owner. UMA 2.0 (FedAuthz §1.3) has one PAT per owner: a resource
   * with an `owner` is registered (and its tickets requested) with that owner's PAT, from the refresh token
   * stored by `storeOwnerAuthorization`. Keycloak takes `owner` in the body instead, with the server's PAT.
   */
  async clientFor(owner: string | undefined): Promise<ResourceRegistrationClient> {
    const connection = await this.connect();
    if (!owner || connection.clientSettings.profile === 'keycloak') return connection.client;
    let client = this.#ownerClients.get(owner);
    if (!client) {
      client = new ResourceRegistrationClient({ ...connection.clientSettings, pat: new ProtectionToken(connection.settings, owner) });
      this.#ownerClients.set(owner, client);
    }
    return client;
  }

  /** Resources synced with the resource server's own PAT (per-owner ones are registered one by one). */
  ownPat(d: { owner?: string | undefined }): boolean {
    return !d.owner || this.#options.profile === 'keycloak';
  }

  connect(): Promise<Connection> {
    this.#connection ??= this.#open().catch((err: unknown) => {
      this.#connection = undefined;
      throw err;
    });
    return this.#connection;
  }

  async #open(): Promise<Connection> {
    const { issuer, endpoints, profile, timeoutMs, maxBytes } = this.#options;
    const { token, resourceRegistration, permission } = endpoints;
    const metadata: UmaServerMetadata =
      token && resourceRegistration && permission
        ? { issuer, token_endpoint: token, resource_registration_endpoint: resourceRegistration, permission_endpoint: permission }
        : { ...(await this.#discover()), ...given(endpoints) };
    const health = this.#health;
    const settings: ProtectionTokenSettings = {
      issuer,
      tokenEndpoint: metadata.token_endpoint,
      clientId: this.#options.clientId,
      clientSecret: this.#options.clientSecret,
      timeoutMs,
      maxBytes,
      store: this.#options.store,
      health,
    };
    const clientSettings = {
      profile,
      registrationEndpoint: metadata.resource_registration_endpoint,
      permissionEndpoint: metadata.permission_endpoint,
      timeoutMs,
      maxBytes,
      issuer,
      health,
      onStateLoss: () => this.#onStateLoss(),
    };
    const client = new ResourceRegistrationClient({ ...clientSettings, pat: new ProtectionToken(settings) });
    return { client, metadata, settings, clientSettings };
  }

  /** The UMA metadata, its failure reported once per outage. */
  async #discover(): Promise<UmaServerMetadata> {
    const { issuer, profile, timeoutMs, maxBytes } = this.#options;
    try {
      const metadata = await discoverUma(issuer, profile, { timeoutMs, maxBytes });
      this.#health.ok(issuer, 'discovery');
      return metadata;
    } catch (err) {
      if (err instanceof AuthorizationServerCallError) this.#health.failed(err);
      throw err;
    }
  }
}

/** The endpoints given in the options, as metadata members (they win over discovered ones). */
function given(endpoints: ResolvedUmaOptions['endpoints']): Partial<UmaServerMetadata> {
  return {
    ...(endpoints.token ? { token_endpoint: endpoints.token } : {}),
    ...(endpoints.resourceRegistration ? { resource_registration_endpoint: endpoints.resourceRegistration } : {}),
    ...(endpoints.permission ? { permission_endpoint: endpoints.permission } : {}),
  };
}
