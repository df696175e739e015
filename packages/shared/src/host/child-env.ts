/**
 * The environment of every process the service starts (recorder, Chromium, gst-launch, Xvfb, ffmpeg, pactl): an
 * allowlist, so the config in EGRESS_CONFIG_BODY (api secret, Redis password, storage keys) and whatever else the
 * supervisor's environment holds never reaches a child. What a child needs beyond it is passed as `extra`.
 */

/** The environment variable every recorder child (and everything it starts) carries; the reaper finds orphans by it. */
export const RECORDER_ROOT_ENV = 'EGRESS_RECORDER_ROOT';

// Programs, home, locale, time zone, temp dir, the PulseAudio daemon, trusted CAs, GStreamer's debug and plugin
// settings, and the markers the reaper and the tests' leftover check find processes by.
const INHERITED = new Set([
  'PATH',
  'HOME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'XDG_RUNTIME_DIR',
  'PULSE_SERVER',
  'PULSE_RUNTIME_PATH',
  'PULSE_STATE_PATH',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
  'GST_DEBUG',
  'GST_DEBUG_FILE',
  'GST_DEBUG_NO_COLOR',
  'GST_PLUGIN_PATH',
  'GST_PLUGIN_SYSTEM_PATH',
  'GST_REGISTRY',
  RECORDER_ROOT_ENV,
  'EGRESS_STACK_TAG',
]);
const INHERITED_PREFIXES = ['LC_'];

// Operator settings only the recorder reads: storage endpoints, and the cloud SDKs' ambient credentials (used
// when a storage block names no key, as upstream). Never handed on to what the recorder starts.
const RECORDER_ONLY = new Set(['EGRESS_AZURE_BLOB_ENDPOINT', 'EGRESS_GCS_ENDPOINT', 'GOOGLE_APPLICATION_CREDENTIALS']);
const RECORDER_ONLY_PREFIXES = ['AWS_'];

function pick(from: NodeJS.ProcessEnv, names: ReadonlySet<string>, prefixes: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(from)) {
    if (value !== undefined && (names.has(name) || prefixes.some((p) => name.startsWith(p)))) env[name] = value;
  }
  return env;
}

function defined(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined));
}

/** The environment for a child: the allowlisted variables of `from`, then `extra`. */
export function childEnv(extra: NodeJS.ProcessEnv = {}, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...pick(from, INHERITED, INHERITED_PREFIXES), ...defined(extra) };
}

/** The environment for a recorder child: {@link childEnv} plus the operator's storage settings it reads. */
export function recorderChildEnv(
  extra: NodeJS.ProcessEnv = {},
  from: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  return { ...pick(from, RECORDER_ONLY, RECORDER_ONLY_PREFIXES), ...childEnv(extra, from) };
}
