/**
 * Stream destination URLs: which protocol a URL speaks, whether it is well formed, and how it appears in
 * logs and StreamInfo (the stream key redacted as upstream does: "stream" -> "{st...am}").
 */
import { errors } from '../errors.js';

export type StreamProtocolName = 'rtmp' | 'srt';

/** Longest stream URL taken: real ingest URLs with keys are a few hundred characters. */
export const MAX_STREAM_URL_LENGTH = 2048;

/** Query parameters of an SRT URL that carry secrets. */
const SRT_SECRETS = ['streamid', 'passphrase'];

/** "abcdef" -> "{ab...ef}"; short secrets keep nothing. */
export function redactSecret(secret: string): string {
  if (secret === '') return secret;
  return secret.length > 4 ? `{${secret.slice(0, 2)}...${secret.slice(-2)}}` : '{...}';
}

/** The protocol a URL speaks, from its scheme (mux:// is Mux's RTMPS ingest). */
export function streamProtocolOf(url: string): StreamProtocolName | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'rtmp' || scheme === 'rtmps' || scheme === 'mux') return 'rtmp';
  if (scheme === 'srt') return 'srt';
  return undefined;
}

/**
 * Checks a stream URL for `protocol` and returns the URL gst-launch is given (mux://<key> expands to Mux's
 * RTMPS ingest). Throws invalid_argument naming `field` and the redacted URL.
 */
export function normalizeStreamUrl(url: string, protocol: StreamProtocolName, field: string): string {
  if (url.length > MAX_STREAM_URL_LENGTH) {
    throw errors.invalidArgument(
      field,
      `${url.length} characters`,
      `is longer than ${MAX_STREAM_URL_LENGTH} characters`,
    );
  }
  const shown = redactStreamUrl(url);
  const kind = streamProtocolOf(url);
  if (!kind) throw errors.invalidArgument(field, shown, 'must be an rtmp://, rtmps://, mux:// or srt:// URL');
  if (kind !== protocol) {
    throw errors.invalidArgument(
      field,
      shown,
      `is ${kind.toUpperCase()}, but the output's protocol is ${protocol.toUpperCase()}`,
    );
  }
  if (/\s/.test(url.replace(/ live=1$/, '')) || url.includes('\0')) {
    throw errors.invalidArgument(field, shown, 'contains whitespace or a NUL byte');
  }
  if (url.toLowerCase().startsWith('mux://')) {
    const key = url.slice('mux://'.length);
    if (!key || key.includes('/'))
      throw errors.invalidArgument(field, shown, 'mux:// needs a stream key and nothing else');
    return `rtmps://global-live.mux.com:443/app/${key}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw errors.invalidArgument(field, shown, 'is not a valid URL');
  }
  if (!parsed.hostname) throw errors.invalidArgument(field, shown, 'has no host');
  if (kind === 'rtmp') {
    // rtmp(s)://host[:port][/path]/app/stream_key: gst's rtmp2sink takes the last segment as the stream.
    const segments = parsed.pathname.split('/').filter(Boolean);
    if (segments.length < 2)
      throw errors.invalidArgument(field, shown, 'needs an application and a stream key: rtmp://host/app/key');
  } else if (!parsed.port) {
    throw errors.invalidArgument(field, shown, 'needs a port: srt://host:port');
  }
  return url;
}

/**
 * Each stream URL is one gst-launch sender: an egress sending to more than `max` (config `max_stream_urls`)
 * is refused, naming `field`.
 */
export function assertStreamUrlCount(count: number, max: number, field: string): void {
  if (count > max) throw errors.invalidArgument(field, `${count} URLs`, `at most ${max} per egress (max_stream_urls)`);
}

/** The URL with its secrets replaced, for logs and StreamInfo.url. */
export function redactStreamUrl(url: string): string {
  if (/^mux:\/\//i.test(url)) return `mux://${redactSecret(url.slice('mux://'.length))}`;
  const kind = streamProtocolOf(url);
  if (kind === 'rtmp') {
    // The key is the last path segment, before any query or " live=1" suffix.
    return url.replace(/^([^?\s]*\/)([^/?\s]+)/, (_m, head: string, key: string) => `${head}${redactSecret(key)}`);
  }
  if (kind === 'srt') {
    return url.replace(/([?&])([^=&]+)=([^&]*)/g, (m, sep: string, name: string, value: string) =>
      SRT_SECRETS.includes(name.toLowerCase()) ? `${sep}${name}=${redactSecret(decodeURIComponent(value))}` : m,
    );
  }
  // Unknown schemes keep only scheme and host: anything else might be a secret.
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/{...}`;
  } catch {
    return '{...}';
  }
}
