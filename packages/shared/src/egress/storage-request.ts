/**
 * Where one output is uploaded: the request's own upload config (per output, then per request) or else the
 * config's `storage:` block, as upstream decides it (`pkg/config/storage.go`). The result has the config's shape
 * (StorageConfig), so the recorder's storage layer reads one type whatever the source.
 */
import type {
  AliOSSUpload,
  AzureBlobUpload,
  GCPUpload,
  ProxyConfig as ProtoProxyConfig,
  S3Upload,
  StorageConfig as ProtoStorageConfig,
} from '@livekit/protocol';
import { CONFIG_DEFAULTS, type StorageConfig } from '../config/schema.js';
import { EgressError, errors } from '../errors.js';
import { parseServiceAccountKey } from './gcp-service-account.js';

/** The upload oneof of a request message: StorageConfig.provider, or EncodedFileOutput/SegmentedFileOutput/ImageOutput.output. */
export type UploadProvider = ProtoStorageConfig['provider'];

/** Where the request carries upload configs, with the field path of the message that holds each oneof. */
export interface StorageSources {
  /** Field of the output, e.g. `egress.outputs[0]`; named when local storage is refused. */
  outputField: string;
  /** The output's own upload config (v2 `Output.storage.provider`, v1 `*Output.output`). */
  output?: UploadProvider;
  /** Field of the message holding `output`, e.g. `egress.outputs[0].storage`; default outputField. */
  outputUploadField?: string;
  /** The request-level upload config (v2 `StartEgressRequest.storage.provider`). */
  request?: UploadProvider;
  /** Field of the message holding `request`, e.g. `egress.storage`. */
  requestField?: string;
}

/** The node's part: the config's `storage:` block and `disallow_local_storage`. */
export interface StorageDefaults {
  storage?: StorageConfig;
  disallow_local_storage: boolean;
}

const PROVIDERS = ['s3', 'azure', 'gcp', 'alioss'] as const;

/** True when the config names no upload provider: the output is delivered to local disk. */
export function isLocalStorage(sc: StorageConfig | undefined): boolean {
  return !sc || PROVIDERS.every((p) => sc[p] === undefined);
}

/**
 * The storage of one output. Precedence: the output's upload config, then the request's, then the config's
 * `storage:` block; `prefix` and `generate_presigned_url` always come from the config (requests cannot set
 * them), and S3 retry settings from the config's `storage.s3` when it has one (else 5 retries, 100 ms..5 s).
 * A result without a provider means local disk; with `disallow_local_storage` that is refused naming the output.
 * Throws invalid_argument naming the field for a malformed upload config, unimplemented for what this service
 * does not support (Ali OSS, proxies, AssumeRole).
 */
export function resolveOutputStorage(src: StorageSources, defaults: StorageDefaults): StorageConfig {
  const base = defaults.storage;
  const fromRequest = src.output?.case
    ? { provider: src.output, field: src.outputUploadField ?? src.outputField }
    : src.request?.case
      ? { provider: src.request, field: src.requestField ?? 'storage' }
      : undefined;
  if (fromRequest) {
    const sc: StorageConfig = {
      prefix: base?.prefix ?? '',
      generate_presigned_url: base?.generate_presigned_url ?? false,
    };
    return { ...sc, ...providerConfig(fromRequest.provider, fromRequest.field, base) };
  }
  if (isLocalStorage(base) && defaults.disallow_local_storage) {
    throw errors.invalidArgument(
      src.outputField,
      '(no upload config)',
      'disallow_local_storage is set, so the output needs an s3, azure or gcp upload (in the output, the request or the config storage block)',
    );
  }
  return base ? structuredClone(base) : { prefix: '', generate_presigned_url: false };
}

function providerConfig(p: UploadProvider, field: string, base: StorageConfig | undefined): Partial<StorageConfig> {
  switch (p.case) {
    case 's3':
      return { s3: s3Config(p.value, `${field}.s3`, base) };
    case 'azure':
      return { azure: azureConfig(p.value, `${field}.azure`) };
    case 'gcp':
      return { gcp: gcpConfig(p.value, `${field}.gcp`) };
    case 'aliOSS':
      return aliOss(p.value, `${field}.aliOSS`);
    default:
      throw errors.invalidArgument(field, p.case, 'unknown upload provider');
  }
}

function required(value: string, field: string, secret = false): string {
  if (value.trim() === '') throw errors.invalidArgument(field, secret ? '(empty)' : value, 'is required');
  return value;
}

function rejectProxy(proxy: ProtoProxyConfig | undefined, field: string): void {
  if (proxy && (proxy.url || proxy.username || proxy.password)) {
    throw new EgressError('unimplemented', `${field}.proxy: upload through a proxy is not supported`);
  }
}

function s3Config(s3: S3Upload, field: string, base: StorageConfig | undefined): NonNullable<StorageConfig['s3']> {
  if (s3.assumeRoleArn || s3.assumeRoleExternalId) {
    const which = s3.assumeRoleArn ? 'assume_role_arn' : 'assume_role_external_id';
    throw new EgressError(
      'unimplemented',
      `${field}.${which}: S3 AssumeRole is not supported; give access_key and secret`,
    );
  }
  rejectProxy(s3.proxy, field);
  if (s3.accessKey && !s3.secret)
    throw errors.invalidArgument(`${field}.secret`, '(empty)', 'is needed with access_key');
  if (s3.secret && !s3.accessKey)
    throw errors.invalidArgument(`${field}.access_key`, '(empty)', 'is needed with secret');
  if (s3.sessionToken && !s3.accessKey) {
    throw errors.invalidArgument(`${field}.access_key`, '(empty)', 'is needed with session_token');
  }
  if (s3.endpoint) {
    let protocol = '';
    try {
      protocol = new URL(s3.endpoint).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw errors.invalidArgument(`${field}.endpoint`, s3.endpoint, 'must be an http:// or https:// URL');
    }
  }
  const retries = base?.s3;
  return {
    access_key: s3.accessKey,
    secret: s3.secret,
    session_token: s3.sessionToken,
    assume_role_arn: '',
    assume_role_external_id: '',
    region: s3.region,
    endpoint: s3.endpoint,
    bucket: required(s3.bucket, `${field}.bucket`),
    force_path_style: s3.forcePathStyle,
    max_retries: retries?.max_retries ?? CONFIG_DEFAULTS.s3_max_retries,
    max_retry_delay: retries?.max_retry_delay ?? CONFIG_DEFAULTS.s3_max_retry_delay,
    min_retry_delay: retries?.min_retry_delay ?? CONFIG_DEFAULTS.s3_min_retry_delay,
    metadata: { ...s3.metadata },
    tagging: s3.tagging,
    content_disposition: s3.contentDisposition,
  };
}

function azureConfig(az: AzureBlobUpload, field: string): NonNullable<StorageConfig['azure']> {
  return {
    account_name: azureAccountName(az.accountName, `${field}.account_name`),
    account_key: required(az.accountKey, `${field}.account_key`, true),
    container_name: required(az.containerName, `${field}.container_name`),
  };
}

/** The account name becomes the blob endpoint's host name: Azure's own rule keeps it from naming another host. */
function azureAccountName(name: string, field: string): string {
  if (!/^[a-z0-9]{3,24}$/.test(required(name, field))) {
    throw errors.invalidArgument(
      field,
      name,
      'must be 3 to 24 lowercase letters and digits (an Azure storage account name)',
    );
  }
  return name;
}

function gcpConfig(gcp: GCPUpload, field: string): NonNullable<StorageConfig['gcp']> {
  rejectProxy(gcp.proxy, field);
  // Checked here so a bad key fails the request before anything starts; gcs.ts parses it again to build the client.
  if (gcp.credentials) parseServiceAccountKey(gcp.credentials, `${field}.credentials`);
  return { credentials_json: gcp.credentials, bucket: required(gcp.bucket, `${field}.bucket`) };
}

function aliOss(_ali: AliOSSUpload, field: string): never {
  throw new EgressError('unimplemented', `${field}: Alibaba OSS upload is not supported; use s3, azure or gcp`);
}
