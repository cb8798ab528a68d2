/**
 * The relying party's side of OpenID Connect Core §5.6.2 against a running attribute provider: claims
 * objects with `_claim_names` / `_claim_sources`, an aggregated source (`{JWT}`) and a distributed one
 * (`{endpoint, access_token}`). Aggregated JWTs are used only after their signature checks out against
 * the claims provider's JWKS (CONFORMANCE 76); forged, altered or unsigned ones are never used.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, UnsecuredJWT, base64url, createRemoteJWKSet, decodeJwt, generateKeyPair, jwtVerify, type JWTPayload } from 'jose';
import { attributeProvider } from '../../src/index.js';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../src/testing/index.js';
import { ALICE, CUSTOM_SCOPES, PROVIDER, PROVIDER_SCOPES, RP_CLIENT, findUser, providerKey } from './fixtures.js';

let as: DevAuthorizationServer;
let server: Server;
let base: string;

beforeAll(async () => {
  as = await startDevAuthorizationServer({ resources: [{ identifier: PROVIDER, scopes: PROVIDER_SCOPES }] });
  const app = express();
  app.use(
    '/attributes',
    attributeProvider({
      resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false },
      signingKey: { key: (await providerKey()).privateKey, alg: 'ES256' },
      scopes: CUSTOM_SCOPES,
      findUser,
    }),
  );
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await as?.close();
});

type Source = { JWT: string } | { endpoint: string; access_token?: string };
interface ClaimsObject {
  sub: string;
  [claim: string]: unknown;
  _claim_names?: Record<string, string>;
  _claim_sources?: Record<string, Source>;
}

/** Claims providers the RP trusts: issuer → where its keys are. */
const trusted = () => new Map([[PROVIDER, createRemoteJWKSet(new URL(`${base}/attributes/.well-known/jwks.json`))]]);

/**
 * What a careful RP does: for every claim named in `_claim_names`, take its source, obtain the JWT
 * (inline, or from the distributed endpoint with the given access token), verify it against the keys of
 * the provider its `iss` names, and only then use the claim.
 */
async function resolve(claims: ClaimsObject): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const keys = trusted();
  for (const [name, sourceName] of Object.entries(claims._claim_names ?? {})) {
    const source = claims._claim_sources?.[sourceName];
    if (!source) throw new Error(`claim ${name} names a missing source`);
    let jwt: string;
    if ('JWT' in source) jwt = source.JWT;
    else {
      const res = await fetch(source.endpoint, { headers: source.access_token ? { authorization: `Bearer ${source.access_token}` } : {} });
      if (!res.ok || !/^application\/jwt/.test(res.headers.get('content-type') ?? ''))
        throw new Error('the distributed endpoint did not answer a JWT');
      jwt = await res.text();
    }
    const iss = decodeJwt(jwt).iss;
    const jwks = typeof iss === 'string' ? keys.get(iss) : undefined;
    if (!jwks) throw new Error('the claims JWT comes from an untrusted provider');
    const { payload } = await jwtVerify(jwt, jwks, { issuer: iss, audience: RP_CLIENT });
    if (!(name in payload)) throw new Error(`the source does not hold ${name}`);
    out[name] = payload[name];
  }
  return out;
}

const tokenFor = (scope: string) => as.signToken({ claims: { sub: 'alice', scope, aud: PROVIDER, client_id: RP_CLIENT } });
async function claimsJwt(scope: string): Promise<string> {
  const res = await fetch(`${base}/attributes/claims`, { headers: { authorization: `Bearer ${await tokenFor(scope)}` } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('aggregated and distributed claims from the attribute provider', () => {
  it('resolves an aggregated and a distributed source after verifying each signature (CONFORMANCE 75, 76)', async () => {
    const userinfo: ClaimsObject = {
      sub: 'op-user-1',
      name: 'Alice',
      _claim_names: { address: 'src1', credit_score: 'src2' },
      _claim_sources: {
        src1: { JWT: await claimsJwt('address') },
        src2: { endpoint: `${base}/attributes/claims`, access_token: await tokenFor('credit') },
      },
    };
    expect(await resolve(userinfo)).toEqual({ address: ALICE.address, credit_score: 742 });
  });

  it('never uses an aggregated JWT whose payload was altered (CONFORMANCE 76)', async () => {
    const [h, , s] = (await claimsJwt('credit')).split('.');
    const forged = base64url.encode(JSON.stringify({ ...decodeJwt(await claimsJwt('credit')), credit_score: 850 }));
    const claims: ClaimsObject = { sub: 'x', _claim_names: { credit_score: 'a' }, _claim_sources: { a: { JWT: `${h}.${forged}.${s}` } } };
    await expect(resolve(claims)).rejects.toThrow(/signature/i);
  });

  it('never uses an aggregated JWT signed by another key, even with the provider iss and kid (CONFORMANCE 76)', async () => {
    const genuine = await claimsJwt('credit');
    const { kid } = JSON.parse(Buffer.from(genuine.split('.')[0]!, 'base64url').toString()) as { kid: string };
    const attacker = (await generateKeyPair('ES256')).privateKey;
    const forged = await new SignJWT({ credit_score: 850 } as JWTPayload)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(PROVIDER)
      .setSubject('alice')
      .setAudience(RP_CLIENT)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(attacker);
    await expect(resolve({ sub: 'x', _claim_names: { credit_score: 'a' }, _claim_sources: { a: { JWT: forged } } })).rejects.toThrow(
      /signature/i,
    );
  });

  it('never uses an unsigned aggregated JWT, nor one from a provider it does not trust (CONFORMANCE 76)', async () => {
    const unsigned = new UnsecuredJWT({ credit_score: 850 }).setIssuer(PROVIDER).setAudience(RP_CLIENT).encode();
    await expect(resolve({ sub: 'x', _claim_names: { credit_score: 'a' }, _claim_sources: { a: { JWT: unsigned } } })).rejects.toThrow();
    // A token of the OP itself (signed with the OP's key) is not a claims JWT of the provider.
    const opSigned = await as.signToken({ claims: { iss: 'https://untrusted.example', credit_score: 850 }, header: { typ: 'JWT' } });
    await expect(resolve({ sub: 'x', _claim_names: { credit_score: 'a' }, _claim_sources: { a: { JWT: opSigned } } })).rejects.toThrow(
      /untrusted/,
    );
  });

  it('a distributed endpoint called with a token lacking the scope gives nothing (403), so the claim stays unresolved', async () => {
    const claims: ClaimsObject = {
      sub: 'x',
      _claim_names: { credit_score: 'd' },
      _claim_sources: { d: { endpoint: `${base}/attributes/claims`, access_token: await tokenFor('openid') } },
    };
    await expect(resolve(claims)).rejects.toThrow(/did not answer a JWT/);
  });
});
