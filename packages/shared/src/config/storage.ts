/** Reads a `storage:` / `backup:` block (StorageConfig). */
import {
  CONFIG_DEFAULTS,
  type AliOssConfig,
  type AzureConfig,
  type GcpConfig,
  type ProxyConfig,
  type S3Config,
  type StorageConfig,
} from './schema.js';
import type { Section } from './reader.js';
import { errors } from '../errors.js';
import { parseServiceAccountKey } from '../egress/gcp-service-account.js';

const PROVIDERS = ['s3', 'azure', 'gcp', 'alioss'] as const;

function httpUrl(s: Section, key: string, value: string | undefined): string {
  if (value === undefined || value === '') return '';
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    s.c.invalid(s.pathOf(key), value, 'must be an http:// or https:// URL');
  }
  return value;
}

function readProxy(parent: Section): ProxyConfig | undefined {
  const s = parent.section('proxy_config');
  if (!s) return undefined;
  const url = s.requiredStr('url');
  if (url) {
    try {
      new URL(url);
    } catch {
      s.c.invalid(s.pathOf('url'), url, 'must be a URL such as http://proxy:3128');
    }
  }
  const proxy: ProxyConfig = { url, username: s.str('username') ?? '', password: s.str('password') ?? '' };
  s.finish();
  return proxy;
}

function readS3(s: Section): S3Config {
  const config: S3Config = {
    access_key: s.str('access_key') ?? '',
    secret: s.str('secret') ?? '',
    session_token: s.str('session_token') ?? '',
    assume_role_arn: s.str('assume_role_arn') ?? '',
    assume_role_external_id: s.str('assume_role_external_id') ?? '',
    region: s.str('region') ?? '',
    endpoint: httpUrl(s, 'endpoint', s.str('endpoint')),
    bucket: s.requiredStr('bucket'),
    force_path_style: s.bool('force_path_style', false),
    max_retries: s.num('max_retries', CONFIG_DEFAULTS.s3_max_retries, {
      integer: true,
      min: 0,
      zeroMeansDefault: true,
    }),
    max_retry_delay: s.duration('max_retry_delay', CONFIG_DEFAULTS.s3_max_retry_delay, true),
    min_retry_delay: s.duration('min_retry_delay', CONFIG_DEFAULTS.s3_min_retry_delay, true),
    metadata: s.stringMap('metadata'),
    tagging: s.str('tagging') ?? '',
    content_disposition: s.str('content_disposition') ?? '',
  };
  const proxy = readProxy(s);
  if (proxy) config.proxy_config = proxy;
  s.ignored('aws_log_level', 'is not supported and is ignored');
  s.removed('proxy', 'use "proxy_config: { url, username, password }" instead');
  if (config.access_key && !config.secret) s.c.missing(s.pathOf('secret'), 'needed with access_key');
  if (config.secret && !config.access_key) s.c.missing(s.pathOf('access_key'), 'needed with secret');
  if (config.session_token && !config.access_key) s.c.missing(s.pathOf('access_key'), 'needed with session_token');
  if (config.assume_role_external_id && !config.assume_role_arn) {
    s.c.missing(s.pathOf('assume_role_arn'), 'needed with assume_role_external_id');
  }
  if (config.min_retry_delay > config.max_retry_delay) {
    s.c.invalid(
      s.pathOf('min_retry_delay'),
      `${config.min_retry_delay}ms`,
      `must not exceed max_retry_delay (${config.max_retry_delay}ms)`,
    );
  }
  s.finish();
  return config;
}

function readAzure(s: Section): AzureConfig {
  const config: AzureConfig = {
    account_name: s.requiredStr('account_name'),
    account_key: s.requiredStr('account_key'),
    container_name: s.requiredStr('container_name'),
  };
  s.finish();
  return config;
}

function readGcp(s: Section): GcpConfig {
  const config: GcpConfig = { credentials_json: s.str('credentials_json') ?? '', bucket: s.requiredStr('bucket') };
  if (config.credentials_json) {
    const looksLikePath = /^[~./]?[\w./-]+\.json$/.test(config.credentials_json.trim());
    try {
      // The recorder builds nothing but a service-account JWT client: anything else fails here, at start.
      parseServiceAccountKey(config.credentials_json, s.pathOf('credentials_json'));
    } catch (err) {
      if (!looksLikePath) s.c.problems.push(errors.from(err).message);
      else {
        s.c.invalid(
          s.pathOf('credentials_json'),
          undefined,
          'must be the service-account JSON itself (it looks like a file path: paste the file contents)',
        );
      }
    }
  }
  const proxy = readProxy(s);
  if (proxy) config.proxy_config = proxy;
  s.finish();
  return config;
}

function readAliOss(s: Section): AliOssConfig {
  const config: AliOssConfig = {
    access_key: s.requiredStr('access_key'),
    secret: s.requiredStr('secret'),
    endpoint: s.requiredStr('endpoint'),
    bucket: s.requiredStr('bucket'),
  };
  s.finish();
  return config;
}

/** The StorageConfig under `key`, or undefined when the block is absent. */
export function readStorage(parent: Section, key: 'storage' | 'backup'): StorageConfig | undefined {
  const s = parent.section(key);
  if (!s) return undefined;
  const config: StorageConfig = {
    prefix: s.str('prefix') ?? '',
    generate_presigned_url: s.bool('generate_presigned_url', false),
  };
  const s3 = s.section('s3');
  if (s3) config.s3 = readS3(s3);
  const azure = s.section('azure');
  if (azure) config.azure = readAzure(azure);
  const gcp = s.section('gcp');
  if (gcp) config.gcp = readGcp(gcp);
  const alioss = s.section('alioss');
  if (alioss) config.alioss = readAliOss(alioss);

  const set = PROVIDERS.filter((p) => config[p] !== undefined);
  if (set.length > 1) {
    s.c.problems.push(`${s.path}: set only one of ${PROVIDERS.join(', ')} (got ${set.join(' and ')})`);
  } else if (set.length === 0) {
    s.c.warn(
      key === 'storage'
        ? `"storage" has no ${PROVIDERS.join('/')} block: outputs without their own upload config stay on local disk`
        : `"backup" has no ${PROVIDERS.join('/')} block: failed uploads are kept on local disk`,
    );
  }
  s.finish();
  return config;
}
