// The attribute-provider walk-through, end to end on loopback: an OpenID Provider (the kit's development
// AS, oidc-provider) issues access tokens for the attribute provider as a resource; the OP hands a relying
// party a claims object with `_claim_names` / `_claim_sources` (one aggregated source, one distributed
// source); the RP verifies the aggregated JWT and fetches the distributed one, each against the provider's
// JWKS. Exits 0 when every step behaved as expected.
import { generateKeyPair, createRemoteJWKSet, jwtVerify, decodeJwt, base64url } from 'jose';
import { startDevAuthorizationServer } from 'oauth-resource-server/testing';
import { createAttributeProvider } from './app.mjs';

const PROVIDER = 'https://claims.example.net/attributes';
const ORDERS = 'https://api.example.com/orders';
const RP = 'rp-client';

const as = await startDevAuthorizationServer({
  resources: [
    { identifier: PROVIDER, scopes: ['openid', 'profile', 'email', 'address', 'phone', 'credit', 'memberships'] },
    { identifier: ORDERS, scopes: ['profile'] },
  ],
});
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const server = createAttributeProvider({ issuer: as.issuer, resource: PROVIDER, signingKey: { key: privateKey, alg: 'ES256' } }).listen(
  0,
  '127.0.0.1',
);
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${server.address().port}/attributes`;
console.log(`OpenID Provider     ${as.issuer}`);
console.log(`attribute provider  ${base}  (resource and iss ${PROVIDER})\n`);

let failed = false;
const check = (name, ok, detail) => {
  console.log(`${ok ? '✔' : '✘'} ${name}${detail ? `\n    ${detail.replaceAll('\n', '\n    ')}` : ''}\n`);
  if (!ok) failed = true;
};
// The dev OP's own grant (client credentials) has no user, so it signs a user's access token directly with
// its key, as it would after an authorization-code flow: aud = the provider (RFC 8707), client_id = the RP.
const userToken = (sub, scope) => as.signToken({ claims: { sub, scope, aud: PROVIDER, client_id: RP } });
const claimsRequest = (token, headers = {}) => fetch(`${base}/claims`, { headers: { authorization: `Bearer ${token}`, ...headers } });
// The RP trusts this claims provider, and knows where its keys are.
const providerKeys = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
const verify = (jwt) => jwtVerify(jwt, providerKeys, { issuer: PROVIDER, audience: RP });

try {
  const jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json();
  check(
    'the provider publishes its JWKS',
    jwks.keys?.length === 1 && jwks.keys[0].d === undefined,
    `GET /attributes/.well-known/jwks.json → ${JSON.stringify(jwks)}`,
  );

  // 1. The OP collects Alice's address from the provider, to embed it as an aggregated claim.
  const addressToken = await userToken('alice', 'address');
  const aggregated = await claimsRequest(addressToken);
  const aggregatedJwt = await aggregated.text();
  check(
    'the OP fetches the aggregated claims: 200 application/jwt (OIDC Core §5.6.2)',
    aggregated.status === 200 && aggregated.headers.get('content-type')?.startsWith('application/jwt'),
    `GET /attributes/claims  Authorization: Bearer ${addressToken.slice(0, 12)}… (scope address)\n← ${aggregated.status} ${aggregated.headers.get('content-type')}\n  payload ${JSON.stringify(decodeJwt(aggregatedJwt))}`,
  );

  // 2. The OP gives the RP a claims object (userinfo or ID token) pointing at the provider.
  const creditToken = await userToken('alice', 'credit');
  const userinfo = {
    sub: 'alice',
    name: 'Alice Liddell',
    _claim_names: { address: 'src1', credit_score: 'src2' },
    _claim_sources: {
      src1: { JWT: aggregatedJwt },
      src2: { endpoint: `${base}/claims`, access_token: creditToken },
    },
  };
  console.log(
    `the RP receives from the OP:\n    ${JSON.stringify(userinfo, (k, v) => (typeof v === 'string' && v.length > 60 ? `${v.slice(0, 24)}…` : v))}\n`,
  );

  // 3. Aggregated: the JWT is used only after its signature checks out against the provider's keys.
  const src1 = await verify(userinfo._claim_sources[userinfo._claim_names.address].JWT);
  check(
    'the RP verifies the aggregated JWT against the provider JWKS, then uses address (CONFORMANCE 76)',
    src1.payload.address?.locality === 'Oxford',
    `address = ${JSON.stringify(src1.payload.address)}`,
  );

  // 4. Distributed: the RP calls the endpoint with the access token given (Authorization: Bearer, RFC 6750).
  const source = userinfo._claim_sources[userinfo._claim_names.credit_score];
  const distributed = await claimsRequest(source.access_token);
  const src2 = await verify(await distributed.text());
  check(
    'the RP fetches the distributed claims with the given access token and verifies them (CONFORMANCE 75)',
    src2.payload.credit_score === 742,
    `credit_score = ${src2.payload.credit_score}; aud ${src2.payload.aud}, exp - iat = ${src2.payload.exp - src2.payload.iat} s`,
  );

  // 5. An altered aggregated JWT never gets used.
  const [h, , s] = aggregatedJwt.split('.');
  const forged = `${h}.${base64url.encode(JSON.stringify({ ...decodeJwt(aggregatedJwt), address: { locality: 'Elsewhere' } }))}.${s}`;
  const refused = await verify(forged).then(
    () => undefined,
    (err) => err.code,
  );
  check(
    'an altered aggregated JWT fails verification and is not used (CONFORMANCE 76)',
    refused === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    `jose: ${refused}`,
  );

  // 6. What the provider refuses.
  const ordersToken = await as.mintAccessToken({ resource: ORDERS, scope: 'profile' });
  const other = await claimsRequest(ordersToken);
  check(
    'a token minted for another resource: 401 invalid_token (RFC 8707)',
    other.status === 401,
    `WWW-Authenticate: ${other.headers.get('www-authenticate')}`,
  );
  const noScope = await claimsRequest(await userToken('alice', 'openid'));
  check(
    'a token without a claim scope: 403 insufficient_scope',
    noScope.status === 403,
    `WWW-Authenticate: ${noScope.headers.get('www-authenticate')}`,
  );
  const unknown = await claimsRequest(await userToken('mallory', 'email'));
  check('an unknown user: 404, with a body that says nothing about other users', unknown.status === 404, await unknown.text());

  // 7. JSON for a caller that asks for it; never an attribute no granted scope maps.
  const json = await claimsRequest(await userToken('alice', 'email memberships'), { accept: 'application/json' });
  const body = await json.json();
  check(
    'JSON on Accept: application/json, only the claims of the granted scopes',
    json.status === 200 && body.email === 'alice@example.net' && !('national_id' in body) && !('credit_score' in body),
    JSON.stringify(body),
  );
} finally {
  server.close();
  await as.close();
}
if (failed) {
  console.error('attribute-provider demo FAILED');
  process.exit(1);
}
console.log('attribute-provider: every step behaved as expected');
