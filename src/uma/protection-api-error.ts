/** The error of a failed protection API call (UMA 2.0 FedAuthz §3.2, §4, §6). */
/** A protection API call that failed. `status` 0 means no answer (network, timeout). */
export class ProtectionApiError extends Error {
  readonly status: number;
  /** The `error` code of the FedAuthz §6 body, when there was one. */
  readonly error: string | undefined;
  readonly operation: string;
  constructor(operation: string, status: number, error: string | undefined, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProtectionApiError';
    this.operation = operation;
    this.status = status;
    this.error = error;
  }
}
