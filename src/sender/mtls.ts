/**
 * Certificate-bound access tokens (RFC 8705 §3): a token with `cnf["x5t#S256"]` is accepted only from the
 * client holding that certificate: the TLS client certificate of the connection, or, behind a
 * TLS-terminating proxy, a forwarded certificate header trusted only from configured proxies (§6.5).
 */
import { X509Certificate, hash } from 'node:crypto';
import { TokenBindingError } from '../answers/errors.js';

/** How the client certificate reaches the resource server. */
export interface MtlsOptions {
  /** A header carrying the client certificate from a TLS-terminating proxy (PEM, URL-encoded PEM, or base64 DER). */
  certificateHeader?: string;
  /** Addresses (as the socket reports them) of the proxies whose certificate header is trusted. */
  trustedProxies?: readonly string[];
}

/** The parts of a request the certificate is read from. */
export interface TlsRequestLike {
  headers: Record<string, string | string[] | undefined>;
  /** The header lines as received (Node's `IncomingMessage.rawHeaders`), to see a forwarded header sent twice. */
  rawHeaders?: readonly string[] | undefined;
  socket?:
    { remoteAddress?: string | undefined; getPeerCertificate?: (detailed?: boolean) => { raw?: Buffer } | null | object } | undefined;
}

/** base64url(SHA-256(DER)) of the client certificate, or undefined when there is none (§3.1). */
export function clientCertificateThumbprint(req: TlsRequestLike, options: MtlsOptions | undefined): string | undefined {
  const peer = req.socket?.getPeerCertificate?.(false) as { raw?: Buffer } | null | undefined;
  if (peer?.raw && peer.raw.length) return hash('sha256', peer.raw, 'base64url');
  const name = options?.certificateHeader?.toLowerCase();
  if (!name) return undefined;
  // §6.5: a forwarded certificate is believed only from a configured proxy; from anyone else it is ignored.
  const from = req.socket?.remoteAddress;
  if (!from || !options?.trustedProxies?.includes(from)) return undefined;
  // §6.5: the proxy must be the only source of this header. Node joins repeated lines with ", " and only the
  // first certificate would be read, so a client's own copy sent ahead of the proxy's would win: refuse both.
  const lines = headerLines(req.rawHeaders, name);
  if (lines > 1) return undefined;
  const value = req.headers[name];
  if (typeof value !== 'string' || !value || value.length > 16384) return undefined;
  try {
    const text = value.includes('%') ? decodeURIComponent(value) : value;
    const pem = text.includes('-----BEGIN');
    // Seen as one line, the value is the proxy's alone: a chain (ALB, Traefik) starts with the client's leaf
    // (TLS order), which is read. With the raw lines unknown, a second certificate may be a client's copy
    // joined in front: then none is believed.
    const several = pem ? text.split('-----BEGIN').length > 2 : text.includes(',');
    if (several && lines !== 1) return undefined;
    const first = pem ? text : (text.split(',')[0] ?? '');
    const der = pem ? new X509Certificate(first).raw : Buffer.from(first.replace(/\s+/g, ''), 'base64');
    if (!der.length) return undefined;
    new X509Certificate(der); // must parse as a certificate
    return hash('sha256', der, 'base64url');
  } catch {
    return undefined;
  }
}

/** How many header lines named `name` (lower case) the request carried; 0 when the raw lines are unknown. */
function headerLines(rawHeaders: readonly string[] | undefined, name: string): number {
  if (!Array.isArray(rawHeaders)) return 0;
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (typeof rawHeaders[i] === 'string' && rawHeaders[i]!.toLowerCase() === name) n++;
  return n;
}

/** Refuse a certificate-bound token unless the request comes with that certificate (§3, CONFORMANCE 44). */
export function checkCertificateBinding(x5t: unknown, req: TlsRequestLike, options: MtlsOptions | undefined): void {
  if (x5t === undefined) return;
  const thumbprint = clientCertificateThumbprint(req, options);
  if (typeof x5t !== 'string' || thumbprint === undefined || thumbprint !== x5t) {
    throw new TokenBindingError('the access token is bound to a client certificate this request does not present');
  }
}
