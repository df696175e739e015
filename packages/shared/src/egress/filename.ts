import path from 'node:path';
import { assertClean, confinePath, sanitizeValue, type OutputRoots, type ResolvedPath } from './safe-path.js';

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

/** Fills the SDK placeholders that are known, with sanitised values; the others stay for when they are. */
export function expandTrackPlaceholders(p: string, t: TrackNames): string {
  let out = p;
  const fill = (name: string, value: string | undefined) => {
    if (value !== undefined) out = out.replaceAll(name, sanitizeValue(value));
  };
  fill('{publisher_identity}', t.publisherIdentity);
  fill('{track_id}', t.trackId);
  fill('{track_type}', t.trackType);
  fill('{track_source}', t.trackSource);
  return out;
}

/**
 * The recorder's late fill, once the track is known: the planned name's remaining placeholders filled and the
 * result confined again to the same roots. Throws invalid_argument naming `at` when it would not stay inside.
 */
export function fillTrackPath(planned: string, t: TrackNames, roots: OutputRoots, at: string): ResolvedPath {
  return confinePath(expandTrackPlaceholders(planned, t), roots, at, planned);
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
 * Expands placeholders (values sanitised) and fixes the extension. An empty path or a directory path (trailing
 * "/") gets `<identifier>-<time><ext>`.
 */
export function expandFilepath(raw: string, ext: string, ctx: FilenameContext): string {
  let p = expandTrackPlaceholders(raw, ctx.track ?? {})
    .replaceAll('{room_name}', sanitizeValue(ctx.roomName))
    .replaceAll('{room_id}', sanitizeValue(ctx.roomId))
    .replaceAll('{time}', timeStamp(ctx.now))
    .replaceAll('{utc}', utcStamp(ctx.now));
  if (p === '' || p.endsWith('/')) p += `${sanitizeValue(ctx.identifier)}-${timeStamp(ctx.now)}${ext}`;
  const current = path.extname(p);
  if (current !== ext) {
    p = KNOWN_EXTENSIONS.includes(current.toLowerCase()) ? p.slice(0, -current.length) + ext : p + ext;
  }
  return p;
}

/**
 * A request path (`at` names its field) filled, normalised and confined to the roots; throws invalid_argument
 * naming the field and the value for one that would leave them.
 */
export function resolveFilepath(
  raw: string,
  ext: string,
  ctx: FilenameContext,
  roots: OutputRoots,
  at: string,
): ResolvedPath {
  // Checked as requested too: the extension can hide a ".." segment from the result ("..." + ".mp4").
  assertClean(raw, at, raw);
  return confinePath(expandFilepath(raw, ext, ctx), roots, at, raw);
}
