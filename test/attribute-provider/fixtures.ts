/**
 * Shared fixtures of the attribute-provider tests: the provider's identifier, a few users, the
 * standard claims of one user, and the provider's signing key.
 */
import { generateKeyPair, type CryptoKey } from 'jose';

/** The attribute provider's resource identifier (RFC 8707), which is also the `iss` of its claims JWTs. */
export const PROVIDER = 'https://claims.example.net/attributes';
/** Another resource of the same OP. */
export const OTHER = 'https://api.example.com/orders';
/** Every scope the dev AS may grant for the provider. */
export const PROVIDER_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'credit', 'memberships'];
/** The relying party whose tokens ask for claims (`client_id` of hand-signed tokens). */
export const RP_CLIENT = 'rp-client';

/** Alice has every standard claim (OpenID Connect Core §5.1), custom ones, and an attribute no scope releases. */
export const ALICE = {
  name: 'Alice Liddell',
  family_name: 'Liddell',
  given_name: 'Alice',
  middle_name: 'Pleasance',
  nickname: 'Al',
  preferred_username: 'alice',
  profile: 'https://example.net/alice',
  picture: 'https://example.net/alice.png',
  website: 'https://alice.example.net',
  gender: 'female',
  birthdate: '1852-05-04',
  zoneinfo: 'Europe/London',
  locale: 'en-GB',
  updated_at: 1700000000,
  email: 'alice@example.net',
  email_verified: true,
  address: { street_address: '1 Rabbit Hole', locality: 'Oxford', country: 'UK' },
  phone_number: '+44 1865 000000',
  phone_number_verified: false,
  credit_score: 742,
  memberships: ['chess-club'],
  national_id: 'never-released',
};

/** Bob has only a name and an email; the rest of his claims are absent or null. */
export const BOB = { name: 'Bob', email: 'bob@example.net', phone_number: null };

/** The users the provider knows. oidc-provider's client-credentials tokens carry the client as `sub` (`dev-jwt`). */
export const USERS = new Map<string, Record<string, unknown>>([
  ['alice', ALICE],
  ['bob', BOB],
  ['dev-jwt', { name: 'Dev Client User', email: 'dev@example.net' }],
]);

/** Looks users up as an app would (asynchronously). */
export const findUser = async (sub: string) => USERS.get(sub);

/** The custom scopes of the provider. */
export const CUSTOM_SCOPES = { credit: ['credit_score'], memberships: ['memberships'] } as const;

/** A fresh ES256 key pair for the provider. */
export async function providerKey(): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  return generateKeyPair('ES256', { extractable: true });
}
