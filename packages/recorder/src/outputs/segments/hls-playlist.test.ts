import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SegmentEntry } from '@egress/shared';
import { eventPlaylist, livePlaylist } from './hls-playlist.js';

const t0 = Date.UTC(2026, 10, 26, 6, 0, 0);
const seg = (i: number, over: Partial<SegmentEntry> = {}): SegmentEntry => ({
  filename: `s_${String(i).padStart(5, '0')}.ts`,
  durationSec: 4,
  startedAt: t0 + i * 4000,
  size: 1000,
  ...over,
});

test('the EVENT playlist lists every segment with its date and length, and ends on request', () => {
  const entries = [seg(0), seg(1, { durationSec: 4.0004 }), seg(2, { durationSec: 1.5 })];
  const open = eventPlaylist(entries, { targetSec: 4, ended: false });
  assert.equal(
    open,
    [
      '#EXTM3U',
      '#EXT-X-VERSION:4',
      '#EXT-X-PLAYLIST-TYPE:EVENT',
      '#EXT-X-ALLOW-CACHE:NO',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXT-X-PROGRAM-DATE-TIME:2026-11-26T06:00:00.000Z',
      '#EXTINF:4.000,',
      's_00000.ts',
      '#EXT-X-PROGRAM-DATE-TIME:2026-11-26T06:00:04.000Z',
      '#EXTINF:4.000,',
      's_00001.ts',
      '#EXT-X-PROGRAM-DATE-TIME:2026-11-26T06:00:08.000Z',
      '#EXTINF:1.500,',
      's_00002.ts',
      '',
    ].join('\n'),
  );
  assert.ok(eventPlaylist(entries, { targetSec: 4, ended: true }).endsWith('s_00002.ts\n#EXT-X-ENDLIST\n'));
  // A segment longer than the target raises TARGETDURATION, as players require.
  assert.match(eventPlaylist([seg(0, { durationSec: 6.4 })], { targetSec: 4, ended: false }), /TARGETDURATION:6\n/);
});

test('the live playlist keeps the last five, numbered by their place in the recording', () => {
  const entries = Array.from({ length: 8 }, (_, i) => seg(i));
  const live = livePlaylist(entries, { targetSec: 4, ended: false });
  assert.match(live, /#EXT-X-MEDIA-SEQUENCE:3\n/);
  assert.deepEqual(
    live.split('\n').filter((l) => l.endsWith('.ts')),
    ['s_00003.ts', 's_00004.ts', 's_00005.ts', 's_00006.ts', 's_00007.ts'],
  );
  assert.doesNotMatch(live, /PLAYLIST-TYPE/);
});

test('a restart shows as a discontinuity, counted once it scrolls out of the live window', () => {
  const entries = Array.from({ length: 9 }, (_, i) => seg(i, i === 2 ? { discontinuity: true } : {}));
  const event = eventPlaylist(entries, { targetSec: 4, ended: true });
  assert.match(
    event,
    /s_00001\.ts\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n#EXTINF:4\.000,\ns_00002\.ts/,
  );
  const live = livePlaylist(entries, { targetSec: 4, ended: true });
  assert.match(live, /#EXT-X-DISCONTINUITY-SEQUENCE:1\n/);
  assert.doesNotMatch(live, /#EXT-X-DISCONTINUITY\n/);
});
