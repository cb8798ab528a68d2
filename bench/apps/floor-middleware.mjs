// The floor's middleware (see floor.mjs): the least a correct RS256 resource server does per request.
import { createPublicKey, verify } from 'node:crypto';

/** The app-wide middleware and a per-route scope check, with the AS's RSA keys fetched and imported once. */
export async function floorMiddleware({ issuer, resource, jwksUri }) {
  const keys = new Map();
  for (const jwk of (await (await fetch(jwksUri)).json()).keys) {
    if (jwk.kty === 'RSA') keys.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
  }
  const verified = new Map();

  function payloadOf(token) {
    const a = token.indexOf('.');
    const b = token.indexOf('.', a + 1);
    if (a < 0 || b < 0) return undefined;
    let header, payload;
    try {
      header = JSON.parse(Buffer.from(token.slice(0, a), 'base64url').toString());
      payload = JSON.parse(Buffer.from(token.slice(a + 1, b), 'base64url').toString());
    } catch {
      return undefined;
    }
    const key = header.alg === 'RS256' ? keys.get(header.kid) : undefined;
    const signature = Buffer.from(token.slice(b + 1), 'base64url');
    if (!key || !verify('sha256', Buffer.from(token.slice(0, b)), key, signature)) return undefined;
    if (verified.size >= 10_000) verified.clear();
    verified.set(token, payload);
    return payload;
  }

  const authenticate = (req, res, next) => {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return res.status(401).end();
    const token = h.slice(7);
    const p = verified.get(token) ?? payloadOf(token);
    const aud = p?.aud;
    if (!p || p.iss !== issuer || !(p.exp > Date.now() / 1000) || !(aud === resource || (Array.isArray(aud) && aud.includes(resource)))) {
      return res.status(401).end();
    }
    req.auth = p;
    next();
  };
  const requireScope = (scope) => (req, res, next) =>
    typeof req.auth.scope === 'string' && req.auth.scope.split(' ').includes(scope) ? next() : res.status(403).end();
  return { authenticate, requireScope };
}
