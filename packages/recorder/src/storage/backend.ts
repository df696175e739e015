/** The one interface every upload destination (S3, Azure Blob, GCS, local disk) implements. */

/** An object store or directory that finished files are delivered to. */
export interface StorageBackend {
  /** Names the destination for logs and errors, e.g. `s3 bucket "rec" at http://127.0.0.1:9000`; never a secret. */
  readonly description: string;
  /**
   * Checks before any recording that the destination exists and the credentials are accepted; throws a
   * StorageBackendError saying which (missing bucket, wrong key, unreachable endpoint).
   */
  verify(signal?: AbortSignal): Promise<void>;
  /**
   * Uploads the local file to `key` and resolves to its final location (URL, or path for local disk). The
   * local file is left in place; retries with backoff happen inside.
   */
  upload(localPath: string, key: string, contentType: string, signal?: AbortSignal): Promise<string>;
  /** A URL that downloads `key` without credentials for `expiresInSec` seconds. */
  presign(key: string, expiresInSec: number): Promise<string>;
}

/** Tuning shared by the backends; tests shorten the timeouts. */
export interface BackendOptions {
  /** A request that makes no progress for this long is abandoned and retried. Default 60 s. */
  requestTimeoutMs?: number;
  /** Bytes per multipart part / block / resumable chunk. Default 8 MiB. */
  partSize?: number;
  /** Parts in flight at once. Default 4 (memory held: about partSize × concurrency). */
  concurrency?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 4;

/** A failed verify or upload, naming the destination and the server's answer. */
export class StorageBackendError extends Error {
  override readonly name = 'StorageBackendError';
  constructor(
    readonly destination: string,
    readonly operation: 'verify' | 'upload' | 'presign',
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${destination}: ${operation} failed: ${reason}`, options);
  }
}
