// (f) express-oauth2-jwt-bearer with its DPoP support on (`dpop: { enabled: true }`, Bearer still allowed),
// configured as bench/apps/peer.mjs otherwise. It derives htu from the request (protocol + Host).
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { answerPeerErrors, createApp, listOrders, serve, ISSUER, RESOURCE } from './common.mjs';

const app = createApp();
app.use(auth({ issuerBaseURL: ISSUER, audience: RESOURCE, dpop: { enabled: true } }));
app.get('/orders', requiredScopes('read:orders'), listOrders);
app.use(answerPeerErrors);
serve(app);
