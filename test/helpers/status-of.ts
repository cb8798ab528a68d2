/** Authenticate a bearer request with a resource server directly (no HTTP) and settle to a status. */
import type { ResourceServer } from '../../src/index.js';

/** 200 when the token is accepted, else the status of the error it was refused with. */
export async function statusOf(rs: ResourceServer, token: string): Promise<number> {
  try {
    await rs.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });
    return 200;
  } catch (err) {
    return (err as { status?: number }).status ?? 500;
  }
}
