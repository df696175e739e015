/**
 * The audio-only room composite without layout or custom page, as upstream records it: the recorder joins with the
 * SDK and mixes every audio track of the room into OGG/Opus. Two publishers beep at different pitches; both are in
 * the file. The recorder is driven directly with the source roomCompositeSource() chooses.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { encodingFromRequest, roomCompositeSource, sdkRoomAudioSourcePlan, type RecordingPlan } from '@egress/shared';
import { SdkRecording } from '@egress/recorder/sdk-recording';
import { leftovers } from '@egress/recorder/testing/fixtures';
import { RoomServiceClient } from 'livekit-server-sdk';
import { probe } from './fixtures/media.js';
import { disposeRtc, startPublisher, type Publisher } from './fixtures/publisher.js';
import { stackEnv } from './fixtures/stack.js';

const run = promisify(execFile);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Peak level in dB of the band around `hz`. */
async function bandPeakDb(file: string, hz: number): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    ...['-nostdin', '-hide_banner', '-i', file],
    ...['-af', `bandpass=f=${hz}:width_type=h:w=150,volumedetect`, '-f', 'null', '-'],
  ]);
  const m = /max_volume: (-?[\d.]+) dB/.exec(stderr);
  assert.ok(m, `volumedetect output for ${hz} Hz`);
  return Number(m[1]);
}

describe('audio-only room composite through the SDK', { timeout: 120_000 }, () => {
  const env = stackEnv();
  const rooms = new RoomServiceClient(env.wsUrl.replace(/^ws/, 'http'), env.apiKey, env.apiSecret);
  const roomName = `sdkaudio-${randomBytes(4).toString('hex')}`;
  const publishers: Publisher[] = [];
  let plan: RecordingPlan | undefined;

  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await disposeRtc();
    await rooms.deleteRoom(roomName).catch(() => {});
    if (plan) {
      assert.deepEqual(await leftovers(plan), [], 'the recording left something behind');
      await rm(path.dirname(plan.outputs.file!.destination), { recursive: true, force: true });
    }
  });

  it('mixes every audio track of the room into OGG/Opus', async (t) => {
    for (const [identity, beepHz] of [
      ['low', 700],
      ['high', 2500],
    ] as const) {
      publishers.push(await startPublisher({ ...env, room: roomName, identity, beepHz, maxDurationMs: 100_000 }));
    }
    const egressId = `EG_test_${randomBytes(6).toString('hex')}`;
    const source = await roomCompositeSource(
      { layout: '', audioOnly: true, videoOnly: false, customBaseUrl: '' },
      { egressId, roomName, apiKey: env.apiKey, apiSecret: env.apiSecret, wsUrl: env.wsUrl, templateBase: 'http://x/' },
    );
    assert.equal(source.kind, 'sdk-audio');
    if (source.kind !== 'sdk-audio') return;
    const root = path.join(tmpdir(), 'egress-recorder-tests');
    plan = {
      egressId,
      source: sdkRoomAudioSourcePlan(roomName, source),
      encoding: encodingFromRequest({ case: undefined }, 'room_composite', 'ogg'),
      outputs: {
        file: { fileType: 'ogg', destination: path.join(root, 'out', egressId, 'room.ogg'), manifest: false },
      },
      tmpDir: path.join(root, 'tmp', egressId),
      chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
    };
    const log: string[] = [];
    const rec = new SdkRecording(plan, { log: (l) => log.push(l) });
    await rec.start();
    const activeAt = Date.now();
    await delay(6000);
    const activeMs = Date.now() - activeAt;
    rec.stop('StopEgress API');
    const end = await rec.ended;
    assert.equal(end.state, 'complete', `${end.error?.message}\n${log.slice(-20).join('\n')}`);
    const file = end.files[0]!.location;
    const p = await probe(file);
    assert.deepEqual([p.audio?.codec_name, p.video], ['opus', undefined]);
    assert.ok(Math.abs(p.durationSec * 1000 - activeMs) <= 1500, `${p.durationSec} s for ${activeMs} ms active`);
    const [low = 0, high = 0, between = 0] = await Promise.all([700, 2500, 1500].map((hz) => bandPeakDb(file, hz)));
    t.diagnostic(`peaks: 700 Hz ${low} dB, 2500 Hz ${high} dB, 1500 Hz (neither) ${between} dB`);
    assert.ok(low > between + 10 && high > between + 10, 'both publishers are in the mix');
  });
});
