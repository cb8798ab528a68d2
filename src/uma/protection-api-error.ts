/** The error of a failed protection API call (UMA 2.0 FedAuthz §3.2, §4, §6). */
import { KitError } from '../answers/errors.js';

/** What the constructor of {@link ProtectionApiError} takes. */
export interface ProtectionApiErrorInit {
  /** The protection API operation: `create`, `update`, `delete`, `list`, `permission`, `token`... */
  operation: string;
  /** The HTTP status of the AS's answer; 0 when there was none (network, timeout, or no call could be made). */
  status: number;
  /** The `error` code of the FedAuthz §6 body, when there was one. */
  error?: string | undefined;
  message: string;
  /** The failed call (an `AuthorizationServerCallError` naming issuer, URL and cause), when there was one. */
  cause?: unknown;
}

/**
 * A protection API call that failed (`ERR_PROTECTION_API`): the AS refused or failed a resource registration,
 * a permission ticket request or the protection token (PAT), or the resource is not registered yet. The
 * registrar's `register`, `deregister` and `requestTicket` reject with it; an UMA route answers the client
 * without it (403 with a `Warning`, or 503).
 */
export class ProtectionApiError extends KitError {
  declare readonly code: 'ERR_PROTECTION_API';
  /** The HTTP status of the answer; 0 means no answer (network, timeout) or no call. */
  readonly status: number;
  /** The `error` code of the FedAuthz §6 body, when there was one. */
  readonly error: string | undefined;
  readonly operation: string;
  constructor(init: ProtectionApiErrorInit) {
    super({ code: 'ERR_PROTECTION_API', message: init.message, cause: init.cause });
    this.operation = init.operation;
    this.status = init.status;
    this.error = init.error;
  }
}
