/**
 * `errorResponse: 'next'` hands each request its own error: one error object can be shared between
 * requests (a remembered refusal, one introspection for concurrent requests), while each request's
 * challenge is its own (RFC 9449 §7.2: answered in the scheme the client used).
 */
import { describe, expect, it } from '@jest/globals';
import type { NextFunction, Response } from 'express';
import { InvalidTokenError, ResourceServer, ResourceServerError } from '../../src/index.js';
import { respondWithError } from '../../src/express/respond.js';
import { createTestIssuer } from '../../src/testing/index.js';

describe("errorResponse: 'next'", () => {
  it('passes a per-request copy carrying that request’s challenge, and leaves the shared error untouched', async () => {
    const ti = await createTestIssuer();
    const server = new ResourceServer({
      issuer: ti.trustedIssuer,
      resource: 'https://api.example.com',
      errorResponse: 'next',
      dpop: true,
      logger: false,
    });
    const shared = new InvalidTokenError('ERR_TOKEN_INACTIVE', 'the access token is not active');
    const seen: ResourceServerError[] = [];
    const next = ((err: unknown) => void seen.push(err as ResourceServerError)) as NextFunction;
    const res = (authorization: string) =>
      ({ req: { headers: { authorization }, baseUrl: '' }, headersSent: false }) as unknown as Response;
    respondWithError(server, shared, res('DPoP abc'), next);
    respondWithError(server, shared, res('Bearer abc'), next);
    expect(seen).toHaveLength(2);
    expect(seen[0]).not.toBe(seen[1]);
    for (const e of seen) {
      expect(e).toBeInstanceOf(InvalidTokenError);
      expect(e.code).toBe('ERR_TOKEN_INACTIVE');
      expect(e.message).toBe('the access token is not active');
    }
    expect(seen[0]!.headers['www-authenticate']).toMatch(/^DPoP /);
    expect(seen[1]!.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(shared.headers).toEqual({});
  });
});
