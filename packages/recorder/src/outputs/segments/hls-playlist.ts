/**
 * HLS playlists as upstream writes them: VERSION 4, ALLOW-CACHE NO, TARGETDURATION, MEDIA-SEQUENCE, and per
 * segment PROGRAM-DATE-TIME and EXTINF with 3 decimals. The EVENT playlist lists every segment; the live
 * playlist a sliding window of the last 5. A restart shows as EXT-X-DISCONTINUITY before its first segment.
 */
import type { SegmentEntry } from '@egress/shared';

/** Segments the live playlist keeps (upstream hard-codes 5). */
export const LIVE_WINDOW = 5;

export interface PlaylistOptions {
  /** The output's segment duration; TARGETDURATION is never below it. */
  targetSec: number;
  /** Write EXT-X-ENDLIST: the recording is over. */
  ended: boolean;
}

function header(kind: 'event' | 'live', entries: SegmentEntry[], sequence: number, o: PlaylistOptions): string[] {
  // TARGETDURATION must be at least every segment's rounded duration.
  const target = Math.max(Math.ceil(o.targetSec), ...entries.map((e) => Math.round(e.durationSec)));
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:4',
    ...(kind === 'event' ? ['#EXT-X-PLAYLIST-TYPE:EVENT'] : []),
    '#EXT-X-ALLOW-CACHE:NO',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${sequence}`,
  ];
}

function segmentLines(e: SegmentEntry, first: boolean): string[] {
  return [
    ...(e.discontinuity && !first ? ['#EXT-X-DISCONTINUITY'] : []),
    `#EXT-X-PROGRAM-DATE-TIME:${new Date(e.startedAt).toISOString()}`,
    `#EXTINF:${e.durationSec.toFixed(3)},`,
    e.filename,
  ];
}

/** The EVENT playlist: every segment so far. */
export function eventPlaylist(entries: SegmentEntry[], o: PlaylistOptions): string {
  const lines = header('event', entries, 0, o);
  entries.forEach((e, i) => lines.push(...segmentLines(e, i === 0)));
  if (o.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** The live playlist: the last LIVE_WINDOW segments, numbered by their place in the whole recording. */
export function livePlaylist(entries: SegmentEntry[], o: PlaylistOptions): string {
  const first = Math.max(0, entries.length - LIVE_WINDOW);
  const window = entries.slice(first);
  const lines = header('live', window, first, o);
  // A discontinuity that scrolled out of the window still counts for players (EXT-X-DISCONTINUITY-SEQUENCE).
  const dropped = entries.slice(0, first).filter((e, i) => e.discontinuity && i > 0).length;
  if (dropped > 0) lines.splice(lines.length, 0, `#EXT-X-DISCONTINUITY-SEQUENCE:${dropped}`);
  window.forEach((e, i) => lines.push(...segmentLines(e, first + i === 0)));
  if (o.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}
