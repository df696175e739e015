import path from 'node:path';

/** Values for upstream's filename placeholders. */
export interface FilenameContext {
  roomName: string;
  roomId: string;
  /** Used when the request gives no name: the room name, or "web". */
  identifier: string;
  now: Date;
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
  let p = raw
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
