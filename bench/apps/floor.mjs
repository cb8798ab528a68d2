// (f) The floor: the least a correct RS256 resource server does per request, written for speed and nothing else.
// node:crypto verification with the AS's keys imported once at start-up, the RS256 allow-list, iss / aud / exp and
// the scope checked; verified payloads kept in a plain Map by the token's own text (cleared when it passes 10,000).
// What it leaves out, and the kit does not: a hash of the token as the key (tokens never kept in memory), entry
// life bound to the token's exp, bounded bytes, nbf / iat / typ (RFC 9068), b64token syntax, repeated headers and
// tokens in more than one place (RFC 6750 §2), key rotation, errors and challenges (RFC 6750 §3), a 503 when the AS
// is away. It shows what this machine allows: a target above the floor's own ratio is out of reach here.
import { createPublicKey, verify } from 'node:crypto';
import { createApp, listOrders, serve, ISSUER, RESOURCE, JWKS_URI } from './common.mjs';

const keys = new Map();
for (const jwk of (await (await fetch(JWKS_URI)).json()).keys) {
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

const app = createApp();
app.use((req, res, next) => {
  const h = req.headers.authorization;
  if (typeof h !== 'string' || !h.startsWith('Bearer ')) return res.status(401).end();
  const token = h.slice(7);
  const p = verified.get(token) ?? payloadOf(token);
  const aud = p?.aud;
  if (!p || p.iss !== ISSUER || !(p.exp > Date.now() / 1000) || !(aud === RESOURCE || (Array.isArray(aud) && aud.includes(RESOURCE)))) {
    return res.status(401).end();
  }
  req.auth = p;
  next();
});
const needs = (scope) => (req, res, next) =>
  typeof req.auth.scope === 'string' && req.auth.scope.split(' ').includes(scope) ? next() : res.status(403).end();
app.get('/orders', needs('read:orders'), listOrders);
serve(app);
