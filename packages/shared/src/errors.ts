/**
 * The one error taxonomy of the service. Every error that crosses a boundary (RPC reply, IPC message,
 * CLI exit) is an EgressError whose code is a psrpc error code; livekit-server maps those 1:1 to Twirp.
 */
export type ErrorCode =
  | 'canceled'
  | 'malformed_request'
  | 'malformed_result'
  | 'deadline_exceeded'
  | 'unavailable'
  | 'unknown'
  | 'invalid_argument'
  | 'not_found'
  | 'not_acceptable'
  | 'already_exists'
  | 'permission_denied'
  | 'resource_exhausted'
  | 'failed_precondition'
  | 'aborted'
  | 'out_of_range'
  | 'unimplemented'
  | 'internal'
  | 'data_loss'
  | 'unauthenticated'
  | 'unprocessable_entity'
  | 'upstream_server_error'
  | 'upstream_client_error';

export const ERROR_CODES: readonly ErrorCode[] = [
  'canceled',
  'malformed_request',
  'malformed_result',
  'deadline_exceeded',
  'unavailable',
  'unknown',
  'invalid_argument',
  'not_found',
  'not_acceptable',
  'already_exists',
  'permission_denied',
  'resource_exhausted',
  'failed_precondition',
  'aborted',
  'out_of_range',
  'unimplemented',
  'internal',
  'data_loss',
  'unauthenticated',
  'unprocessable_entity',
  'upstream_server_error',
  'upstream_client_error',
];

/** HTTP status per code, as Twirp reports it; EgressInfo.error_code carries this number. */
const HTTP_STATUS: Record<ErrorCode, number> = {
  canceled: 408,
  malformed_request: 400,
  malformed_result: 500,
  deadline_exceeded: 408,
  unavailable: 503,
  unknown: 500,
  invalid_argument: 400,
  not_found: 404,
  not_acceptable: 406,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  data_loss: 500,
  unauthenticated: 401,
  unprocessable_entity: 422,
  upstream_server_error: 502,
  upstream_client_error: 400,
};

export class EgressError extends Error {
  override readonly name = 'EgressError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** HTTP-style status for EgressInfo.error_code. */
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Renders a value for an error message without dumping huge or secret-looking blobs. */
export function showValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The most UTF-8 bytes of error or details text sent to livekit-server (it stores and forwards every EgressInfo). */
export const MAX_ERROR_TEXT_BYTES = 4096;

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes, on a character boundary, ending with a marker that says how much
 * was cut. A page's error text can be megabytes; over 32 MB Redis drops livekit-server's connection.
 */
export function capErrorText(text: string, maxBytes = MAX_ERROR_TEXT_BYTES): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const marker = (cut: number) => `… [cut: ${cut} bytes]`;
  // The marker for the whole length is the longest it can be: the kept part plus any marker then fits.
  let keep = Math.max(0, maxBytes - Buffer.byteLength(marker(bytes.length)));
  while (keep > 0 && (bytes[keep]! & 0xc0) === 0x80) keep--;
  return `${bytes.subarray(0, keep).toString('utf8')}${marker(bytes.length - keep)}`;
}

/** The error factory: one place that words each kind of failure. */
export const errors = {
  invalidArgument: (field: string, value: unknown, why: string) =>
    new EgressError('invalid_argument', `${field}: ${why} (got ${showValue(value)})`),
  alreadyExists: (what: string) => new EgressError('already_exists', `${what} already exists`),
  notFound: (what: string) => new EgressError('not_found', `${what} not found`),
  unavailable: (why: string) => new EgressError('unavailable', why),
  internal: (why: string) => new EgressError('internal', why),
  deadlineExceeded: (why: string) => new EgressError('deadline_exceeded', why),
  failedPrecondition: (why: string) => new EgressError('failed_precondition', why),
  aborted: (why: string) => new EgressError('aborted', why),
  malformedRequest: (why: string) => new EgressError('malformed_request', why),
  /** Wraps anything thrown into an EgressError, keeping an EgressError's own code and the original as `cause`. */
  from: (err: unknown, fallback: ErrorCode = 'internal'): EgressError =>
    err instanceof EgressError ? err : new EgressError(fallback, errorMessage(err), { cause: err }),
};

/** Message text of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The useful part of an SDK error: service code, HTTP status and message, on one line. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & {
    Code?: string;
    code?: string | number;
    statusCode?: number;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e.$metadata?.httpStatusCode ?? e.statusCode;
  const code = e.Code ?? (typeof e.code === 'string' ? e.code : undefined) ?? (e.name !== 'Error' ? e.name : undefined);
  const parts = [code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ');
  const message = e.message.split('\n')[0]!.trim();
  return parts && !message.includes(parts) ? `${parts}: ${message || '(no message)'}` : message || parts;
}
