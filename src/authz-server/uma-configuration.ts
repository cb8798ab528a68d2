/**
 * The UMA authorization server's metadata: `/.well-known/uma2-configuration` (UMA 2.0 Grant §2,
 * FedAuthz §2; RFC 8414 format, the suffix appended to the issuer), or the UMA 1.0
 * `/.well-known/uma-configuration` for the older profile. Endpoints may also be configured directly.
 */
import { httpRequest, type HttpResponse } from '../http/client.js';
import { AuthorizationServerCallError, classify, classifyAnswer, type AsFailure } from '../http/as-failure.js';

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

/**
 * Fetch and validate the UMA metadata of `issuer`; rejects with an {@link AuthorizationServerCallError} (step
 * `discovery`, naming the URL and the cause) on anything but a valid document for exactly this issuer.
 */
export async function discoverUma(
  issuer: string,
  profile: 'uma2' | 'keycloak' | 'uma1',
  settings: UmaDiscoverySettings,
): Promise<UmaServerMetadata> {
  const url = umaConfigurationUrl(issuer, profile);
  const fail = (failure: AsFailure) => new AuthorizationServerCallError({ issuer, step: 'discovery', url, failure });
  let res: HttpResponse;
  try {
    res = await httpRequest(url, { headers: { accept: 'application/json' }, timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes });
  } catch (err) {
    throw fail(classify(err, settings.timeoutMs));
  }
  if (res.status !== 200) throw fail(classifyAnswer(res, `HTTP ${res.status}`));
  let doc: unknown;
  try {
    doc = JSON.parse(res.body.toString('utf8'));
  } catch {
    throw fail({ kind: 'invalid_answer', status: 200, detail: 'not JSON' });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw fail({ kind: 'invalid_answer', status: 200, detail: 'UMA metadata is not a JSON object' });
  const metadata = doc as Record<string, unknown>;
  // RFC 8414 §3.3: the document must be for exactly the issuer asked about.
  if (metadata.issuer !== issuer)
    throw fail({ kind: 'issuer_mismatch', expectedIssuer: issuer, actualIssuer: String(metadata.issuer).slice(0, 300) });
  // UMA 1.0 names (OAuth Resource Set Registration draft, UMA 1.0) mapped onto the 2.0 ones.
  const registration = metadata.resource_registration_endpoint ?? metadata.resource_set_registration_endpoint;
  const permission = metadata.permission_endpoint ?? metadata.permission_registration_endpoint;
  for (const [name, v] of [
    ['token_endpoint', metadata.token_endpoint],
    ['resource_registration_endpoint', registration],
    ['permission_endpoint', permission],
  ] as const) {
    if (typeof v !== 'string') throw fail({ kind: 'invalid_answer', status: 200, detail: `UMA metadata has no ${name}` });
  }
  return {
    ...metadata,
    issuer,
    token_endpoint: metadata.token_endpoint as string,
    resource_registration_endpoint: registration as string,
    permission_endpoint: permission as string,
  };
}
