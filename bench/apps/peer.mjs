// (c) express-oauth2-jwt-bearer, the peer. It accepts an http issuer: its metadata/JWKS fetcher handles
// both http: and https:, and only `secret` (HS*) configurations need more options. We give it
// `issuerBaseURL` as its README shows (discovery once, then jose 4's createRemoteJWKSet) unless
// BENCH_PEER_CONFIG=static, which uses `issuer` + `jwksUri` + `tokenSigningAlg` (no discovery).
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { answerPeerErrors, createApp, listOrders, serve, ISSUER, RESOURCE, JWKS_URI } from './common.mjs';

const options =
  process.env.BENCH_PEER_CONFIG === 'static'
    ? { issuer: ISSUER, jwksUri: JWKS_URI, tokenSigningAlg: 'RS256', audience: RESOURCE }
    : { issuerBaseURL: ISSUER, audience: RESOURCE };

const app = createApp();
app.use(auth(options));
app.get('/orders', requiredScopes('read:orders'), listOrders);
app.use(answerPeerErrors);
serve(app);
