/**
 * The attribute provider registers its claim groups at the OP acting as an UMA authorization server:
 * one resource per scope, through the kit's `UmaRegistrar` (against the kit's UMA test AS on
 * oidc-provider). Counts come from what the AS holds.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { AttributeProvider, UmaRegistrar, attributeProvider, claimGroupResources, MemoryStore } from '../../src/index.js';
import { startDevAuthorizationServer, type DevUmaAuthorizationServer } from '../../src/testing/index.js';
import { CUSTOM_SCOPES, PROVIDER, PROVIDER_SCOPES, findUser } from './fixtures.js';

let as: DevUmaAuthorizationServer;
const registrars: UmaRegistrar[] = [];

beforeAll(async () => {
  as = (await startDevAuthorizationServer({
    resources: [{ identifier: PROVIDER, scopes: PROVIDER_SCOPES }],
    uma: true,
  })) as DevUmaAuthorizationServer;
});
afterAll(async () => {
  for (const r of registrars) r.stop();
  await as?.close();
});

function registrar(): UmaRegistrar {
  const r = new UmaRegistrar({ issuer: as.issuer, ...as.resourceServerClient, store: new MemoryStore(), logger: false });
  registrars.push(r);
  return r;
}

async function clear(r: UmaRegistrar) {
  const client = await r.client();
  for (const held of as.uma.resources()) await client.delete(held._id);
}

describe('claim groups as UMA resources', () => {
  it('describes one resource per scope, keyed claims:<scope>', () => {
    const provider = new AttributeProvider({ findUser, scopes: CUSTOM_SCOPES });
    const resources = claimGroupResources(provider, { namePrefix: 'attributes ', type: 'https://claims.example.net/types/claim-group' });
    expect(resources.map((r) => r.key)).toEqual([
      'claims:profile',
      'claims:email',
      'claims:address',
      'claims:phone',
      'claims:credit',
      'claims:memberships',
    ]);
    expect(resources.find((r) => r.key === 'claims:email')).toEqual({
      key: 'claims:email',
      name: 'attributes email',
      type: 'https://claims.example.net/types/claim-group',
      scopes: ['email'],
      description: 'Claims released under the email scope: email email_verified',
    });
  });

  it('registers every claim group at the AS through the given registrar, idempotently', async () => {
    const r = registrar();
    await clear(r);
    const make = () =>
      attributeProvider({
        resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false },
        scopes: CUSTOM_SCOPES,
        findUser,
        uma: { registrar: r, start: false },
      });
    express().use('/attributes', make());
    expect((await r.sync()).state).toBe('registered');
    const held = as.uma.resources();
    expect(held.map((h) => h.name).sort()).toEqual(['address', 'credit', 'email', 'memberships', 'phone', 'profile']);
    expect(held.find((h) => h.name === 'credit')).toMatchObject({ resource_scopes: ['credit'], type: 'claim-group' });
    expect(r.resourceId('claims:credit')).toBe(held.find((h) => h.name === 'credit')!._id);
    make();
    await r.sync();
    expect(as.uma.resources()).toHaveLength(6);
  });

  it('starts the background sync by default', async () => {
    const r = registrar();
    await clear(r);
    attributeProvider({
      resourceServer: { issuer: as.issuer, resource: PROVIDER, logger: false },
      standardScopes: false,
      scopes: CUSTOM_SCOPES,
      findUser,
      uma: { registrar: r },
    });
    const status = await r.sync(); // joins the sync the router started
    expect(status.registered.sort()).toEqual(['claims:credit', 'claims:memberships']);
    expect(as.uma.resources()).toHaveLength(2);
  });
});
