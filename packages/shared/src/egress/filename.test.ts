import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandFilepath, expandTrackPlaceholders, resolveFilepath, timeStamp, utcStamp } from './filename.js';

const now = new Date(Date.UTC(2026, 10, 26, 9, 5, 7, 42));
const ctx = { roomName: 'my-room', roomId: 'RM_1', identifier: 'web', now };

test('time placeholders use the upstream layouts', () => {
  assert.equal(timeStamp(now), '2026-11-26T090507');
  assert.equal(utcStamp(now), '20261126090507042');
});

test('placeholders expand and the extension is added or replaced', () => {
  assert.equal(expandFilepath('rec/{room_name}-{time}', '.mp4', ctx), 'rec/my-room-2026-11-26T090507.mp4');
  assert.equal(expandFilepath('a/{room_id}_{utc}.ogg', '.mp4', ctx), 'a/RM_1_20261126090507042.mp4');
  assert.equal(expandFilepath('keep.name', '.mp4', ctx), 'keep.name.mp4');
});

test('empty and directory paths get a generated name; ../ is refused, naming the field', () => {
  assert.equal(expandFilepath('', '.mp4', ctx), 'web-2026-11-26T090507.mp4');
  assert.equal(expandFilepath('out/', '.mp4', ctx), 'out/web-2026-11-26T090507.mp4');
  assert.throws(
    () => resolveFilepath('../../x.mp4', '.mp4', ctx, { localOutputDir: '/srv/out' }, 'web.file_outputs[0].filepath'),
    /^EgressError: web\.file_outputs\[0\]\.filepath: must not contain a "\.\." segment \(got "\.\.\/\.\.\/x\.mp4"\)/,
  );
});

test('SDK placeholders are filled as they become known; the rest stay for later', () => {
  const trackCtx = { roomName: 'r', roomId: 'RM_1', identifier: 'TR_v', now, track: { trackId: 'TR_v' } };
  const planned = expandFilepath(
    '{room_name}/{publisher_identity}-{track_id}-{track_type}-{track_source}',
    '.mp4',
    trackCtx,
  );
  assert.equal(planned, 'r/{publisher_identity}-TR_v-{track_type}-{track_source}.mp4');
  assert.equal(
    expandTrackPlaceholders(planned, { publisherIdentity: 'alice', trackType: 'video', trackSource: 'camera' }),
    'r/alice-TR_v-video-camera.mp4',
  );
});
