/** Azure Blob uploads: block blobs via @azure/storage-blob, retries by the SDK's own exponential retry policy. */
import {
  BlobSASPermissions,
  BlobServiceClient,
  StorageRetryPolicyType,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
  type ContainerClient,
} from '@azure/storage-blob';
import { describeError, type AzureConfig } from '@egress/shared';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_PART_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  StorageBackendError,
  type BackendOptions,
  type StorageBackend,
} from './backend.js';
import { withStallRetry } from './stall-retry.js';

/** Azure-specific options. */
export interface AzureBackendOptions extends BackendOptions {
  /**
   * Blob service URL, `{account}` replaced by the account name (e.g. Azurite's `http://127.0.0.1:10000/{account}`).
   * Default `https://{account}.blob.core.windows.net`.
   */
  serviceUrl?: string;
  /** Tries per request, the first included. Default 5 (as upstream). */
  maxTries?: number;
}

export class AzureBackend implements StorageBackend {
  readonly description: string;
  private readonly credential: StorageSharedKeyCredential;
  private readonly container: ContainerClient;
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly idleMs: number;
  private readonly maxTries: number;

  constructor(
    private readonly conf: AzureConfig,
    opts: AzureBackendOptions = {},
  ) {
    const serviceUrl = (opts.serviceUrl ?? 'https://{account}.blob.core.windows.net')
      .replaceAll('{account}', conf.account_name)
      .replace(/\/+$/, '');
    this.description = `azure container "${conf.container_name}" at ${serviceUrl}`;
    this.partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    this.concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
    this.idleMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxTries = opts.maxTries ?? 5;
    this.credential = new StorageSharedKeyCredential(conf.account_name, conf.account_key);
    const service = new BlobServiceClient(serviceUrl, this.credential, {
      retryOptions: {
        retryPolicyType: StorageRetryPolicyType.EXPONENTIAL,
        maxTries: this.maxTries,
        retryDelayInMs: 100,
        maxRetryDelayInMs: 5_000,
      },
    });
    this.container = service.getContainerClient(conf.container_name);
  }

  async verify(signal?: AbortSignal): Promise<void> {
    try {
      await this.container.getProperties({ abortSignal: signal });
    } catch (err) {
      throw new StorageBackendError(this.description, 'verify', azureReason(err), { cause: err });
    }
  }

  async upload(localPath: string, key: string, contentType: string, signal?: AbortSignal): Promise<string> {
    const blob = this.container.getBlockBlobClient(key.replace(/^\/+/, ''));
    try {
      // The SDK retries failed requests but cannot see a stalled one: a watchdog on upload progress aborts and
      // retries the upload (blocks already staged are sent again).
      await withStallRetry(
        {
          tries: this.maxTries,
          idleMs: this.idleMs,
          minDelayMs: 100,
          maxDelayMs: 5_000,
          ...(signal ? { signal } : {}),
        },
        (attemptSignal, progress) =>
          // uploadFile reads each block from disk by range: memory stays about blockSize × concurrency.
          blob.uploadFile(localPath, {
            blockSize: this.partSize,
            maxSingleShotSize: this.partSize,
            concurrency: this.concurrency,
            blobHTTPHeaders: { blobContentType: contentType },
            abortSignal: attemptSignal,
            onProgress: progress,
          }),
      );
    } catch (err) {
      throw new StorageBackendError(this.description, 'upload', describeError(err), { cause: err });
    }
    return blob.url;
  }

  async presign(key: string, expiresInSec: number): Promise<string> {
    const blob = this.container.getBlobClient(key.replace(/^\/+/, ''));
    // A service SAS signed with the account key (upstream needs OAuth for a user-delegation SAS).
    const sas = generateBlobSASQueryParameters(
      {
        containerName: this.conf.container_name,
        blobName: blob.name,
        permissions: BlobSASPermissions.parse('r'),
        startsOn: new Date(Date.now() - 5 * 60_000),
        expiresOn: new Date(Date.now() + expiresInSec * 1000),
      },
      this.credential,
    );
    return `${blob.url}?${sas.toString()}`;
  }
}

function azureReason(err: unknown): string {
  const e = err as { statusCode?: number; code?: string; details?: { errorCode?: string } };
  const code = e.details?.errorCode ?? e.code;
  if (code === 'ContainerNotFound') return 'the container does not exist (ContainerNotFound, HTTP 404)';
  if (code === 'AuthenticationFailed' || e.statusCode === 403) {
    return `authentication failed: wrong account key? (${code ?? 'HTTP 403'})`;
  }
  return describeError(err);
}
