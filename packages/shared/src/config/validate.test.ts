import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EgressError } from '../errors.js';
import { serviceAccountJson } from '../testing/gcp-credentials.js';
import { ConfigError } from './config-error.js';
import { parseConfig } from './load.js';
import { validateConfig } from './validate.js';

const BASE = `
api_key: APIkey
api_secret: topsecret
ws_url: wss://lk.example.com
redis:
  address: redis:6379
`;

const NO_REDIS = BASE.replace(/redis:\n.*\n/, '');

function parse(extra = '', env: NodeJS.ProcessEnv = {}) {
  return parseConfig(`${BASE}${extra}\n`, env, { cwd: '/srv/egress' });
}

/** The message of the ConfigError that parsing `yaml` throws. */
function errorOf(yaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(yaml, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.ok(err instanceof EgressError);
    assert.equal(err.code, 'invalid_argument');
    assert.ok(!err.message.includes('\n'), `message must be one line: ${err.message}`);
    return err.message;
  }
  assert.fail(`expected an error for:\n${yaml}`);
}

function assertError(extra: string, expected: string | RegExp): void {
  const message = errorOf(`${BASE}${extra}\n`);
  if (typeof expected === 'string')
    assert.ok(message.includes(expected), `"${message}"\n  should include\n"${expected}"`);
  else assert.match(message, expected);
}

describe('defaults', () => {
  it('fills every optional key', () => {
    const { config, warnings } = parse();
    assert.deepEqual(warnings, []);
    assert.equal(config.api_key, 'APIkey');
    assert.equal(config.api_secret, 'topsecret');
    assert.equal(config.ws_url, 'wss://lk.example.com');
    assert.deepEqual(config.redis, { address: 'redis:6379', username: '', password: '', db: 0, use_tls: false });
    assert.equal(config.health_port, 0);
    assert.equal(config.prometheus_port, 0);
    assert.equal(config.template_port, 7980);
    assert.equal(config.template_base, 'http://127.0.0.1:7980/');
    assert.equal(config.debug_handler_port, 0);
    assert.deepEqual(config.logging, { level: 'info', json: false });
    assert.equal(config.cluster_id, '');
    assert.equal(config.insecure, false);
    assert.equal(config.enable_chrome_sandbox, false);
    assert.deepEqual(config.chrome_flags, {});
    assert.deepEqual(config.cpu_cost, {
      max_cpu_utilization: 0.8,
      room_composite_cpu_cost: 4,
      audio_room_composite_cpu_cost: 1,
      sdk_audio_room_composite_cpu_cost: 1,
      sdk_audio_room_composite_memory_cost: 0,
      web_cpu_cost: 4,
      audio_web_cpu_cost: 1,
      participant_cpu_cost: 2,
      track_composite_cpu_cost: 1,
      track_cpu_cost: 0.5,
      max_memory: 0,
      memory_cost: 0,
      max_pulse_clients: 60,
      memory_source: 'proc_rss',
      memory_kill_grace_sec: 0,
      cpu_kill_grace_sec: 30,
    });
    assert.deepEqual(config.session_limits, {
      file_output_max_duration: 0,
      stream_output_max_duration: 0,
      segment_output_max_duration: 0,
      image_output_max_duration: 0,
      file_output_max_size: 0,
    });
    assert.equal(config.storage, undefined);
    assert.equal(config.backup, undefined);
    assert.equal(config.disallow_local_storage, false);
    assert.equal(config.max_upload_queue, 60);
    assert.equal(config.io_create_timeout, 15_000);
    assert.equal(config.io_update_timeout, 30_000);
    assert.equal(config.io_selection_timeout, 0);
    assert.equal(config.io_workers, 5);
    assert.equal(config.pulse_sink_reap_grace_sec, 30);
    assert.equal(config.tmp_dir, join(tmpdir(), 'lk-egress'));
    assert.equal(config.local_output_dir, '/srv/egress');
    assert.equal(config.recorder_restarts, 2);
    assert.equal(config.max_stream_urls, 8);
    assert.equal(config.chromium_path, '/usr/bin/chromium');
    assert.match(config.node_id, /^NE_[A-Za-z0-9]{12}$/);
    assert.notEqual(parse().config.node_id, config.node_id);
  });

  it('derives template_base from template_port and the sdk audio costs from their bases', () => {
    const { config } = parse('template_port: 8111\ncpu_cost:\n  audio_room_composite_cpu_cost: 2.5\n  memory_cost: 3');
    assert.equal(config.template_base, 'http://127.0.0.1:8111/');
    assert.equal(config.cpu_cost.sdk_audio_room_composite_cpu_cost, 2.5);
    assert.equal(config.cpu_cost.sdk_audio_room_composite_memory_cost, 3);
  });

  it('treats 0 as "default" where upstream does', () => {
    const { config } = parse(
      'template_port: 0\nio_workers: 0\nmax_upload_queue: 0\nio_create_timeout: 0\npulse_sink_reap_grace_sec: 0\n' +
        'cpu_cost:\n  room_composite_cpu_cost: 0\n  max_pulse_clients: 0\n  cpu_kill_grace_sec: 0',
    );
    assert.equal(config.template_port, 7980);
    assert.equal(config.io_workers, 5);
    assert.equal(config.max_upload_queue, 60);
    assert.equal(config.io_create_timeout, 15_000);
    assert.equal(config.pulse_sink_reap_grace_sec, 30);
    assert.equal(config.cpu_cost.room_composite_cpu_cost, 4);
    assert.equal(config.cpu_cost.max_pulse_clients, 60);
    assert.equal(config.cpu_cost.cpu_kill_grace_sec, 30);
  });

  it('accepts an empty document as "no keys" (so only required keys are reported)', () => {
    const message = errorOf('# nothing here\n');
    assert.match(message, /missing required config key "api_key"/);
    assert.match(message, /missing required config key "redis"/);
  });
});

describe('reading values', () => {
  it('reads every known key', () => {
    const { config, warnings } = parse(`
health_port: 8080
prometheus_port: "9090"
debug_handler_port: 6060
template_base: https://templates.example.com/base/
logging:
  level: DEBUG
  json: yes
insecure: true
enable_chrome_sandbox: on
chrome_flags:
  disable-gpu: true
  window-size: "1920,1080"
  force-device-scale-factor: 1
cpu_cost:
  max_cpu_utilization: 1
  track_cpu_cost: 0.25
  max_memory: 16
  memory_source: cgroup
session_limits:
  file_output_max_duration: 1h30m
  stream_output_max_duration: 90m
  segment_output_max_duration: 45s
  image_output_max_duration: 500ms
  file_output_max_size: 10737418240
disallow_local_storage: true
max_upload_queue: 30
io_create_timeout: 20s
io_update_timeout: 1m
io_selection_timeout: 250ms
io_workers: 8
pulse_sink_reap_grace_sec: -1
tmp_dir: scratch
local_output_dir: /data/out
recorder_restarts: 0
max_stream_urls: 3
chromium_path: /opt/chrome/chrome
node_id: NE_fixed-1
`);
    assert.deepEqual(warnings, []);
    assert.equal(config.health_port, 8080);
    assert.equal(config.prometheus_port, 9090);
    assert.equal(config.debug_handler_port, 6060);
    assert.equal(config.template_base, 'https://templates.example.com/base/');
    assert.deepEqual(config.logging, { level: 'debug', json: true });
    assert.equal(config.insecure, true);
    assert.equal(config.enable_chrome_sandbox, true);
    assert.deepEqual(config.chrome_flags, {
      'disable-gpu': true,
      'window-size': '1920,1080',
      'force-device-scale-factor': 1,
    });
    assert.equal(config.cpu_cost.max_cpu_utilization, 1);
    assert.equal(config.cpu_cost.track_cpu_cost, 0.25);
    assert.equal(config.cpu_cost.max_memory, 16);
    assert.equal(config.cpu_cost.memory_source, 'cgroup');
    assert.deepEqual(config.session_limits, {
      file_output_max_duration: 5_400_000,
      stream_output_max_duration: 5_400_000,
      segment_output_max_duration: 45_000,
      image_output_max_duration: 500,
      file_output_max_size: 10_737_418_240,
    });
    assert.equal(config.disallow_local_storage, true);
    assert.equal(config.max_upload_queue, 30);
    assert.equal(config.io_create_timeout, 20_000);
    assert.equal(config.io_update_timeout, 60_000);
    assert.equal(config.io_selection_timeout, 250);
    assert.equal(config.io_workers, 8);
    assert.equal(config.pulse_sink_reap_grace_sec, -1);
    assert.equal(config.tmp_dir, '/srv/egress/scratch');
    assert.equal(config.local_output_dir, '/data/out');
    assert.equal(config.recorder_restarts, 0);
    assert.equal(config.max_stream_urls, 3);
    assert.equal(config.chromium_path, '/opt/chrome/chrome');
    assert.equal(config.node_id, 'NE_fixed-1');
  });

  it('keeps string values exactly as written, even when YAML would read a number', () => {
    const { config } = parseConfig(
      'api_key: 0042\napi_secret: 1e3\nws_url: ws://lk\nredis:\n  address: r:6379\n  password: 0123\n  username: true\n',
      {},
    );
    assert.equal(config.api_key, '0042');
    assert.equal(config.api_secret, '1e3');
    assert.equal(config.redis.password, '0123');
    assert.equal(config.redis.username, 'true');
  });

  it('reads redis options; tls.enabled turns on use_tls', () => {
    const { config, warnings } = parseConfig(
      `${NO_REDIS}redis:\n  address: 10.0.0.5:6380\n  username: u\n  password: p\n  db: 3\n  tls:\n    enabled: true\n`,
      {},
    );
    assert.deepEqual(config.redis, { address: '10.0.0.5:6380', username: 'u', password: 'p', db: 3, use_tls: true });
    assert.deepEqual(warnings, []);
  });

  it('reads storage and backup blocks, with upstream S3 retry defaults', () => {
    const { config, warnings } = parse(`
storage:
  prefix: recordings/
  generate_presigned_url: true
  s3:
    access_key: AKIA
    secret: s3secret
    region: eu-west-1
    endpoint: https://minio.local:9000
    bucket: media
    force_path_style: true
    metadata:
      team: video
    tagging: a=b
    content_disposition: attachment
    proxy_config:
      url: http://proxy:3128
      username: pu
      password: pp
backup:
  azure:
    account_name: acct
    account_key: azkey
    container_name: backups
`);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.storage, {
      prefix: 'recordings/',
      generate_presigned_url: true,
      s3: {
        access_key: 'AKIA',
        secret: 's3secret',
        session_token: '',
        assume_role_arn: '',
        assume_role_external_id: '',
        region: 'eu-west-1',
        endpoint: 'https://minio.local:9000',
        bucket: 'media',
        force_path_style: true,
        max_retries: 5,
        max_retry_delay: 5_000,
        min_retry_delay: 100,
        metadata: { team: 'video' },
        tagging: 'a=b',
        content_disposition: 'attachment',
        proxy_config: { url: 'http://proxy:3128', username: 'pu', password: 'pp' },
      },
    });
    assert.deepEqual(config.backup, {
      prefix: '',
      generate_presigned_url: false,
      azure: { account_name: 'acct', account_key: 'azkey', container_name: 'backups' },
    });
  });

  it('reads gcp and alioss', () => {
    const key = serviceAccountJson();
    const gcp = parse(`storage:\n  gcp:\n    bucket: g\n    credentials_json: ${JSON.stringify(key)}`).config.storage
      ?.gcp;
    assert.deepEqual(gcp, { bucket: 'g', credentials_json: key });
    assert.match(
      errorOf(`${BASE}storage:\n  gcp:\n    bucket: g\n    credentials_json: '{"type":"authorized_user"}'\n`),
      /storage\.gcp\.credentials_json\.type: only "service_account" keys are accepted/,
    );
    const ali = parse(
      'storage:\n  alioss:\n    access_key: a\n    secret: s\n    endpoint: oss-cn.aliyuncs.com\n    bucket: b',
    );
    assert.deepEqual(ali.config.storage?.alioss, {
      access_key: 'a',
      secret: 's',
      endpoint: 'oss-cn.aliyuncs.com',
      bucket: 'b',
    });
  });

  it('supports anchors, aliases and merge keys', () => {
    const { config } = parse(
      'storage: &st\n  s3:\n    bucket: shared\nbackup: *st\nlogging:\n  <<: {level: warn}\n  json: true',
    );
    assert.deepEqual(config.backup, config.storage);
    assert.equal(config.backup?.s3?.bucket, 'shared');
    assert.deepEqual(config.logging, { level: 'warn', json: true });
  });
});

describe('warnings', () => {
  it('warns about upstream keys that are accepted but ignored', () => {
    const { warnings } = parseConfig(
      `${NO_REDIS}
debug:
  enable_profiling: true
latency:
  pipeline_latency: 3s
video_encoder_threads: 4
enable_sync_engine: true
s3_assume_role_arn: arn:aws:iam::1:role/x
redis:
  address: redis:6379
  sentinel_addresses: ["a:1", "b:2"]
  sentinel_password: sentinel-secret
  pool_size: 10
logging:
  sample: true
  component_levels:
    pipeline: debug
`,
      {},
    );
    for (const key of [
      'debug',
      'latency',
      'video_encoder_threads',
      'enable_sync_engine',
      's3_assume_role_arn',
      'redis.sentinel_addresses',
      'redis.sentinel_password',
      'redis.pool_size',
      'logging.sample',
      'logging.component_levels',
    ]) {
      assert.ok(
        warnings.some((w) => w.startsWith(`config key "${key}"`) && w.includes('ignored')),
        `no warning for ${key}: ${warnings.join(' | ')}`,
      );
    }
    assert.ok(!warnings.join(' ').includes('sentinel-secret'));
  });

  it('does not warn about ignored keys left at their zero value', () => {
    const { warnings } = parse('debug: {}\nenable_sync_engine: false\nvideo_encoder_threads: 0\ntest_overrides:');
    assert.deepEqual(warnings, []);
  });

  it('warns about a non-empty cluster_id', () => {
    const { config, warnings } = parse('cluster_id: eu-1');
    assert.equal(config.cluster_id, 'eu-1');
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? '',
      /cluster_id is "eu-1": livekit-server only sends egress requests to the empty cluster id/,
    );
  });

  it('converts an http(s) ws_url with a warning', () => {
    const { config, warnings } = parseConfig(BASE.replace('wss://lk.example.com', 'https://lk.example.com'), {});
    assert.equal(config.ws_url, 'wss://lk.example.com');
    assert.match(warnings[0] ?? '', /^ws_url: expected a ws:\/\/ or wss:\/\/ URL, using "wss:\/\/lk\.example\.com"$/);
  });

  it('warns about a storage block without a provider', () => {
    const { warnings } = parse('storage:\n  prefix: x/');
    assert.match(warnings[0] ?? '', /"storage" has no s3\/azure\/gcp\/alioss block/);
  });
});

describe('errors', () => {
  it('reports a missing required key', () => {
    assert.match(
      errorOf('api_key: k\napi_secret: s\nws_url: ws://x\n'),
      /^invalid config: missing required config key "redis" /,
    );
    assert.match(
      errorOf('api_key: k\napi_secret: s\nws_url: ws://x\nredis:\n  db: 1\n'),
      /missing required config key "redis\.address"/,
    );
    assertError('storage:\n  s3:\n    region: x', 'missing required config key "storage.s3.bucket"');
    assertError(
      'storage:\n  azure:\n    account_name: a',
      'missing required config key "storage.azure.account_key"; missing required config key "storage.azure.container_name"',
    );
  });

  it('reports a value of the wrong type', () => {
    assertError('insecure: maybe', 'invalid config: insecure: must be true or false (got "maybe")');
    assert.match(
      errorOf(`${NO_REDIS}redis:\n  address: r:1\n  db: -1\n`),
      /redis\.db: must be an integer >= 0 \(got -1\)/,
    );
    assertError('recorder_restarts: 1.5', 'recorder_restarts: must be an integer >= 0 (got 1.5)');
    assertError('max_stream_urls: 0', 'max_stream_urls: must be an integer >= 1 (got 0)');
    assertError('logging:\n  level: verbose', 'logging.level: must be one of debug, info, warn, error (got "verbose")');
    assertError('logging: loud', 'logging: must be a mapping of keys to values (got "loud")');
    assertError('chrome_flags:\n  foo: [1]', 'chrome_flags.foo: must be a string, boolean or number (got a list)');
    assertError('cluster_id: {a: 1}', 'cluster_id: must be a string (got a mapping)');
    assertError(
      'cpu_cost:\n  max_cpu_utilization: 0',
      'cpu_cost.max_cpu_utilization: must be a number in (0, 1] (got 0)',
    );
    assertError('cpu_cost:\n  web_cpu_cost: -2', 'cpu_cost.web_cpu_cost: must be a number >= 0 (got -2)');
    assertError(
      'cpu_cost:\n  memory_source: heap',
      'cpu_cost.memory_source: must be one of proc_rss, cgroup (got "heap")',
    );
    assertError('node_id: "bad id!"', 'node_id: must be 1-64 letters, digits, "_" or "-" (got "bad id!")');
  });

  it('reports a bad port', () => {
    assertError('health_port: abc', 'invalid config: health_port: must be an integer port 0-65535 (got "abc")');
    assertError('prometheus_port: 70000', 'prometheus_port: must be an integer port 0-65535 (got 70000)');
    assertError('health_port: 8080\ntemplate_port: 8080', 'template_port: must differ from health_port (got 8080)');
  });

  it('reports a bad URL or address', () => {
    const noWs = BASE.replace(/ws_url.*\n/, '');
    assert.match(
      errorOf(`${noWs}ws_url: localhost:7880\n`),
      /ws_url: must be a ws:\/\/ or wss:\/\/ URL .*\(got "localhost:7880"\)/,
    );
    assert.match(errorOf(`${noWs}ws_url: ftp://lk\n`), /ws_url: must be a ws:\/\/ or wss:\/\/ URL/);
    assertError('template_base: /relative', 'template_base: must be an http:// or https:// URL (got "/relative")');
    assertError(
      'storage:\n  s3:\n    bucket: b\n    endpoint: minio:9000',
      'storage.s3.endpoint: must be an http:// or https:// URL (got "minio:9000")',
    );
    const noRedis = NO_REDIS;
    assert.match(
      errorOf(`${noRedis}redis:\n  address: redis://r:6379\n`),
      /redis\.address: must be host:port such as redis:6379 \(no scheme: set use_tls: true for TLS\) \(got "redis:\/\/r:6379"\)/,
    );
    assert.match(errorOf(`${noRedis}redis:\n  address: r:99999\n`), /redis\.address: must be host:port/);
  });

  it('reports a bad duration', () => {
    assertError(
      'session_limits:\n  file_output_max_duration: 1x',
      'session_limits.file_output_max_duration: must be a duration like "500ms", "45s", "90m" or "1h30m", or 0 (got "1x")',
    );
    assertError(
      'io_create_timeout: 15',
      'io_create_timeout: must be a duration with a unit, like "45s", "90m" or "1h30m" (a bare number is ambiguous) (got 15)',
    );
    assertError('io_update_timeout: -5s', 'io_update_timeout: must not be negative (got "-5s")');
  });

  it('reports an unknown key with a suggestion', () => {
    assertError('helth_port: 8080', 'unknown config key "helth_port" (did you mean "health_port"?)');
    assertError('reids: {}', 'unknown config key "reids" (did you mean "redis"?)');
    assertError('something_else: 1', 'unknown config key "something_else"');
    assert.doesNotMatch(errorOf(`${BASE}something_else: 1\n`), /did you mean/);
  });

  it('reports a nested unknown key with its full path', () => {
    const noRedis = NO_REDIS;
    assert.match(
      errorOf(`${noRedis}redis:\n  address: r:6379\n  adress: r:6380\n`),
      /unknown config key "redis\.adress" \(did you mean "redis\.address"\?\)/,
    );
    assertError(
      'storage:\n  s3:\n    bucket: b\n    bukcet: c',
      'unknown config key "storage.s3.bukcet" (did you mean "storage.s3.bucket"?)',
    );
    assertError(
      'cpu_cost:\n  cpu_kil_grace_sec: 3',
      'unknown config key "cpu_cost.cpu_kil_grace_sec" (did you mean "cpu_cost.cpu_kill_grace_sec"?)',
    );
    assertError('logging:\n  format: json', 'unknown config key "logging.format"');
  });

  it('points at the right level when a key is misplaced', () => {
    assertError('address: r:6379', 'unknown config key "address" (did you mean "redis.address"?)');
    const noRedis = NO_REDIS;
    assert.match(
      errorOf(`${noRedis}redis:\n  address: r:6379\n  health_port: 8080\n`),
      /unknown config key "redis\.health_port" \(did you mean "health_port"\?\)/,
    );
  });

  it('reports keys removed upstream in v1.9 with a hint', () => {
    assertError('s3:\n  bucket: b', 'invalid config: config key "s3" is no longer read: move it under "storage:"');
    assertError('azure:\n  account_name: a', 'config key "azure" is no longer read: move it under "storage:"');
    assertError('gcp:\n  bucket: b', 'config key "gcp" is no longer read: move it under "storage:"');
    assertError('alioss:\n  bucket: b', 'config key "alioss" is no longer read: move it under "storage:"');
    assertError('log_level: debug', 'config key "log_level" is no longer read: use "logging: { level: ... }" instead');
    assertError('backup_storage: /backup', 'config key "backup_storage" is no longer read: use "backup:"');
  });

  it('reports every problem at once, in a ConfigError with the list', () => {
    try {
      parse('health_port: x\nlog_level: info\nfoo: 1');
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 3);
      assert.equal(err.message, `invalid config: ${err.problems.join('; ')}`);
    }
  });

  it('rejects more than one storage provider and half-set S3 credentials', () => {
    assertError(
      'storage:\n  s3:\n    bucket: a\n  gcp:\n    bucket: b',
      'storage: set only one of s3, azure, gcp, alioss (got s3 and gcp)',
    );
    assertError(
      'backup:\n  s3:\n    bucket: a\n    access_key: AKIA',
      'missing required config key "backup.s3.secret" (needed with access_key)',
    );
  });

  it('rejects a document that is not a mapping', () => {
    assert.match(
      errorOf('- a\n- b\n'),
      /^invalid config: the config must be a YAML mapping of keys to values \(got a list\)$/,
    );
    assert.match(errorOf('just-a-secret-pasted-here\n'), /\(got a single string value\)$/);
    assert.throws(() => validateConfig('just text'), ConfigError);
  });

  it('rejects YAML syntax errors and duplicate keys', () => {
    assert.match(
      errorOf('api_key: "open\n'),
      /^invalid config: YAML syntax error in config: Missing closing double quote at line \d+, column \d+ \(MISSING_CHAR\)$/,
    );
    assert.match(
      errorOf('api_key: a\napi_key: b\n'),
      /YAML syntax error in config: Map keys must be unique at line 2, column 1 \(DUPLICATE_KEY\)/,
    );
    assert.match(errorOf('? [a, b]\n: 1\n'), /top level: keys must be plain names at line 1/);
  });
});

describe('secrets never appear in errors', () => {
  const SECRETS = [
    'API-SECRET-VALUE',
    'REDIS-PASSWORD-VALUE',
    'S3-ACCESS-KEY-VALUE',
    'S3-SECRET-VALUE',
    'S3-SESSION-TOKEN-VALUE',
    'PROXY-PASSWORD-VALUE',
    'AZURE-ACCOUNT-KEY-VALUE',
    'GCP-CREDENTIALS-VALUE',
    'ALI-SECRET-VALUE',
    'SENTINEL-PASSWORD-VALUE',
    'ASSUME-ROLE-SECRET-VALUE',
  ];
  const WITH_SECRETS = `
api_key: k
api_secret: API-SECRET-VALUE
ws_url: ws://lk
s3_assume_role_secret: ASSUME-ROLE-SECRET-VALUE
redis:
  address: r:6379
  password: REDIS-PASSWORD-VALUE
  sentinel_password: SENTINEL-PASSWORD-VALUE
storage:
  s3:
    bucket: b
    access_key: S3-ACCESS-KEY-VALUE
    secret: S3-SECRET-VALUE
    session_token: S3-SESSION-TOKEN-VALUE
    proxy_config:
      url: http://p
      password: PROXY-PASSWORD-VALUE
backup:
  azure:
    account_name: a
    account_key: AZURE-ACCOUNT-KEY-VALUE
    container_name: c
`;

  function assertClean(text: string): void {
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `leaked ${secret} in: ${text}`);
    for (const piece of ['SECRET-VALUE', 'PASSWORD-VALUE', 'KEY-VALUE', 'TOKEN-VALUE', 'CREDENTIALS-VALUE']) {
      assert.ok(!text.includes(piece), `leaked ${piece} in: ${text}`);
    }
  }

  it('the config itself is valid, and its warnings are clean', () => {
    const { warnings } = parseConfig(WITH_SECRETS, {});
    assertClean(warnings.join('\n'));
  });

  const breakages: Array<[string, (yaml: string) => string]> = [
    ['a bad value beside the secrets', (y) => `${y}health_port: nope\n`],
    ['an unknown key beside the secrets', (y) => `${y}extra_key: 1\n`],
    ['a misspelt secret key', (y) => y.replace('  password: REDIS', '  pasword: REDIS')],
    ['a bad port in redis', (y) => y.replace('r:6379', 'r:port')],
    ['api_secret as a list', (y) => y.replace('api_secret: API-SECRET-VALUE', 'api_secret: [API-SECRET-VALUE]')],
    [
      'redis.password as a mapping',
      (y) => y.replace('password: REDIS-PASSWORD-VALUE', 'password: {v: REDIS-PASSWORD-VALUE}'),
    ],
    ['s3.secret without access_key', (y) => y.replace('    access_key: S3-ACCESS-KEY-VALUE\n', '')],
    [
      'gcp credentials that are not JSON',
      (y) => `${y}  gcp:\n    bucket: g\n    credentials_json: GCP-CREDENTIALS-VALUE\n`,
    ],
    [
      'alioss with a list secret',
      (y) => y.replace(/backup:[\s\S]*$/, 'backup:\n  alioss:\n    secret: [ALI-SECRET-VALUE]\n'),
    ],
    ['chrome flag null next to secrets', (y) => `${y}chrome_flags:\n  x:\n`],
    [
      'an unterminated quote in a secret',
      (y) => y.replace('api_secret: API-SECRET-VALUE', 'api_secret: "API-SECRET-VALUE'),
    ],
    [
      'a stray token after a secret',
      (y) => y.replace('api_secret: API-SECRET-VALUE', 'api_secret: API-SECRET-VALUE\n- "ASSUME-ROLE-SECRET-VALUE": 1'),
    ],
    ['a secret as a mapping key', (y) => `${y}chrome_flags:\n  ? [API-SECRET-VALUE]\n  : 1\n`],
    [
      'a duplicated secret key',
      (y) => y.replace('api_secret: API-SECRET-VALUE', 'api_secret: API-SECRET-VALUE\napi_secret: S3-SECRET-VALUE'),
    ],
    ['a bad escape inside a secret', (y) => y.replace('secret: S3-SECRET-VALUE', 'secret: "S3-SECRET-VALUE\\q"')],
    [
      'a flow mapping left open in a secret',
      (y) => y.replace('password: REDIS-PASSWORD-VALUE', 'password: {REDIS-PASSWORD-VALUE'),
    ],
    ['a removed key holding a secret', (y) => `${y}s3:\n  secret: S3-SECRET-VALUE\n`],
  ];
  for (const [name, breakIt] of breakages) {
    it(name, () => {
      const broken = breakIt(WITH_SECRETS);
      assert.notEqual(broken, WITH_SECRETS, 'the breakage must change the config');
      assertClean(errorOf(broken));
    });
  }

  it('env secrets do not leak either', () => {
    const message = errorOf('redis:\n  address: r:6379\nhealth_port: x\n', {
      LIVEKIT_API_KEY: 'k',
      LIVEKIT_API_SECRET: 'API-SECRET-VALUE',
      LIVEKIT_WS_URL: 'ws://lk',
    });
    assertClean(message);
  });
});
