/**
 * The UMA authorization server's metadata: `/.well-known/uma2-configuration` (UMA 2.0 Grant §2,
 * FedAuthz §2; RFC 8414 format, the suffix appended to the issuer), or the UMA 1.0
 * `/.well-known/uma-configuration` for the older profile. Endpoints may also be configured directly.
 */
import { httpRequest } from '../http/client.js';

/** What the kit reads of an UMA AS's metadata, normalised across profiles. */
export interface UmaServerMetadata {
  issuer: string;
  token_endpoint: string;
  resource_registration_endpoint: string;
  permission_endpoint: string;
  introspection_endpoint?: string;
  [member: string]: unknown;
}

/** Settings of a metadata fetch. */
export interface UmaDiscoverySettings {
  timeoutMs: number;
  maxBytes: number;
}

/** The UMA metadata URL (Grant §2: the well-known suffix appended to the issuer, RFC 5785). */
export function umaConfigurationUrl(issuer: string, profile: 'uma2' | 'keycloak' | 'uma1'): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/${profile === 'uma1' ? 'uma-configuration' : 'uma2-configuration'}`;
}

/** Fetch and validate the UMA metadata of `issuer`; throws on anything but a valid document for exactly this issuer. */
export async function discoverUma(issuer: string, profile: 'uma2' | 'keycloak' | 'uma1', settings: UmaDiscoverySettings): Promise<UmaServerMetadata> {
  const res = await httpRequest(umaConfigurationUrl(issuer, profile), { headers: { accept: 'application/json' }, timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes });
  if (res.status !== 200) throw new Error(`UMA metadata answered HTTP ${res.status}`);
  const doc = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('UMA metadata is not a JSON object');
  // RFC 8414 §3.3: the document must be for exactly the issuer asked about.
  if (doc.issuer !== issuer) throw new Error('UMA metadata names another issuer');
  // UMA 1.0 names (SPEC-DIGEST 1.10) mapped onto the 2.0 ones.
  const rreg = doc.resource_registration_endpoint ?? doc.resource_set_registration_endpoint;
  const perm = doc.permission_endpoint ?? doc.permission_registration_endpoint;
  for (const [name, v] of [['token_endpoint', doc.token_endpoint], ['resource_registration_endpoint', rreg], ['permission_endpoint', perm]] as const) {
    if (typeof v !== 'string') throw new Error(`UMA metadata has no ${name}`);
  }
  return { ...doc, issuer, token_endpoint: doc.token_endpoint as string, resource_registration_endpoint: rreg as string, permission_endpoint: perm as string };
}
