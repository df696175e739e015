/**
 * The service configuration: the YAML schema of upstream livekit/egress (v1.14, `pkg/config/base.go`,
 * `service.go`, `storage.go`) plus a few keys of our own. Field names keep the YAML's snake_case so that
 * operators and code read the same names as the upstream docs.
 *
 * Units: every duration is a number of **milliseconds** (the YAML holds Go-style durations such as
 * `30s` or `1h30m`); sizes are bytes unless a field says otherwise.
 */

/** Redis connection (`redis:`). Only a single host is supported: sentinel and cluster keys are ignored. */
export interface RedisConfig {
  /** `host:port`. Required. */
  address: string;
  username: string;
  /** Secret. */
  password: string;
  /** Database index, default 0. */
  db: number;
  /** Connect with TLS (also set by upstream's `tls: { enabled: true }`). Default false. */
  use_tls: boolean;
}

export type ConfigLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** `logging:`. Upstream's sampling, component_levels and pion_level keys are accepted and ignored. */
export interface LoggingConfig {
  /** Default `info`. */
  level: ConfigLogLevel;
  /** One JSON object per line instead of text. Default false. */
  json: boolean;
}

/** `cpu_cost:`: capacity accounting (see upstream `pkg/stats/monitor.go`). All values ≥ 0. */
export interface CpuCostConfig {
  /** Share of the machine's CPUs that admission may fill, in (0, 1]. Default 0.8. */
  max_cpu_utilization: number;
  /** Default 4. As upstream, a cost of 0 in the YAML means "use the default". */
  room_composite_cpu_cost: number;
  /** Default 1. */
  audio_room_composite_cpu_cost: number;
  /** Default: audio_room_composite_cpu_cost. */
  sdk_audio_room_composite_cpu_cost: number;
  /** GB. Default: memory_cost. */
  sdk_audio_room_composite_memory_cost: number;
  /** Default 4. */
  web_cpu_cost: number;
  /** Default 1. */
  audio_web_cpu_cost: number;
  /** Default 2. */
  participant_cpu_cost: number;
  /** Default 1. */
  track_composite_cpu_cost: number;
  /** Default 0.5. */
  track_cpu_cost: number;
  /** GB; 0 disables memory admission and the memory kill. Default 0. */
  max_memory: number;
  /** GB reserved per request. Default 0. */
  memory_cost: number;
  /** PulseAudio client limit for launching Chrome. Default 60 (0 in the YAML means the default). */
  max_pulse_clients: number;
  /** How memory use is measured. Default `proc_rss`. */
  memory_source: 'proc_rss' | 'cgroup';
  /** Update cycles over max_memory before the largest egress is killed (0 = at once). Default 0. */
  memory_kill_grace_sec: number;
  /** Seconds between the graceful stop and the hard kill on sustained high CPU. Default 30 (0 = default). */
  cpu_kill_grace_sec: number;
}

/** `session_limits:`: 0 means no limit. Durations in milliseconds. */
export interface SessionLimits {
  file_output_max_duration: number;
  stream_output_max_duration: number;
  segment_output_max_duration: number;
  image_output_max_duration: number;
  /** Bytes on disk before a file output stops. */
  file_output_max_size: number;
}

export interface ProxyConfig {
  url: string;
  username: string;
  /** Secret. */
  password: string;
}

export interface S3Config {
  /** Secret. Empty: the AWS default credential chain. */
  access_key: string;
  /** Secret. */
  secret: string;
  /** Secret. */
  session_token: string;
  assume_role_arn: string;
  assume_role_external_id: string;
  region: string;
  /** http(s) URL of an S3-compatible service; empty for AWS. */
  endpoint: string;
  /** Required. */
  bucket: string;
  force_path_style: boolean;
  proxy_config?: ProxyConfig;
  /** Default 5 (0 in the YAML means the default, as upstream). */
  max_retries: number;
  /** Milliseconds. Default 5000. */
  max_retry_delay: number;
  /** Milliseconds. Default 100. */
  min_retry_delay: number;
  metadata: Record<string, string>;
  tagging: string;
  content_disposition: string;
}

export interface AzureConfig {
  account_name: string;
  /** Secret. */
  account_key: string;
  container_name: string;
}

export interface GcpConfig {
  /** Secret: the service-account JSON text itself. Empty: application default credentials. */
  credentials_json: string;
  bucket: string;
  proxy_config?: ProxyConfig;
}

export interface AliOssConfig {
  /** Secret. */
  access_key: string;
  /** Secret. */
  secret: string;
  endpoint: string;
  bucket: string;
}

/** `storage:` / `backup:`: where finished files go. At most one provider is set; none = local disk. */
export interface StorageConfig {
  /** Prepended to every uploaded object name. */
  prefix: string;
  generate_presigned_url: boolean;
  s3?: S3Config;
  azure?: AzureConfig;
  gcp?: GcpConfig;
  alioss?: AliOssConfig;
}

/**
 * The effective service configuration, after defaults. Built by `loadConfig` / `parseConfig` /
 * `validateConfig`; log it only through `redactConfig`.
 *
 * Upstream keys that this service accepts but does not implement (`debug`, `latency`,
 * `latency_overrides`, `video_encoder_threads`, `enable_one_shot_sender_report_sync`,
 * `enable_sync_engine`, `audio_tempo_controller`, `test_overrides`, `s3_assume_role_*`, redis
 * sentinel/cluster keys, logging sampling keys) produce a warning and are not represented here.
 */
export interface EgressConfig {
  // ---- required (upstream) ----
  /** LiveKit API key (env fallback `LIVEKIT_API_KEY`). */
  api_key: string;
  /** Secret. LiveKit API secret (env fallback `LIVEKIT_API_SECRET`). */
  api_secret: string;
  /** `ws://` or `wss://` URL of livekit-server (env fallback `LIVEKIT_WS_URL`). */
  ws_url: string;
  redis: RedisConfig;

  // ---- service (upstream) ----
  /** Health/readiness HTTP port; 0 = off. */
  health_port: number;
  /** Prometheus metrics port; 0 = off. */
  prometheus_port: number;
  /** Port of the built-in room-composite template server. Default 7980. */
  template_port: number;
  /** Base URL of the room-composite templates. Default `http://127.0.0.1:<template_port>/`. */
  template_base: string;
  /** Debug HTTP handler port; 0 = off. */
  debug_handler_port: number;
  logging: LoggingConfig;
  /** Default ''. livekit-server only dispatches to the empty cluster id. */
  cluster_id: string;
  /** Chrome may load insecure content / connect to insecure websockets. Default false. */
  insecure: boolean;
  /** Run Chrome with its sandbox (needs extra container privileges). Default false (`--no-sandbox`). */
  enable_chrome_sandbox: boolean;
  /** Extra Chrome flags: name (without leading dashes, as upstream) → value; `true` for a bare switch. */
  chrome_flags: Record<string, string | boolean | number>;
  cpu_cost: CpuCostConfig;
  session_limits: SessionLimits;
  /** Default upload destination when a request has none. Absent: local disk. */
  storage?: StorageConfig;
  /** Fallback destination when an upload fails. */
  backup?: StorageConfig;
  /** Reject requests whose outputs would stay on local disk. Default false. */
  disallow_local_storage: boolean;
  /** Minutes of segments/images the upload queue may hold. Default 60. */
  max_upload_queue: number;
  /** Milliseconds for the IOInfo CreateEgress call. Default 15000. */
  io_create_timeout: number;
  /** Milliseconds for IOInfo UpdateEgress calls. Default 30000. */
  io_update_timeout: number;
  /** Milliseconds for the affinity stage of IOInfo RPCs; 0 = the psrpc default. */
  io_selection_timeout: number;
  /** IOInfo update workers. Default 5. */
  io_workers: number;
  /** Seconds a leaked PulseAudio sink stays orphaned before it is unloaded; negative disables. Default 30. */
  pulse_sink_reap_grace_sec: number;

  // ---- this project's own keys ----
  /**
   * Root of per-egress scratch directories (`<tmp_dir>/<egress_id>`), absolute.
   * Default `<os.tmpdir()>/lk-egress` (upstream hard-codes `/home/egress/tmp`).
   */
  tmp_dir: string;
  /** Where relative file paths of local (non-uploaded) outputs land, absolute. Default: the process cwd. */
  local_output_dir: string;
  /**
   * Per-egress log files (`<log_dir>/<egress_id>.log`, size-capped), read by `egress logs`.
   * Default `<os.tmpdir()>/lk-egress-logs`.
   */
  log_dir: string;
  /** How many times a crashed recorder child is restarted before the egress fails. Default 2. */
  recorder_restarts: number;
  /** Stream URLs one egress may send to at once (StartEgress and UpdateStream). Default 8. */
  max_stream_urls: number;
  /** Chromium executable. Default `/usr/bin/chromium`. */
  chromium_path: string;
  /** This instance's node id (letters, digits, `_`, `-`). Default: generated `NE_` + 12 alphanumerics. */
  node_id: string;
}

export const DEFAULT_TEMPLATE_PORT = 7980;
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';
export const DEFAULT_RECORDER_RESTARTS = 2;
/** Each stream URL is one gst-launch sender with its own connection: 8 covers multistreaming to every platform. */
export const DEFAULT_MAX_STREAM_URLS = 8;
export const DEFAULT_TMP_SUBDIR = 'lk-egress';
export const DEFAULT_LOG_SUBDIR = 'lk-egress-logs';

export const DEFAULT_CPU_COST: Readonly<CpuCostConfig> = Object.freeze({
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

export const CONFIG_DEFAULTS = Object.freeze({
  health_port: 0,
  prometheus_port: 0,
  template_port: DEFAULT_TEMPLATE_PORT,
  debug_handler_port: 0,
  log_level: 'info' as ConfigLogLevel,
  max_upload_queue: 60,
  io_create_timeout: 15_000,
  io_update_timeout: 30_000,
  io_selection_timeout: 0,
  io_workers: 5,
  pulse_sink_reap_grace_sec: 30,
  s3_max_retries: 5,
  s3_max_retry_delay: 5_000,
  s3_min_retry_delay: 100,
});

/** `http://127.0.0.1:<port>/`. */
export function defaultTemplateBase(templatePort: number): string {
  return `http://127.0.0.1:${templatePort}/`;
}
