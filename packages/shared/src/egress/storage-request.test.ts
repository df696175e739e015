import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AliOSSUpload,
  AzureBlobUpload,
  GCPUpload,
  ProxyConfig,
  S3Upload,
  StorageConfig as ProtoStorageConfig,
} from '@livekit/protocol';
import type { StorageConfig } from '../config/schema.js';
import { EgressError } from '../errors.js';
import { isLocalStorage, resolveOutputStorage, type UploadProvider } from './storage-request.js';

const s3 = (o: Partial<S3Upload> = {}): UploadProvider =>
  new ProtoStorageConfig({ provider: { case: 's3', value: new S3Upload({ bucket: 'req-bucket', ...o }) } }).provider;
const azure = (o: Partial<AzureBlobUpload> = {}): UploadProvider =>
  new ProtoStorageConfig({
    provider: {
      case: 'azure',
      value: new AzureBlobUpload({ accountName: 'acct', accountKey: 'a2V5', containerName: 'c', ...o }),
    },
  }).provider;
const gcp = (o: Partial<GCPUpload> = {}): UploadProvider =>
  new ProtoStorageConfig({ provider: { case: 'gcp', value: new GCPUpload({ bucket: 'g', ...o }) } }).provider;

const configStorage: StorageConfig = {
  prefix: 'recordings/',
  generate_presigned_url: true,
  s3: {
    access_key: 'AK',
    secret: 'SK',
    session_token: '',
    assume_role_arn: '',
    assume_role_external_id: '',
    region: 'eu-west-1',
    endpoint: '',
    bucket: 'config-bucket',
    force_path_style: false,
    max_retries: 9,
    max_retry_delay: 7000,
    min_retry_delay: 250,
    metadata: {},
    tagging: '',
    content_disposition: '',
  },
};

function rejects(fn: () => unknown, code: string, text: string) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EgressError, String(err));
    assert.equal(err.code, code);
    assert.ok(err.message.includes(text), `"${err.message}" should name ${text}`);
    return true;
  });
}

test('the output config wins over the request config, which wins over the config storage block', () => {
  const defaults = { storage: configStorage, disallow_local_storage: false };
  const both = resolveOutputStorage(
    { outputField: 'egress.outputs[0]', output: azure(), request: s3(), requestField: 'egress.storage' },
    defaults,
  );
  assert.equal(both.azure?.account_name, 'acct');
  assert.equal(both.s3, undefined);
  const requestOnly = resolveOutputStorage(
    { outputField: 'egress.outputs[0]', output: { case: undefined }, request: gcp(), requestField: 'egress.storage' },
    defaults,
  );
  assert.equal(requestOnly.gcp?.bucket, 'g');
  const none = resolveOutputStorage({ outputField: 'egress.outputs[0]' }, defaults);
  assert.deepEqual(none, configStorage);
  assert.notEqual(none, configStorage, 'a copy, so a caller cannot change the config');
});

test('prefix and generate_presigned_url always come from the config; S3 retries from the config s3 block', () => {
  const r = resolveOutputStorage(
    { outputField: 'web.file_outputs[0]', output: s3({ region: 'us-east-2', metadata: { a: 'b' } }) },
    { storage: configStorage, disallow_local_storage: false },
  );
  assert.equal(r.prefix, 'recordings/');
  assert.equal(r.generate_presigned_url, true);
  assert.equal(r.s3?.bucket, 'req-bucket');
  assert.equal(r.s3?.region, 'us-east-2');
  assert.deepEqual(r.s3?.metadata, { a: 'b' });
  assert.deepEqual([r.s3?.max_retries, r.s3?.max_retry_delay, r.s3?.min_retry_delay], [9, 7000, 250]);

  const noConfig = resolveOutputStorage(
    { outputField: 'web.file_outputs[0]', output: s3() },
    { disallow_local_storage: false },
  );
  assert.equal(noConfig.prefix, '');
  assert.equal(noConfig.generate_presigned_url, false);
  assert.deepEqual(
    [noConfig.s3?.max_retries, noConfig.s3?.max_retry_delay, noConfig.s3?.min_retry_delay],
    [5, 5000, 100],
  );
});

test('disallow_local_storage refuses an output that would stay on local disk, naming it', () => {
  rejects(
    () => resolveOutputStorage({ outputField: 'egress.outputs[1]' }, { disallow_local_storage: true }),
    'invalid_argument',
    'egress.outputs[1]',
  );
  const prefixOnly: StorageConfig = { prefix: 'p/', generate_presigned_url: false };
  rejects(
    () =>
      resolveOutputStorage({ outputField: 'egress.outputs[0]' }, { storage: prefixOnly, disallow_local_storage: true }),
    'invalid_argument',
    'disallow_local_storage',
  );
  const local = resolveOutputStorage({ outputField: 'o' }, { storage: prefixOnly, disallow_local_storage: false });
  assert.ok(isLocalStorage(local));
  assert.equal(local.prefix, 'p/');
  assert.ok(
    !isLocalStorage(resolveOutputStorage({ outputField: 'o', output: s3() }, { disallow_local_storage: true })),
  );
});

test('malformed upload configs are refused naming the field, without echoing secrets', () => {
  const d = { disallow_local_storage: false };
  const at = (output: UploadProvider) => () =>
    resolveOutputStorage(
      { outputField: 'egress.outputs[0]', output, outputUploadField: 'egress.outputs[0].storage' },
      d,
    );
  rejects(at(s3({ bucket: '' })), 'invalid_argument', 'egress.outputs[0].storage.s3.bucket');
  rejects(at(s3({ accessKey: 'AK' })), 'invalid_argument', 'egress.outputs[0].storage.s3.secret');
  rejects(at(s3({ sessionToken: 'tok' })), 'invalid_argument', 'egress.outputs[0].storage.s3.access_key');
  rejects(at(s3({ endpoint: 'minio:9000' })), 'invalid_argument', 'egress.outputs[0].storage.s3.endpoint');
  rejects(at(azure({ containerName: '' })), 'invalid_argument', 'egress.outputs[0].storage.azure.container_name');
  for (const accountName of ['127.0.0.1:6379/x?', 'evil.test#', 'Acct', 'ab']) {
    rejects(at(azure({ accountName })), 'invalid_argument', 'egress.outputs[0].storage.azure.account_name');
  }
  rejects(at(gcp({ bucket: ' ' })), 'invalid_argument', 'egress.outputs[0].storage.gcp.bucket');
  assert.throws(at(azure({ accountKey: '' })), (err: unknown) => {
    assert.ok(err instanceof EgressError);
    assert.match(err.message, /azure\.account_key: is required \(got "\(empty\)"\)/);
    return true;
  });
  assert.throws(at(gcp({ credentials: '{"private_key": "SECRET' })), (err: unknown) => {
    assert.ok(err instanceof EgressError);
    assert.equal(err.code, 'invalid_argument');
    assert.match(err.message, /gcp\.credentials/);
    assert.doesNotMatch(err.message, /SECRET/);
    return true;
  });
});

test('Ali OSS, proxies and AssumeRole answer unimplemented naming the field', () => {
  const d = { disallow_local_storage: false };
  const ali = new ProtoStorageConfig({
    provider: { case: 'aliOSS', value: new AliOSSUpload({ bucket: 'b', accessKey: 'k', secret: 's' }) },
  }).provider;
  rejects(
    () => resolveOutputStorage({ outputField: 'egress.outputs[0]', request: ali, requestField: 'egress.storage' }, d),
    'unimplemented',
    'egress.storage.aliOSS',
  );
  rejects(
    () =>
      resolveOutputStorage(
        { outputField: 'web.file_outputs[0]', output: s3({ assumeRoleArn: 'arn:aws:iam::1:role/x' }) },
        d,
      ),
    'unimplemented',
    'web.file_outputs[0].s3.assume_role_arn',
  );
  rejects(
    () =>
      resolveOutputStorage(
        { outputField: 'web.file_outputs[0]', output: gcp({ proxy: new ProxyConfig({ url: 'http://proxy:3128' }) }) },
        d,
      ),
    'unimplemented',
    'web.file_outputs[0].gcp.proxy',
  );
});
