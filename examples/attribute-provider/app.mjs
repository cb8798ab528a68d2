// An attribute provider: a resource server that holds user attributes and answers an OpenID Provider
// (or a client holding the OP's access token) with the claims the token's scopes allow, as a signed JWT
// (OpenID Connect Core §5.6.2, distributed and aggregated claims). Its keys are public at
// <mount>/.well-known/jwks.json.
import express from 'express';
import { attributeProvider } from 'oauth-resource-server';

/** The users this provider knows, by the OP's `sub`. */
const users = new Map([
  [
    'alice',
    {
      name: 'Alice Liddell',
      given_name: 'Alice',
      family_name: 'Liddell',
      email: 'alice@example.net',
      email_verified: true,
      address: { street_address: '1 Rabbit Hole', locality: 'Oxford', country: 'UK' },
      credit_score: 742,
      memberships: ['chess-club'],
      national_id: 'never released: no scope maps it',
    },
  ],
  ['bob', { name: 'Bob', email: 'bob@example.net', credit_score: 655 }],
  ['carol', { name: 'Carol', phone_number: '+1 555 0100', phone_number_verified: true }],
]);

/**
 * @param {{ issuer: string, resource: string, signingKey: import('oauth-resource-server').ClaimsSigningKey }} config
 *   `issuer`: the OpenID Provider whose access tokens are accepted; `resource`: this provider's identifier
 *   (the tokens' `aud`, RFC 8707, and the `iss` of its claims JWTs).
 */
export function createAttributeProvider({ issuer, resource, signingKey }) {
  const app = express();
  app.use(
    '/attributes',
    attributeProvider({
      resourceServer: { issuer, resource, logger: false },
      signingKey,
      // JWT by default (what distributed claims need); JSON when the caller's Accept asks for it.
      formats: ['jwt', 'json'],
      // The standard OpenID scopes (profile, email, address, phone) plus two of our own.
      scopes: { credit: ['credit_score'], memberships: ['memberships'] },
      findUser: async (sub) => users.get(sub),
    }),
  );
  return app;
}
