import path from 'node:path';

/** Values for upstream's filename placeholders. */
export interface FilenameContext {
  roomName: string;
  roomId: string;
  /** Used when the request gives no name: the room name, or "web". */
  identifier: string;
  now: Date;
  /** SDK egress: what is known of the recorded track when the plan is made (the rest once it is found). */
  track?: TrackNames;
}

/** Upstream's SDK placeholders: {publisher_identity}, {track_id}, {track_type} (audio|video), {track_source}. */
export interface TrackNames {
  publisherIdentity?: string;
  trackId?: string;
  trackType?: 'audio' | 'video';
  /** Upstream's words, the protocol's names in lower case: camera, microphone, screen_share, screen_share_audio, unknown. */
  trackSource?: string;
}

/** Fills the SDK placeholders that are known; the others stay for when they are. */
export function expandTrackPlaceholders(p: string, t: TrackNames): string {
  let out = p;
  if (t.publisherIdentity !== undefined) out = out.replaceAll('{publisher_identity}', t.publisherIdentity);
  if (t.trackId !== undefined) out = out.replaceAll('{track_id}', t.trackId);
  if (t.trackType !== undefined) out = out.replaceAll('{track_type}', t.trackType);
  if (t.trackSource !== undefined) out = out.replaceAll('{track_source}', t.trackSource);
  return out;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Upstream's `{time}` layout, 2006-01-02T150405, in UTC. */
export function timeStamp(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(
    d.getUTCMinutes(),
  )}${pad(d.getUTCSeconds())}`;
}

/** Upstream's `{utc}` layout, 20060102150405 plus milliseconds. */
export function utcStamp(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(
    d.getUTCMinutes(),
  )}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
}

const KNOWN_EXTENSIONS = ['.mp4', '.ogg', '.mp3', '.webm', '.ivf', '.m3u8', '.ts', '.txt', '.raw', '.jpeg', '.jpg'];

/**
 * Expands placeholders and fixes the extension. An empty path or a directory path (trailing "/") gets
 * `<identifier>-<time><ext>`; leading "../" segments are dropped so a request cannot climb out of its root.
 */
export function expandFilepath(raw: string, ext: string, ctx: FilenameContext): string {
  let p = expandTrackPlaceholders(raw, ctx.track ?? {})
    .replaceAll('{room_name}', ctx.roomName)
    .replaceAll('{room_id}', ctx.roomId)
    .replaceAll('{time}', timeStamp(ctx.now))
    .replaceAll('{utc}', utcStamp(ctx.now));
  if (p === '' || p.endsWith('/')) p += `${ctx.identifier}-${timeStamp(ctx.now)}${ext}`;
  while (p.startsWith('../')) p = p.slice(3);
  const current = path.extname(p);
  if (current !== ext) {
    p = KNOWN_EXTENSIONS.includes(current.toLowerCase()) ? p.slice(0, -current.length) + ext : p + ext;
  }
  return p;
}
