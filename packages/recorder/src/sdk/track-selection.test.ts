import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SdkAudioSelection } from '@egress/shared';
import { AlternateChannels, selectTracks, type PublishedTrack, type Selection } from './track-selection.js';

const t = (
  sid: string,
  kind: 'audio' | 'video',
  source: PublishedTrack['source'],
  identity: string,
  participantKind: PublishedTrack['participantKind'] = 'standard',
): PublishedTrack => ({
  sid,
  kind,
  source,
  identity,
  participantKind,
});
const room = [
  t('TR_cam', 'video', 'camera', 'alice'),
  t('TR_mic', 'audio', 'microphone', 'alice'),
  t('TR_scr', 'video', 'screen_share', 'alice'),
  t('TR_bob', 'audio', 'microphone', 'bob'),
];
const none: SdkAudioSelection = { all: false, routes: [], mixing: 'default' };
/** The selected audio as `sid:channel`. */
const placed = (s: Selection) => s.audio.map((a) => `${a.sid}:${a.channel}`);

describe('selectTracks', () => {
  it('takes a participant camera, or the screen share when preferred, and their audio', () => {
    const cam = selectTracks(
      {
        video: { identity: 'alice', preferScreenShare: false },
        audio: { ...none, routes: [{ match: { identity: 'alice' }, channel: 'both' }] },
      },
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

  it('places audio by routes (id, identity, kind), the first matching route giving the channel', () => {
    const tracks = [
      ...room,
      t('TR_agent', 'audio', 'microphone', 'helper', 'agent'),
      t('TR_sip', 'audio', 'microphone', 'caller', 'sip'),
    ];
    const audio: SdkAudioSelection = {
      ...none,
      routes: [
        { match: { trackId: 'TR_bob' }, channel: 'right' },
        { match: { identity: 'bob' }, channel: 'left' }, // TR_bob already matched the route above
        { match: { participantKind: 'agent' }, channel: 'left' },
        { match: { identity: 'alice' }, channel: 'both' },
      ],
    };
    assert.deepEqual(placed(selectTracks({ audio }, tracks)), ['TR_mic:both', 'TR_bob:right', 'TR_agent:left']);
    // capture_all keeps every other audio track, on both channels.
    assert.deepEqual(placed(selectTracks({ audio: { ...audio, all: true } }, tracks)), [
      'TR_mic:both',
      'TR_bob:right',
      'TR_agent:left',
      'TR_sip:both',
    ]);
  });

  it('DUAL_CHANNEL_AGENT puts agents left and everyone else right', () => {
    const tracks = [
      t('TR_a1', 'audio', 'microphone', 'user'),
      t('TR_a2', 'audio', 'microphone', 'bot', 'agent'),
      t('TR_a3', 'audio', 'microphone', 'phone', 'sip'),
      t('TR_v', 'video', 'camera', 'bot', 'agent'),
    ];
    const s = selectTracks({ audio: { all: true, routes: [], mixing: 'dual_channel_agent' } }, tracks);
    assert.deepEqual(placed(s), ['TR_a1:right', 'TR_a2:left', 'TR_a3:right']);
  });

  it('DUAL_CHANNEL_ALTERNATE alternates in first-selected order and keeps each channel through arrivals and departures', () => {
    const audio: SdkAudioSelection = { all: true, routes: [], mixing: 'dual_channel_alternate' };
    const alternate = new AlternateChannels();
    const a = t('TR_1', 'audio', 'microphone', 'a');
    const b = t('TR_2', 'audio', 'microphone', 'b');
    const c = t('TR_3', 'audio', 'microphone', 'c');
    const d = t('TR_4', 'audio', 'microphone', 'd');
    assert.deepEqual(placed(selectTracks({ audio }, [a, b], alternate)), ['TR_1:left', 'TR_2:right']);
    // a leaves: b stays right, and c, the third track, goes left.
    assert.deepEqual(placed(selectTracks({ audio }, [b, c], alternate)), ['TR_2:right', 'TR_3:left']);
    // The room lists them in another order: channels stick; the newcomer d is fourth, so right.
    assert.deepEqual(placed(selectTracks({ audio }, [d, c, b], alternate)), ['TR_4:right', 'TR_3:left', 'TR_2:right']);
  });
});
