import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from './load.js';
import { serviceAccountJson } from '../testing/gcp-credentials.js';
import { isSecretPath, redactConfig } from './redact.js';

const YAML = `
api_key: APIvisible
api_secret: api-secret
ws_url: wss://lk.example.com
redis:
  address: redis:6379
  username: redis-user
  password: redis-pass
storage:
  prefix: rec/
  s3:
    access_key: s3-access
    secret: s3-secret
    session_token: s3-token
    region: us-east-1
    bucket: media
    metadata:
      team: video
    proxy_config:
      url: http://proxy:3128
      username: proxy-user
      password: proxy-pass
backup:
  gcp:
    bucket: backup-bucket
    credentials_json: ${JSON.stringify(serviceAccountJson())}
    proxy_config:
      url: http://proxy:3128
      password: gcp-proxy-pass
`;

describe('redactConfig', () => {
  it('replaces every secret with *** and keeps everything else', () => {
    const { config } = parseConfig(YAML, {});
    const redacted = redactConfig(config);
    assert.equal(redacted.api_key, 'APIvisible');
    assert.equal(redacted.api_secret, '***');
    assert.equal(redacted.ws_url, 'wss://lk.example.com');
    assert.deepEqual(redacted.redis, { ...config.redis, password: '***' });
    assert.equal(redacted.redis.username, 'redis-user');
    const s3 = redacted.storage?.s3;
    assert.ok(s3);
    assert.equal(s3.access_key, '***');
    assert.equal(s3.secret, '***');
    assert.equal(s3.session_token, '***');
    assert.equal(s3.bucket, 'media');
    assert.equal(s3.region, 'us-east-1');
    assert.deepEqual(s3.metadata, { team: 'video' });
    assert.deepEqual(s3.proxy_config, { url: 'http://proxy:3128', username: 'proxy-user', password: '***' });
    assert.equal(redacted.backup?.gcp?.credentials_json, '***');
    assert.equal(redacted.backup?.gcp?.proxy_config?.password, '***');
    assert.equal(redacted.backup?.gcp?.bucket, 'backup-bucket');
    assert.deepEqual(redacted.cpu_cost, config.cpu_cost);
  });

  it('covers azure and alioss keys', () => {
    const { config } = parseConfig(
      `${YAML.replace(/storage:[\s\S]*$/, '')}storage:\n  azure:\n    account_name: acct\n    account_key: az-key\n    container_name: c\n` +
        'backup:\n  alioss:\n    access_key: ali-access\n    secret: ali-secret\n    endpoint: e\n    bucket: b\n',
      {},
    );
    const redacted = redactConfig(config);
    assert.deepEqual(redacted.storage?.azure, { account_name: 'acct', account_key: '***', container_name: 'c' });
    assert.deepEqual(redacted.backup?.alioss, { access_key: '***', secret: '***', endpoint: 'e', bucket: 'b' });
  });

  it('leaves no secret anywhere in the serialized copy', () => {
    const text = JSON.stringify(redactConfig(parseConfig(YAML, {}).config));
    for (const secret of ['api-secret', 'redis-pass', 's3-access', 's3-secret', 's3-token', 'proxy-pass', 'gcp-key']) {
      assert.ok(!text.includes(secret), `${secret} leaked`);
    }
  });

  it('does not modify the original and keeps empty secrets empty', () => {
    const { config } = parseConfig(YAML.replace('  password: redis-pass\n', ''), {});
    const before = JSON.stringify(config);
    const redacted = redactConfig(config);
    assert.equal(JSON.stringify(config), before);
    assert.equal(config.api_secret, 'api-secret');
    assert.equal(redacted.redis.password, '');
    assert.notEqual(redacted.storage, config.storage);
  });
});

describe('isSecretPath', () => {
  it('knows the secret keys by name', () => {
    for (const path of [
      'api_secret',
      'redis.password',
      'redis.sentinel_password',
      'storage.s3.access_key',
      'storage.s3.secret',
      'storage.s3.session_token',
      'storage.s3.proxy_config.password',
      'backup.azure.account_key',
      'backup.gcp.credentials_json',
      'storage.alioss.secret',
      's3_assume_role_key',
      's3_assume_role_secret',
    ]) {
      assert.ok(isSecretPath(path), path);
    }
    for (const path of ['api_key', 'redis.username', 'storage.s3.bucket', 'storage.s3.assume_role_arn', 'ws_url']) {
      assert.ok(!isSecretPath(path), path);
    }
  });
});
