import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EgressInfo } from '@livekit/protocol';

/** Upstream's manifest: what an egress wrote and where, as JSON next to its outputs. Times are unix ns. */
export interface Manifest {
  egress_id: string;
  room_id: string;
  room_name: string;
  url: string;
  started_at: bigint;
  ended_at: bigint;
  files: { filename: string; location: string }[];
  playlists: { location: string; segments: { filename: string; location: string }[] }[];
  images: { filename: string; timestamp: bigint; location: string }[];
}

/** Segments and images are listed one by one; the supervisor learns them as the recorder delivers them. */
export interface ManifestExtras {
  playlists?: Manifest['playlists'];
  images?: { filename: string; timestamp: number; location: string }[];
}

export function buildManifest(info: EgressInfo, url: string, extras: ManifestExtras = {}): Manifest {
  return {
    egress_id: info.egressId,
    room_id: info.roomId,
    room_name: info.roomName,
    url,
    started_at: info.startedAt,
    ended_at: info.endedAt,
    files: info.fileResults.map((f) => ({ filename: f.filename, location: f.location })),
    playlists: extras.playlists ?? [],
    images: (extras.images ?? []).map((i) => ({
      filename: i.filename,
      timestamp: BigInt(Math.round(i.timestamp)) * 1_000_000n,
      location: i.location,
    })),
  };
}

/** JSON with nanosecond times as exact integers (a JS number would round them). */
export function manifestJson(m: Manifest): string {
  const text = JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000${v}` : v), 2);
  return `${text.replace(/"\\u0000(\d+)"/g, '$1')}\n`;
}

/** Writes `<egressId>.json` into `dir` (created if need be: an egress that wrote nothing still gets one). */
export async function writeManifest(
  dir: string,
  info: EgressInfo,
  url: string,
  extras: ManifestExtras = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const location = path.join(dir, `${info.egressId}.json`);
  await writeFile(location, manifestJson(buildManifest(info, url, extras)));
  return location;
}
