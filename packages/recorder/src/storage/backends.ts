/** Builds the backend for a StorageConfig (from the config file or resolved from a request). */
import { EgressError, type StorageConfig } from '@egress/shared';
import type { BackendOptions, StorageBackend } from './backend.js';
import { AzureBackend } from './azure.js';
import { GcsBackend } from './gcs.js';
import { LocalBackend } from './local.js';
import { S3Backend } from './s3.js';

/** What the node adds to a StorageConfig: where local files go, endpoints of emulators, tuning. */
export interface BackendEnvironment {
  /** Absolute directory for outputs without an upload provider (config `local_output_dir`). */
  localRoot: string;
  /** Azure blob service URL with `{account}` (env EGRESS_AZURE_BLOB_ENDPOINT); default the public cloud. */
  azureServiceUrl?: string;
  /**
   * GCS API endpoint (env EGRESS_GCS_ENDPOINT); default the public API. Not STORAGE_EMULATOR_HOST: with it the
   * Google SDK drops the /storage/v1 path of every request.
   */
  gcsEndpoint?: string;
  options?: BackendOptions;
}

/** The endpoint overrides of a process environment. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv): Pick<BackendEnvironment, 'azureServiceUrl' | 'gcsEndpoint'> {
  return {
    ...(env['EGRESS_AZURE_BLOB_ENDPOINT'] ? { azureServiceUrl: env['EGRESS_AZURE_BLOB_ENDPOINT'] } : {}),
    ...(env['EGRESS_GCS_ENDPOINT'] ? { gcsEndpoint: env['EGRESS_GCS_ENDPOINT'] } : {}),
  };
}

/**
 * The backend for `sc`; local disk when it names no provider. `field` names the block in errors
 * (`storage`, `backup`, `egress.outputs[0].storage`...). Throws unimplemented for Ali OSS, proxies and AssumeRole.
 */
export function createBackend(sc: StorageConfig, env: BackendEnvironment, field: string): StorageBackend {
  const opts = env.options ?? {};
  if (sc.alioss) throw new EgressError('unimplemented', `${field}.alioss: Alibaba OSS upload is not supported`);
  if (sc.s3) {
    if (sc.s3.assume_role_arn) {
      throw new EgressError('unimplemented', `${field}.s3.assume_role_arn: S3 AssumeRole is not supported`);
    }
    if (sc.s3.proxy_config) {
      throw new EgressError('unimplemented', `${field}.s3.proxy_config: upload through a proxy is not supported`);
    }
    return new S3Backend(sc.s3, opts);
  }
  if (sc.azure) {
    return new AzureBackend(sc.azure, { ...opts, ...(env.azureServiceUrl ? { serviceUrl: env.azureServiceUrl } : {}) });
  }
  if (sc.gcp) {
    if (sc.gcp.proxy_config) {
      throw new EgressError('unimplemented', `${field}.gcp.proxy_config: upload through a proxy is not supported`);
    }
    return new GcsBackend(sc.gcp, { ...opts, ...(env.gcsEndpoint ? { apiEndpoint: env.gcsEndpoint } : {}) });
  }
  return new LocalBackend(env.localRoot);
}
