// (f) The floor: the least a correct RS256 resource server does per request, written for speed and nothing else.
// node:crypto verification with the AS's keys imported once at start-up, the RS256 allow-list, iss / aud / exp and
// the scope checked; verified payloads kept in a plain Map by the token's own text (cleared when it passes 10,000).
// What it leaves out, and the kit does not: a hash of the token as the key (tokens never kept in memory), entry
// life bound to the token's exp, bounded bytes, nbf / iat / typ (RFC 9068), b64token syntax, repeated headers and
// tokens in more than one place (RFC 6750 §2), key rotation, errors and challenges (RFC 6750 §3), a 503 when the AS
// is away. It shows what this machine allows: a target above the floor's own ratio is out of reach here.
import { floorMiddleware } from './floor-middleware.mjs';
import { createApp, listOrders, serve, ISSUER, RESOURCE, JWKS_URI } from './common.mjs';

const floor = await floorMiddleware({ issuer: ISSUER, resource: RESOURCE, jwksUri: JWKS_URI });
const app = createApp();
app.use(floor.authenticate);
app.get('/orders', floor.requireScope('read:orders'), listOrders);
serve(app);
