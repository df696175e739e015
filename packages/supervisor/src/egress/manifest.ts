import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EgressInfo } from '@livekit/protocol';
import { redactUrlToken, type RecordedTrack, type SourcePlan } from '@egress/shared';

/** What an SDK egress recorded, named as upstream's manifest names it; what a request type has no word for is left out. */
export interface ManifestTracks {
  publisher_identity?: string;
  track_id?: string;
  track_kind?: string;
  track_source?: string;
  audio_track_id?: string;
  video_track_id?: string;
}

/**
 * Upstream's manifest: what an egress wrote and where, as JSON next to its outputs. Times are unix ns; an image's
 * timestamp is RFC 3339 (a Go time.Time). Empty fields are left out, as Go's omitempty does.
 */
export interface Manifest extends ManifestTracks {
  egress_id: string;
  room_id: string;
  room_name: string;
  url: string;
  started_at: bigint;
  ended_at: bigint;
  files: { filename: string; location: string }[];
  playlists: { location: string; segments: { filename: string; location: string }[] }[];
  images: { filename: string; timestamp: string; location: string }[];
}

/** Segments and images are listed one by one; the supervisor learns them as the recorder delivers them. */
export interface ManifestExtras {
  playlists?: Manifest['playlists'];
  /** Timestamps in unix ms. */
  images?: { filename: string; timestamp: number; location: string }[];
  tracks?: ManifestTracks;
}

/**
 * The track fields upstream fills from the request: a participant's identity, a track composite's two ids, a
 * MediaSource's video; a track egress's id, with its kind, source and publisher once the recorder found it.
 */
export function manifestTracks(source: SourcePlan, recorded?: RecordedTrack): ManifestTracks {
  if (source.kind !== 'sdk') return {};
  const video = source.video;
  const byId = video && 'trackId' in video ? video.trackId : undefined;
  const byIdentity = video && 'identity' in video ? video.identity : undefined;
  const firstAudio = source.audio?.routes[0]?.match;
  switch (source.requestType) {
    case 'participant':
      return { publisher_identity: byIdentity ?? (firstAudio && 'identity' in firstAudio ? firstAudio.identity : '') };
    case 'track_composite':
      return {
        audio_track_id: firstAudio && 'trackId' in firstAudio ? firstAudio.trackId : '',
        video_track_id: byId ?? '',
      };
    case 'media':
      return { publisher_identity: byIdentity ?? '', video_track_id: byId ?? '' };
    case 'track':
      return {
        track_id: source.trackId ?? '',
        ...(recorded
          ? {
              track_kind: recorded.kind,
              track_source: recorded.source ?? '',
              publisher_identity: recorded.identity ?? '',
            }
          : {}),
      };
    default:
      return {};
  }
}

/** Go's RFC 3339 with nanoseconds, trailing zeros of the fraction dropped (ms precision here). */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

export function buildManifest(info: EgressInfo, url: string, extras: ManifestExtras = {}): Manifest {
  return {
    egress_id: info.egressId,
    room_id: info.roomId,
    room_name: info.roomName,
    // The manifest sits beside the recordings, readable by whoever reads them: a page's token stays out.
    url: redactUrlToken(url),
    started_at: info.startedAt,
    ended_at: info.endedAt,
    ...extras.tracks,
    files: info.fileResults.map((f) => ({ filename: f.filename, location: f.location })),
    playlists: extras.playlists ?? [],
    images: (extras.images ?? []).map((i) => ({
      filename: i.filename,
      timestamp: rfc3339(i.timestamp),
      location: i.location,
    })),
  };
}

/** JSON with nanosecond times as exact integers (a JS number would round them), empty fields left out. */
export function manifestJson(m: Manifest): string {
  const text = JSON.stringify(
    m,
    function (this: unknown, _k, v: unknown) {
      const empty = v === '' || v === 0n || v === undefined || (Array.isArray(v) && v.length === 0);
      if (empty && !Array.isArray(this)) return undefined;
      return typeof v === 'bigint' ? `\u0000${v}` : v;
    },
    2,
  );
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
