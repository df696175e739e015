import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EgressInfo, FileInfo } from '@livekit/protocol';
import type { SdkSourcePlan } from '@egress/shared';
import { buildManifest, manifestJson, manifestTracks, writeManifest } from './manifest.js';

test('the manifest lists the files with exact nanosecond times, images with RFC 3339 times, no empty field', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'manifest-'));
  try {
    const info = new EgressInfo({
      egressId: 'EG_m1',
      roomName: 'r',
      startedAt: 1795660000123456789n,
      endedAt: 1795660010987654321n,
      fileResults: [
        new FileInfo({ filename: 'a.mp4', location: '/out/a.mp4' }),
        new FileInfo({ filename: 'a-part2.mp4', location: '/out/a-part2.mp4' }),
      ],
    });
    const location = await writeManifest(dir, info, 'http://127.0.0.1:1/page', {
      playlists: [{ location: '/out/p.m3u8', segments: [{ filename: 'p_00000.ts', location: '/out/p_00000.ts' }] }],
      images: [{ filename: 'i_00000.jpeg', timestamp: 1795660000123, location: '/out/i_00000.jpeg' }],
    });
    assert.equal(location, path.join(dir, 'EG_m1.json'));
    const text = readFileSync(location, 'utf8');
    assert.match(text, /"started_at": 1795660000123456789,/, 'ns times are exact integers');
    assert.deepEqual(JSON.parse(text.replace(/(\d{16,})/g, '"$1"')), {
      egress_id: 'EG_m1',
      room_name: 'r',
      url: 'http://127.0.0.1:1/page',
      started_at: '1795660000123456789',
      ended_at: '1795660010987654321',
      files: [
        { filename: 'a.mp4', location: '/out/a.mp4' },
        { filename: 'a-part2.mp4', location: '/out/a-part2.mp4' },
      ],
      playlists: [{ location: '/out/p.m3u8', segments: [{ filename: 'p_00000.ts', location: '/out/p_00000.ts' }] }],
      images: [{ filename: 'i_00000.jpeg', timestamp: '2026-11-26T02:26:40.123Z', location: '/out/i_00000.jpeg' }],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("image times drop the fraction's trailing zeros, as Go's RFC 3339 does", () => {
  const at = (ms: number) =>
    buildManifest(new EgressInfo({ egressId: 'EG_t' }), '', {
      images: [{ filename: 'i', timestamp: ms, location: '/i' }],
    }).images[0]!.timestamp;
  assert.equal(at(Date.UTC(2026, 0, 2, 3, 4, 5, 100)), '2026-01-02T03:04:05.1Z');
  assert.equal(at(Date.UTC(2026, 0, 2, 3, 4, 0, 0)), '2026-01-02T03:04:00Z');
  assert.equal(at(Date.UTC(2026, 0, 2, 3, 4, 5, 7)), '2026-01-02T03:04:05.007Z');
});

test('the track fields follow the request type, as upstream fills them', () => {
  const sdk = (o: Partial<SdkSourcePlan>): SdkSourcePlan => ({
    kind: 'sdk',
    requestType: 'participant',
    roomName: 'r',
    wsUrl: 'ws://127.0.0.1:1',
    token: 't',
    audioOnly: false,
    videoOnly: false,
    ...o,
  });
  const routes = (trackId: string) => ({
    all: false,
    routes: [{ match: { trackId }, channel: 'both' as const }],
    mixing: 'default' as const,
  });
  assert.deepEqual(manifestTracks(sdk({ video: { identity: 'alice', preferScreenShare: false } })), {
    publisher_identity: 'alice',
  });
  assert.deepEqual(
    manifestTracks(sdk({ requestType: 'track_composite', video: { trackId: 'TR_v' }, audio: routes('TR_a') })),
    { audio_track_id: 'TR_a', video_track_id: 'TR_v' },
  );
  assert.deepEqual(manifestTracks(sdk({ requestType: 'track', trackId: 'TR_x' })), { track_id: 'TR_x' });
  assert.deepEqual(
    manifestTracks(sdk({ requestType: 'track', trackId: 'TR_x' }), {
      kind: 'video',
      identity: 'bob',
      source: 'camera',
    }),
    { track_id: 'TR_x', track_kind: 'video', track_source: 'camera', publisher_identity: 'bob' },
  );
  assert.deepEqual(
    manifestTracks({
      kind: 'web',
      url: 'http://127.0.0.1:1/',
      audioOnly: false,
      videoOnly: false,
      awaitStartSignal: true,
    }),
    {},
  );
  // Empty ones are left out of the JSON: an audio-only track composite has no video_track_id.
  const json = manifestJson(
    buildManifest(new EgressInfo({ egressId: 'EG_a' }), '', {
      tracks: manifestTracks(sdk({ requestType: 'track_composite', audio: routes('TR_a') })),
    }),
  );
  assert.deepEqual(JSON.parse(json), { egress_id: 'EG_a', audio_track_id: 'TR_a' });
});

test('the manifest never carries a token, access_token or user:password of the page URL', () => {
  const url = 'https://u:PASS-SECRET@app.test/rec?room=r&token=T-SECRET&access_token=AT-SECRET';
  const json = manifestJson(buildManifest(new EgressInfo({ egressId: 'EG_tok' }), url));
  assert.doesNotMatch(json, /SECRET/);
  assert.match(
    json,
    /"url": "https:\/\/redacted:redacted@app\.test\/rec\?room=r&token=redacted&access_token=redacted"/,
  );
});
