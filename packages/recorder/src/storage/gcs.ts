/** Google Cloud Storage uploads via @google-cloud/storage, retries by the SDK's own retry options. */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { IdempotencyStrategy, Storage, type Bucket, type StorageOptions } from '@google-cloud/storage';
import { GoogleAuth, JWT } from 'google-auth-library';
import { describeError, parseServiceAccountKey, type GcpConfig, type ServiceAccountKey } from '@egress/shared';
import {
  DEFAULT_PART_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  StorageBackendError,
  type BackendOptions,
  type StorageBackend,
} from './backend.js';
import { withStallRetry } from './stall-retry.js';

// Resumable chunks must be multiples of 256 KiB.
const CHUNK_UNIT = 256 * 1024;
const STORAGE_SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';

/**
 * The only auth built from credentials JSON: a JWT client from the key's email and private key, which gets its
 * token from Google's default endpoint (the key's token_uri and universe_domain are never read). The GoogleAuth
 * around it carries the same two fields so URL signing finds the email without asking a metadata server.
 */
function serviceAccountAuth(key: ServiceAccountKey): GoogleAuth<JWT> {
  const jwt = new JWT({ email: key.client_email, key: key.private_key, scopes: [STORAGE_SCOPE] });
  return new GoogleAuth({
    authClient: jwt,
    credentials: { client_email: key.client_email, private_key: key.private_key },
  });
}

/** GCS-specific options. */
export interface GcsBackendOptions extends BackendOptions {
  /** API endpoint of a GCS-compatible server (e.g. fake-gcs-server); requests to it are not authenticated. */
  apiEndpoint?: string;
  /** Retries after the first try. Default 5 (as upstream). */
  maxRetries?: number;
}

export class GcsBackend implements StorageBackend {
  readonly description: string;
  private readonly bucket: Bucket;
  private readonly chunkSize: number;
  private readonly timeout: number;
  private readonly endpoint: string | undefined;
  private readonly maxRetries: number;

  constructor(conf: GcpConfig, opts: GcsBackendOptions = {}) {
    this.endpoint = opts.apiEndpoint?.replace(/\/+$/, '');
    this.description = `gcs bucket "${conf.bucket}"${this.endpoint ? ` at ${this.endpoint}` : ''}`;
    this.chunkSize = Math.max(CHUNK_UNIT, Math.floor((opts.partSize ?? DEFAULT_PART_SIZE) / CHUNK_UNIT) * CHUNK_UNIT);
    this.timeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxRetries = opts.maxRetries ?? 5;
    const key = conf.credentials_json ? parseServiceAccountKey(conf.credentials_json, 'gcp.credentials') : undefined;
    const options: StorageOptions = {
      ...(this.endpoint ? { apiEndpoint: this.endpoint } : {}),
      ...(key ? { authClient: serviceAccountAuth(key), ...(key.project_id ? { projectId: key.project_id } : {}) } : {}),
      timeout: this.timeout,
      retryOptions: {
        autoRetry: true,
        maxRetries: this.maxRetries,
        retryDelayMultiplier: 2,
        maxRetryDelay: 5, // seconds
        totalTimeout: 600, // seconds
        // Overwriting an object with the same bytes is safe to repeat.
        idempotencyStrategy: IdempotencyStrategy.RetryAlways,
      },
    };
    this.bucket = new Storage(options).bucket(conf.bucket);
  }

  async verify(): Promise<void> {
    try {
      await this.bucket.getMetadata();
      return;
    } catch (err) {
      const status = (err as { code?: number }).code;
      // Upload-only service accounts may not read bucket metadata: a real write decides.
      if (status !== 403 || !(await this.writeProbe())) {
        throw new StorageBackendError(this.description, 'verify', gcsReason(err), { cause: err });
      }
    }
  }

  async upload(localPath: string, key: string, contentType: string, signal?: AbortSignal): Promise<string> {
    const name = key.replace(/^\/+/, '');
    const { size } = await stat(localPath);
    // Small files go in one request; large ones resumable in chunks, each chunk retried on its own.
    const resumable = size > this.chunkSize;
    try {
      // A stalled request can hang the SDK's upload: a watchdog on upload progress aborts it and starts over.
      await withStallRetry(
        {
          tries: this.maxRetries + 1,
          idleMs: this.timeout,
          minDelayMs: 100,
          maxDelayMs: 5_000,
          ...(signal ? { signal } : {}),
          // A one-request (non-resumable) write is not retried by the SDK: the SDK's own test decides.
          retryable: (err) => this.bucket.storage.retryOptions.retryableErrorFn?.(err as never) ?? false,
        },
        async (attemptSignal, progress) => {
          const writable = this.bucket.file(name).createWriteStream({
            contentType,
            resumable,
            ...(resumable ? { chunkSize: this.chunkSize } : {}),
            timeout: this.timeout,
          });
          writable.on('progress', progress);
          await pipeline(createReadStream(localPath), writable, { signal: attemptSignal });
        },
      );
    } catch (err) {
      throw new StorageBackendError(this.description, 'upload', describeError(err), { cause: err });
    }
    return this.location(name);
  }

  async presign(key: string, expiresInSec: number): Promise<string> {
    try {
      const [url] = await this.bucket.file(key.replace(/^\/+/, '')).getSignedUrl({
        version: 'v4',
        action: 'read',
        expires: Date.now() + expiresInSec * 1000,
      });
      return url;
    } catch (err) {
      throw new StorageBackendError(this.description, 'presign', describeError(err), { cause: err });
    }
  }

  /** `https://<bucket>.storage.googleapis.com/<key>` as upstream, or `<endpoint>/<bucket>/<key>` for a custom endpoint. */
  location(name: string): string {
    const path = name.split('/').map(encodeURIComponent).join('/');
    if (this.endpoint) return `${this.endpoint}/${encodeURIComponent(this.bucket.name)}/${path}`;
    return `https://${this.bucket.name}.storage.googleapis.com/${path}`;
  }

  private async writeProbe(): Promise<boolean> {
    const file = this.bucket.file(`.egress-write-probe-${randomUUID()}`);
    try {
      await file.save('', { resumable: false });
    } catch {
      return false;
    }
    await file.delete().catch(() => undefined);
    return true;
  }
}

function gcsReason(err: unknown): string {
  const status = (err as { code?: number }).code;
  if (status === 404) return 'the bucket does not exist (HTTP 404)';
  if (status === 401 || status === 403) return `access denied: wrong credentials or no permission (HTTP ${status})`;
  return describeError(err);
}
