/**
 * The audio-only room composite without layout or custom page, as upstream records it: the recorder joins with the
 * SDK and mixes every audio track of the room into OGG/Opus. Two publishers beep at different pitches; both are in
 * the file. Audio routes put each on its own channel: a v2 MediaSource routing the publishers LEFT and RIGHT by
 * identity, and the room composite's DUAL_CHANNEL_ALTERNATE. Routing by participant kind is covered by unit tests
 * only: the test publisher cannot choose its kind. The recorder is driven directly with the plans the request
 * planners build.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  AudioChannel,
  AudioConfig,
  AudioMixing,
  AudioRoute,
  EncodedFileOutput,
  MediaSource,
  Output,
  StartEgressRequest,
} from '@livekit/protocol';
import {
  encodingFromRequest,
  planFromRequest,
  roomCompositeSource,
  sdkRoomAudioSourcePlan,
  sdkRoomContext,
  type RecordingPlan,
  type StartRequestLike,
} from '@egress/shared';
import { SdkRecording } from '@egress/recorder/sdk-recording';
import { leftovers } from '@egress/recorder/testing/fixtures';
import { RoomServiceClient } from 'livekit-server-sdk';
import { probe } from './fixtures/media.js';
import { disposeRtc, startPublisher, type Publisher } from './fixtures/publisher.js';
import { stackEnv } from './fixtures/stack.js';
import { sleep } from '@egress/shared/testing/wait';

const run = promisify(execFile);

/**
 * Peak level in dB of the band around `hz`, in the mix or in one channel (0 left, 1 right). The band filter is
 * applied twice so the other tone leaks through it far below the level a wrong channel would show.
 */
async function bandPeakDb(file: string, hz: number, channel?: 0 | 1): Promise<number> {
  const pick = channel === undefined ? '' : `pan=mono|c0=c${channel},`;
  const band = `bandpass=f=${hz}:width_type=h:w=150`;
  const { stderr } = await run('ffmpeg', [
    ...['-nostdin', '-hide_banner', '-i', file],
    ...['-af', `${pick}${band},${band},volumedetect`, '-f', 'null', '-'],
  ]);
  const m = /max_volume: (-?[\d.]+) dB/.exec(stderr);
  assert.ok(m, `volumedetect output for ${hz} Hz`);
  return Number(m[1]);
}

describe('audio-only room composite through the SDK', { timeout: 180_000 }, () => {
  const env = stackEnv();
  const rooms = new RoomServiceClient(env.wsUrl.replace(/^ws/, 'http'), env.apiKey, env.apiSecret);
  const roomName = `sdkaudio-${randomBytes(4).toString('hex')}`;
  const root = path.join(tmpdir(), 'egress-recorder-tests');
  const publishers: Publisher[] = [];
  const plans: RecordingPlan[] = [];

  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await disposeRtc();
    await rooms.deleteRoom(roomName).catch(() => {});
    for (const plan of plans) {
      assert.deepEqual(await leftovers(plan), [], 'the recording left something behind');
      await rm(path.dirname(plan.outputs.file!.destination), { recursive: true, force: true });
    }
  });

  /** Publishers `low` (700 Hz) and `high` (2500 Hz) in the room, started once for every case. */
  async function beeping(): Promise<void> {
    if (publishers.length > 0) return;
    for (const [identity, beepHz] of [
      ['low', 700],
      ['high', 2500],
    ] as const) {
      publishers.push(await startPublisher({ ...env, room: roomName, identity, beepHz, maxDurationMs: 150_000 }));
    }
  }

  /** Records `plan` for 6 s; returns the OGG/Opus file, checked for codec and duration. */
  async function record(plan: RecordingPlan): Promise<string> {
    plans.push(plan);
    const log: string[] = [];
    const rec = new SdkRecording(plan, { log: (l) => log.push(l) });
    await rec.start();
    const activeAt = Date.now();
    await sleep(6000);
    const activeMs = Date.now() - activeAt;
    rec.stop('StopEgress API');
    const end = await rec.ended;
    assert.equal(end.state, 'complete', `${end.error?.message}\n${log.slice(-20).join('\n')}`);
    const file = end.files[0]!.location;
    const p = await probe(file);
    assert.deepEqual([p.audio?.codec_name, p.audio?.channels, p.video], ['opus', 2, undefined]);
    assert.ok(Math.abs(p.durationSec * 1000 - activeMs) <= 1500, `${p.durationSec} s for ${activeMs} ms active`);
    return file;
  }

  /** A room composite recording's plan, from the source roomCompositeSource() chooses. */
  async function roomCompositePlan(audioMixing: AudioMixing): Promise<RecordingPlan> {
    const egressId = `EG_test_${randomBytes(6).toString('hex')}`;
    const source = await roomCompositeSource(
      { layout: '', audioOnly: true, videoOnly: false, customBaseUrl: '', audioMixing },
      { egressId, roomName, apiKey: env.apiKey, apiSecret: env.apiSecret, wsUrl: env.wsUrl, templateBase: 'http://x/' },
    );
    assert.equal(source.kind, 'sdk-audio');
    assert.ok(source.kind === 'sdk-audio');
    return {
      egressId,
      source: sdkRoomAudioSourcePlan(roomName, source),
      encoding: encodingFromRequest({ case: undefined }, 'room_composite', 'ogg'),
      outputs: {
        file: {
          fileType: 'ogg',
          filename: 'room.ogg',
          destination: path.join(root, 'out', egressId, 'room.ogg'),
          manifest: false,
        },
      },
      tmpDir: path.join(root, 'tmp', egressId),
      chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
    };
  }

  /** Peaks of 700 Hz and 2500 Hz in each channel, and of 1500 Hz (neither) in the mix. */
  async function channelPeaks(file: string) {
    const [low0 = 0, low1 = 0, high0 = 0, high1 = 0, between = 0] = await Promise.all([
      bandPeakDb(file, 700, 0),
      bandPeakDb(file, 700, 1),
      bandPeakDb(file, 2500, 0),
      bandPeakDb(file, 2500, 1),
      bandPeakDb(file, 1500),
    ]);
    return { low: [low0, low1] as const, high: [high0, high1] as const, between };
  }

  /** One tone's level in its own channel against the other channel and against the band neither beeps in. */
  function assertOnlyIn(name: string, [mine, other]: readonly [number, number], between: number): void {
    assert.ok(mine > between + 10, `${name} is loud in its channel (${mine} dB, ${between} dB between the tones)`);
    assert.ok(mine > other + 30, `${name} is ~absent from the other channel (${mine} dB vs ${other} dB)`);
  }

  it('mixes every audio track of the room into OGG/Opus', async (t) => {
    await beeping();
    const file = await record(await roomCompositePlan(AudioMixing.DEFAULT_MIXING));
    const [low = 0, high = 0, between = 0] = await Promise.all([700, 2500, 1500].map((hz) => bandPeakDb(file, hz)));
    t.diagnostic(`peaks: 700 Hz ${low} dB, 2500 Hz ${high} dB, 1500 Hz (neither) ${between} dB`);
    assert.ok(low > between + 10 && high > between + 10, 'both publishers are in the mix');
  });

  it('routes a MediaSource publisher LEFT and the other RIGHT', async (t) => {
    await beeping();
    const route = (identity: string, channel: AudioChannel) =>
      new AudioRoute({ match: { case: 'participantIdentity', value: identity }, channel });
    const req: StartRequestLike = {
      egressId: `EG_test_${randomBytes(6).toString('hex')}`,
      roomId: '',
      roomName: '',
      request: {
        case: 'egress',
        value: new StartEgressRequest({
          roomName,
          source: {
            case: 'media',
            value: new MediaSource({
              audio: new AudioConfig({ routes: [route('low', AudioChannel.LEFT), route('high', AudioChannel.RIGHT)] }),
            }),
          },
          outputs: [new Output({ config: { case: 'file', value: new EncodedFileOutput({ filepath: 'routes.ogg' }) } })],
        }),
      },
    };
    const sdkRoom = await sdkRoomContext(req, { apiKey: env.apiKey, apiSecret: env.apiSecret, wsUrl: env.wsUrl });
    const chrome = { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} };
    const plan = await planFromRequest(req, {
      tmpRoot: path.join(root, 'tmp'),
      localOutputDir: path.join(root, 'out', req.egressId),
      chrome,
      ...(sdkRoom ? { sdkRoom } : {}),
    });
    assert.equal(plan.outputs.file?.fileType, 'ogg');
    const { low, high, between } = await channelPeaks(await record(plan));
    t.diagnostic(`peaks L/R: 700 Hz ${low.join('/')} dB, 2500 Hz ${high.join('/')} dB, 1500 Hz ${between} dB`);
    assertOnlyIn('700 Hz (low, routed LEFT)', low, between);
    assertOnlyIn('2500 Hz (high, routed RIGHT)', [high[1], high[0]], between);
  });

  it('DUAL_CHANNEL_ALTERNATE puts one publisher left and the other right', async (t) => {
    await beeping();
    const { low, high, between } = await channelPeaks(
      await record(await roomCompositePlan(AudioMixing.DUAL_CHANNEL_ALTERNATE)),
    );
    t.diagnostic(`peaks L/R: 700 Hz ${low.join('/')} dB, 2500 Hz ${high.join('/')} dB, 1500 Hz ${between} dB`);
    // Which one comes first depends on the order the room lists them in; they must be on opposite sides.
    const lowLeft = low[0] > low[1];
    assertOnlyIn(`700 Hz (${lowLeft ? 'left' : 'right'})`, lowLeft ? low : [low[1], low[0]], between);
    assertOnlyIn(`2500 Hz (${lowLeft ? 'right' : 'left'})`, lowLeft ? [high[1], high[0]] : high, between);
  });
});
