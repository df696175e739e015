/** Plain object (parsed YAML) → EgressConfig with defaults, or a ConfigError listing every problem. */
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join as joinPath, resolve as resolvePath } from 'node:path';
import { ConfigError } from './config-error.js';
import { Collector, isMapping, Section } from './reader.js';
import {
  DEFAULT_CHROMIUM_PATH,
  DEFAULT_CPU_COST,
  DEFAULT_MAX_STREAM_URLS,
  DEFAULT_RECORDER_RESTARTS,
  DEFAULT_TMP_SUBDIR,
  DEFAULT_LOG_SUBDIR,
  CONFIG_DEFAULTS,
  defaultTemplateBase,
  type CpuCostConfig,
  type EgressConfig,
  type LoggingConfig,
  type RedisConfig,
  type SessionLimits,
} from './schema.js';
import { readStorage } from './storage.js';

export interface ValidateOptions {
  /** Supplies LIVEKIT_API_KEY / LIVEKIT_API_SECRET / LIVEKIT_WS_URL when the config lacks them. */
  env?: NodeJS.ProcessEnv;
  /** From `parseYaml`: source text of scalars, so string fields keep `0123` as written. */
  scalarText?: ReadonlyMap<string, string>;
  /** Base for relative tmp_dir / local_output_dir, and the local_output_dir default. Default process.cwd(). */
  cwd?: string;
}

export interface ValidationResult {
  config: EgressConfig;
  warnings: string[];
}

const NOT_IMPLEMENTED = 'is not implemented by this egress service and is ignored';
const NOT_SUPPORTED = 'is not supported and is ignored';
const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `NE_` + 12 random alphanumerics, like upstream's node ids. */
export function generateNodeId(): string {
  let id = 'NE_';
  for (let i = 0; i < 12; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}

function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A required top-level string with an env fallback. */
function requiredWithEnv(
  root: Section,
  key: string,
  env: NodeJS.ProcessEnv,
  envName: string,
): { value: string; label: string } {
  const fromYaml = root.str(key);
  if (fromYaml) return { value: fromYaml, label: key };
  const value = fromEnv(env, envName);
  if (value !== undefined) return { value, label: `${key} (from ${envName})` };
  if (!root.present(key)) root.c.missing(key, `or set ${envName}`);
  return { value: '', label: key };
}

function checkWsUrl(c: Collector, label: string, value: string): string {
  if (value === '') return value;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'ws:' || url.protocol === 'wss:')) return value;
  if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
    const converted = value.replace(/^http/i, 'ws');
    c.warn(`${label}: expected a ws:// or wss:// URL, using ${JSON.stringify(converted)}`);
    return converted;
  }
  c.invalid(label, value, 'must be a ws:// or wss:// URL such as wss://livekit.example.com', false);
  return value;
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+):(\d{1,5})$/;

function readRedis(root: Section): RedisConfig {
  const s = root.section('redis');
  const config: RedisConfig = { address: '', username: '', password: '', db: 0, use_tls: false };
  if (!s) {
    if (!root.present('redis')) root.c.missing('redis', 'a mapping with at least "address: host:port"');
    return config;
  }
  const rawAddress = s.str('address');
  config.username = s.str('username') ?? '';
  config.password = s.str('password') ?? '';
  config.db = s.num('db', 0, { integer: true, min: 0 });
  config.use_tls = s.bool('use_tls', false);
  const tls = s.section('tls');
  if (tls) {
    if (tls.bool('enabled', false)) config.use_tls = true;
    for (const key of ['insecure', 'server_name', 'ca_cert_file', 'client_cert_file', 'client_key_file']) {
      tls.ignored(key, NOT_SUPPORTED);
    }
    tls.finish();
  }
  for (const key of [
    'sentinel_master_name',
    'sentinel_username',
    'sentinel_password',
    'sentinel_addresses',
    'cluster_addresses',
    'max_redirects',
    'dial_timeout',
    'read_timeout',
    'write_timeout',
    'pool_timeout',
    'pool_size',
  ]) {
    s.ignored(key, NOT_SUPPORTED);
  }
  if (rawAddress === undefined || rawAddress === '') {
    if (rawAddress === '' || !s.present('address')) {
      s.c.missing('redis.address', 'host:port; sentinel and cluster modes are not supported');
    }
  } else {
    const match = HOST_PORT.exec(rawAddress.trim());
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      const hint = rawAddress.includes('://') ? ' (no scheme: set use_tls: true for TLS)' : '';
      s.c.invalid('redis.address', rawAddress, `must be host:port such as redis:6379${hint}`);
    }
    config.address = rawAddress.trim();
  }
  s.finish();
  return config;
}

function readLogging(root: Section): LoggingConfig {
  const config: LoggingConfig = { level: CONFIG_DEFAULTS.log_level, json: false };
  const s = root.section('logging');
  if (!s) return config;
  config.level = s.oneOf('level', ['debug', 'info', 'warn', 'error'] as const, CONFIG_DEFAULTS.log_level);
  config.json = s.bool('json', false);
  for (const key of [
    'sample',
    'sample_initial',
    'sample_interval',
    'item_sample_seconds',
    'item_sample_initial',
    'item_sample_interval',
    'component_levels',
    'pion_level',
  ]) {
    s.ignored(key, NOT_SUPPORTED);
  }
  s.finish();
  return config;
}

function readCpuCost(root: Section): CpuCostConfig {
  const d = DEFAULT_CPU_COST;
  const s = root.section('cpu_cost');
  if (!s) return { ...d };
  const cost = (key: keyof CpuCostConfig & string, fallback: number): number =>
    s.num(key, fallback, { min: 0, zeroMeansDefault: true });
  const amount = (key: keyof CpuCostConfig & string, fallback: number): number => s.num(key, fallback, { min: 0 });
  const config: CpuCostConfig = {
    max_cpu_utilization: s.num('max_cpu_utilization', d.max_cpu_utilization, {
      above: 0,
      max: 1,
      why: 'must be a number in (0, 1]',
    }),
    room_composite_cpu_cost: cost('room_composite_cpu_cost', d.room_composite_cpu_cost),
    audio_room_composite_cpu_cost: cost('audio_room_composite_cpu_cost', d.audio_room_composite_cpu_cost),
    sdk_audio_room_composite_cpu_cost: 0,
    sdk_audio_room_composite_memory_cost: 0,
    web_cpu_cost: cost('web_cpu_cost', d.web_cpu_cost),
    audio_web_cpu_cost: cost('audio_web_cpu_cost', d.audio_web_cpu_cost),
    participant_cpu_cost: cost('participant_cpu_cost', d.participant_cpu_cost),
    track_composite_cpu_cost: cost('track_composite_cpu_cost', d.track_composite_cpu_cost),
    track_cpu_cost: cost('track_cpu_cost', d.track_cpu_cost),
    max_memory: amount('max_memory', d.max_memory),
    memory_cost: amount('memory_cost', d.memory_cost),
    max_pulse_clients: s.num('max_pulse_clients', d.max_pulse_clients, {
      integer: true,
      min: 0,
      zeroMeansDefault: true,
    }),
    memory_source: s.oneOf('memory_source', ['proc_rss', 'cgroup'] as const, d.memory_source),
    memory_kill_grace_sec: amount('memory_kill_grace_sec', d.memory_kill_grace_sec),
    cpu_kill_grace_sec: s.num('cpu_kill_grace_sec', d.cpu_kill_grace_sec, { min: 0, zeroMeansDefault: true }),
  };
  config.sdk_audio_room_composite_cpu_cost = cost(
    'sdk_audio_room_composite_cpu_cost',
    config.audio_room_composite_cpu_cost,
  );
  config.sdk_audio_room_composite_memory_cost = cost('sdk_audio_room_composite_memory_cost', config.memory_cost);
  s.finish();
  return config;
}

function readSessionLimits(root: Section): SessionLimits {
  const config: SessionLimits = {
    file_output_max_duration: 0,
    stream_output_max_duration: 0,
    segment_output_max_duration: 0,
    image_output_max_duration: 0,
    file_output_max_size: 0,
  };
  const s = root.section('session_limits');
  if (!s) return config;
  config.file_output_max_duration = s.duration('file_output_max_duration', 0);
  config.stream_output_max_duration = s.duration('stream_output_max_duration', 0);
  config.segment_output_max_duration = s.duration('segment_output_max_duration', 0);
  config.image_output_max_duration = s.duration('image_output_max_duration', 0);
  config.file_output_max_size = s.num('file_output_max_size', 0, {
    integer: true,
    min: 0,
    why: 'must be a whole number of bytes >= 0',
  });
  s.finish();
  return config;
}

function checkPortClashes(c: Collector, config: EgressConfig): void {
  const seen = new Map<number, string>();
  for (const key of ['health_port', 'prometheus_port', 'template_port', 'debug_handler_port'] as const) {
    const port = config[key];
    if (port === 0) continue;
    const other = seen.get(port);
    if (other) c.invalid(key, port, `must differ from ${other}`);
    else seen.set(port, key);
  }
}

function readDir(root: Section, key: string, fallback: string, cwd: string): string {
  const value = root.str(key);
  if (value === undefined) return fallback;
  if (value.trim() === '') {
    root.c.invalid(key, value, 'must be a directory path');
    return fallback;
  }
  return resolvePath(cwd, value);
}

/**
 * Validates a parsed config object and applies defaults. Throws a ConfigError (code invalid_argument)
 * naming every problem; returns the config and the warnings (ignored keys and the like) otherwise.
 */
export function validateConfig(obj: unknown, options: ValidateOptions = {}): ValidationResult {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const c = new Collector(options.scalarText);
  const raw = obj ?? {};
  if (!isMapping(raw)) {
    // Never echo a scalar document: it may be a secret pasted into the wrong variable.
    const kind = Array.isArray(raw) ? 'a list' : `a single ${typeof raw} value`;
    throw new ConfigError([`the config must be a YAML mapping of keys to values (got ${kind})`]);
  }
  const root = new Section(c, '', raw);

  const apiKey = requiredWithEnv(root, 'api_key', env, 'LIVEKIT_API_KEY');
  const apiSecret = requiredWithEnv(root, 'api_secret', env, 'LIVEKIT_API_SECRET');
  const wsUrl = requiredWithEnv(root, 'ws_url', env, 'LIVEKIT_WS_URL');
  const redis = readRedis(root);

  const templatePort = root.port('template_port', CONFIG_DEFAULTS.template_port, true);
  const templateBase = root.str('template_base');
  if (templateBase) {
    let ok = false;
    try {
      const url = new URL(templateBase);
      ok = url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) c.invalid('template_base', templateBase, 'must be an http:// or https:// URL');
  }

  const config: EgressConfig = {
    api_key: apiKey.value,
    api_secret: apiSecret.value,
    ws_url: checkWsUrl(c, wsUrl.label, wsUrl.value),
    redis,
    health_port: root.port('health_port', CONFIG_DEFAULTS.health_port),
    prometheus_port: root.port('prometheus_port', CONFIG_DEFAULTS.prometheus_port),
    template_port: templatePort,
    template_base: templateBase || defaultTemplateBase(templatePort),
    debug_handler_port: root.port('debug_handler_port', CONFIG_DEFAULTS.debug_handler_port),
    logging: readLogging(root),
    cluster_id: root.str('cluster_id') ?? '',
    insecure: root.bool('insecure', false),
    enable_chrome_sandbox: root.bool('enable_chrome_sandbox', false),
    chrome_flags: root.scalarMap('chrome_flags'),
    cpu_cost: readCpuCost(root),
    session_limits: readSessionLimits(root),
    disallow_local_storage: root.bool('disallow_local_storage', false),
    max_upload_queue: root.num('max_upload_queue', CONFIG_DEFAULTS.max_upload_queue, {
      integer: true,
      min: 0,
      zeroMeansDefault: true,
    }),
    io_create_timeout: root.duration('io_create_timeout', CONFIG_DEFAULTS.io_create_timeout, true),
    io_update_timeout: root.duration('io_update_timeout', CONFIG_DEFAULTS.io_update_timeout, true),
    io_selection_timeout: root.duration('io_selection_timeout', CONFIG_DEFAULTS.io_selection_timeout),
    io_workers: root.num('io_workers', CONFIG_DEFAULTS.io_workers, { integer: true, min: 0, zeroMeansDefault: true }),
    pulse_sink_reap_grace_sec: root.num('pulse_sink_reap_grace_sec', CONFIG_DEFAULTS.pulse_sink_reap_grace_sec, {
      integer: true,
      zeroMeansDefault: true,
      why: 'must be an integer (seconds; negative disables reaping)',
    }),
    tmp_dir: readDir(root, 'tmp_dir', joinPath(tmpdir(), DEFAULT_TMP_SUBDIR), cwd),
    local_output_dir: readDir(root, 'local_output_dir', resolvePath(cwd), cwd),
    log_dir: readDir(root, 'log_dir', joinPath(tmpdir(), DEFAULT_LOG_SUBDIR), cwd),
    recorder_restarts: root.num('recorder_restarts', DEFAULT_RECORDER_RESTARTS, { integer: true, min: 0 }),
    max_stream_urls: root.num('max_stream_urls', DEFAULT_MAX_STREAM_URLS, { integer: true, min: 1 }),
    chromium_path: root.str('chromium_path') || DEFAULT_CHROMIUM_PATH,
    node_id: '',
  };
  const storage = readStorage(root, 'storage');
  if (storage) config.storage = storage;
  const backup = readStorage(root, 'backup');
  if (backup) config.backup = backup;

  const nodeId = root.str('node_id');
  if (nodeId !== undefined && !NODE_ID.test(nodeId)) {
    c.invalid('node_id', nodeId, 'must be 1-64 letters, digits, "_" or "-"');
  }
  config.node_id = nodeId || generateNodeId();

  for (const key of [
    'debug',
    'latency',
    'latency_overrides',
    'video_encoder_threads',
    'enable_one_shot_sender_report_sync',
    'enable_sync_engine',
    'audio_tempo_controller',
    'test_overrides',
    's3_assume_role_key',
    's3_assume_role_secret',
    's3_assume_role_arn',
    's3_assume_role_external_id',
  ]) {
    root.ignored(key, NOT_IMPLEMENTED);
  }
  for (const key of ['s3', 'azure', 'gcp', 'alioss']) root.removed(key, 'move it under "storage:"');
  root.removed('backup_storage', 'use "backup:" with an s3, azure, gcp or alioss block instead');
  root.removed('log_level', 'use "logging: { level: ... }" instead');
  root.finish();

  if (config.cluster_id !== '') {
    c.warn(
      `cluster_id is ${JSON.stringify(config.cluster_id)}: livekit-server only sends egress requests to the empty ` +
        'cluster id, so this instance may receive none',
    );
  }
  checkPortClashes(c, config);

  const problems = [...c.problems, ...c.unknownProblems()];
  if (problems.length > 0) throw new ConfigError(problems);
  return { config, warnings: c.warnings };
}
