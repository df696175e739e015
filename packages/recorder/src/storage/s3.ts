/** S3 and S3-compatible uploads: multipart from disk (s3-multipart.ts), retries by the SDK's own retry strategy. */
import { randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { describeError, redactUrlToken, type S3Config } from '@egress/shared';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_PART_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  StorageBackendError,
  type BackendOptions,
  type StorageBackend,
} from './backend.js';
import { uploadFileInParts, type ObjectParams } from './s3-multipart.js';

// S3 refuses multipart parts under 5 MiB (except the last).
const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_REGION = 'us-east-1';

/** Exponential backoff from min_retry_delay, capped at max_retry_delay, with full jitter. */
export function s3RetryDelay(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(minMs, Math.round(Math.random() * ceiling));
}

export class S3Backend implements StorageBackend {
  readonly description: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly concurrency: number;

  constructor(
    private readonly conf: S3Config,
    opts: BackendOptions = {},
  ) {
    this.description = `s3 bucket "${conf.bucket}"${conf.endpoint ? ` at ${redactUrlToken(conf.endpoint)}` : ''}`;
    this.partSize = Math.max(MIN_PART_SIZE, opts.partSize ?? DEFAULT_PART_SIZE);
    this.concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
    const timeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.client = new S3Client({
      region: conf.region || DEFAULT_REGION,
      ...(conf.endpoint ? { endpoint: conf.endpoint } : {}),
      forcePathStyle: conf.force_path_style,
      ...(conf.access_key
        ? {
            credentials: {
              accessKeyId: conf.access_key,
              secretAccessKey: conf.secret,
              ...(conf.session_token ? { sessionToken: conf.session_token } : {}),
            },
          }
        : {}),
      // max_retries counts retries; the SDK counts attempts.
      retryStrategy: new ConfiguredRetryStrategy(conf.max_retries + 1, (attempt) =>
        s3RetryDelay(attempt, conf.min_retry_delay, conf.max_retry_delay),
      ),
      // An idle socket (a stalled transfer) fails with a TimeoutError, which the retry strategy retries.
      requestHandler: { connectionTimeout: Math.min(timeout, 10_000), socketTimeout: timeout },
      // S3-compatible servers often reject the SDK's default streaming checksums (aws-chunked trailers).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async verify(signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.conf.bucket }), { abortSignal: signal });
      return;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // A key that may write but not list (no s3:ListBucket) gets 403 here: a real write decides.
      if (status !== 403 || !(await this.writeProbe(signal))) {
        throw new StorageBackendError(this.description, 'verify', headBucketReason(err), { cause: err });
      }
    }
  }

  async upload(localPath: string, key: string, contentType: string, signal?: AbortSignal): Promise<string> {
    const params: ObjectParams = {
      Bucket: this.conf.bucket,
      Key: key,
      ContentType: contentType,
      ContentDisposition: this.conf.content_disposition || 'inline',
      ...(Object.keys(this.conf.metadata).length > 0 ? { Metadata: this.conf.metadata } : {}),
      ...(this.conf.tagging ? { Tagging: this.conf.tagging } : {}),
    };
    try {
      await uploadFileInParts(this.client, params, localPath, this.partSize, this.concurrency, signal);
    } catch (err) {
      throw new StorageBackendError(this.description, 'upload', describeError(err), { cause: err });
    }
    return this.location(key);
  }

  async presign(key: string, expiresInSec: number): Promise<string> {
    try {
      return await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.conf.bucket, Key: key }), {
        expiresIn: expiresInSec,
      });
    } catch (err) {
      throw new StorageBackendError(this.description, 'presign', describeError(err), { cause: err });
    }
  }

  /** The object's URL: path style under the endpoint, else virtual-host style (as upstream). */
  location(key: string): string {
    const path = key.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
    const endpoint = this.conf.endpoint ? new URL(this.conf.endpoint) : new URL('https://s3.amazonaws.com');
    const base = endpoint.href.replace(/\/+$/, '');
    if (this.conf.force_path_style) return `${base}/${encodeURIComponent(this.conf.bucket)}/${path}`;
    return `${endpoint.protocol}//${this.conf.bucket}.${endpoint.host}${endpoint.pathname.replace(/\/+$/, '')}/${path}`;
  }

  /** Writes and deletes an empty probe object; true when the write is accepted. */
  private async writeProbe(signal?: AbortSignal): Promise<boolean> {
    const key = `.egress-write-probe-${randomUUID()}`;
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.conf.bucket, Key: key, Body: Buffer.alloc(0) }), {
        abortSignal: signal,
      });
    } catch {
      return false;
    }
    // Best effort: an upload-only key may not delete; the empty probe object then stays.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.conf.bucket, Key: key })).catch(() => undefined);
    return true;
  }
}

function headBucketReason(err: unknown): string {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // HeadBucket answers have no body, so the SDK knows only the status.
  if (status === 404) return 'the bucket does not exist (HTTP 404)';
  if (status === 403) return 'access denied: wrong access key or secret, or no permission on the bucket (HTTP 403)';
  if (status === 400) return 'bad request: wrong region or endpoint? (HTTP 400)';
  return describeError(err);
}
