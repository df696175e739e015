/** Content-Type of an uploaded file, from its extension (what players and browsers need to open it). */
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.ogg': 'audio/ogg',
  '.mp3': 'audio/mpeg',
  '.ts': 'video/mp2t',
  '.m3u8': 'application/x-mpegurl',
  '.jpeg': 'image/jpeg',
  '.jpg': 'image/jpeg',
  '.json': 'application/json',
  '.txt': 'text/plain',
};

/** The Content-Type for `file`, `application/octet-stream` when the extension is unknown. */
export function contentTypeFor(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}
