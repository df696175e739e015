import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectTracks, type PublishedTrack } from './track-selection.js';

const t = (
  sid: string,
  kind: 'audio' | 'video',
  source: PublishedTrack['source'],
  identity: string,
): PublishedTrack => ({
  sid,
  kind,
  source,
  identity,
});
const room = [
  t('TR_cam', 'video', 'camera', 'alice'),
  t('TR_mic', 'audio', 'microphone', 'alice'),
  t('TR_scr', 'video', 'screen_share', 'alice'),
  t('TR_bob', 'audio', 'microphone', 'bob'),
];
const none = { all: false, trackIds: [], identities: [] };

describe('selectTracks', () => {
  it('takes a participant camera, or the screen share when preferred, and their audio', () => {
    const cam = selectTracks(
      { video: { identity: 'alice', preferScreenShare: false }, audio: { ...none, identities: ['alice'] } },
      room,
    );
    assert.deepEqual([cam.video?.sid, cam.audio.map((a) => a.sid)], ['TR_cam', ['TR_mic']]);
    const scr = selectTracks({ video: { identity: 'alice', preferScreenShare: true } }, room);
    assert.equal(scr.video?.sid, 'TR_scr');
    const fallback = selectTracks(
      { video: { identity: 'alice', preferScreenShare: true } },
      room.filter((x) => x.sid !== 'TR_scr'),
    );
    assert.equal(fallback.video?.sid, 'TR_cam');
  });

  it('takes tracks by id, every audio track, and a track egress track of either kind', () => {
    assert.equal(selectTracks({ video: { trackId: 'TR_mic' } }, room).video, undefined, 'an audio id is not video');
    assert.deepEqual(
      selectTracks({ audio: { ...none, all: true } }, room).audio.map((a) => a.sid),
      ['TR_mic', 'TR_bob'],
    );
    assert.equal(selectTracks({ trackId: 'TR_scr' }, room).video?.sid, 'TR_scr');
    assert.deepEqual(
      selectTracks({ trackId: 'TR_bob' }, room).audio.map((a) => a.sid),
      ['TR_bob'],
    );
    assert.deepEqual(selectTracks({ trackId: 'TR_late' }, room), { audio: [] });
  });
});
