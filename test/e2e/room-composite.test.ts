/**
 * Room composite egress through a real livekit-server and the real server SDK: a synthetic participant
 * flashes and beeps in a room, StartRoomCompositeEgress (or StartEgress with a TemplateSource) reaches the
 * service over psrpc, the template page joins as the hidden recorder, and every file is checked with
 * ffprobe and, with audio and video, for A/V sync.
 */
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  EgressInfo,
  EgressStatus,
  EncodedFileOutput,
  EncodedFileType,
  ImageOutput,
  Output,
  RoomServiceClient,
  SegmentedFileOutput,
  StartEgressRequest,
  TemplateSource,
  type EgressClient,
} from 'livekit-server-sdk';
import { EgressSourceType } from '@livekit/protocol';
import { measureAvSync } from './fixtures/av-sync.js';
import { leftoversAfter } from './fixtures/leftovers.js';
import { decodeErrors, probe, type Probe } from './fixtures/media.js';
import { disposeRtc, startPublisher, type Publisher } from './fixtures/publisher.js';
import {
  egressClient,
  freePort,
  type RunningService,
  stackEnv,
  startService,
  TERMINAL,
  waitForStatus,
} from './fixtures/stack.js';
import { sleep } from '@egress/shared/testing/wait';

/** Upstream's integration tests allow 300 ms; we hold ourselves to half. */
const MAX_AV_OFFSET_MS = 150;
/** How far a file's duration may be from the time between ACTIVE and the end. */
const DURATION_SLACK_S = 1.5;

interface Recorded {
  done: EgressInfo;
  /** Seconds between ACTIVE (as listEgress first showed it) and the stop or room deletion. */
  wallSec: number;
  file: Probe;
  location: string;
}

describe('room composite egress through a real livekit-server', { timeout: 600_000 }, () => {
  const env = stackEnv();
  const client: EgressClient = egressClient();
  const rooms = new RoomServiceClient(env.wsUrl.replace(/^ws/, 'http'), env.apiKey, env.apiSecret);
  const room = `rc-${randomBytes(4).toString('hex')}`;
  const publishers: Publisher[] = [];
  const roomsMade = [room];
  let svc: RunningService;

  before(async () => {
    // One room composite at a time is what a 2-core node admits at the default cost of 4; these lower costs
    // only keep a recording that is still ending from refusing the next one.
    svc = await startService(
      'cpu_cost: { room_composite_cpu_cost: 0.5, audio_room_composite_cpu_cost: 0.5, max_cpu_utilization: 1.0 }',
    );
    publishers.push(await startPublisher({ ...env, room, identity: 'flasher', maxDurationMs: 500_000 }));
  });

  after(async () => {
    for (const p of publishers) await p.stop();
    await disposeRtc();
    for (const r of roomsMade) await rooms.deleteRoom(r).catch(() => {});
    const code = await svc?.stop('SIGTERM');
    assert.equal(code, 0, 'the service exits 0 on SIGTERM');
    assert.deepEqual(await leftoversAfter(3000), []);
  });

  /** Starts an egress, waits for ACTIVE, lets `during` run the recording, and returns the finished file. */
  async function record(
    start: () => Promise<EgressInfo>,
    during: (info: EgressInfo, activeAt: number) => Promise<number>,
  ): Promise<Recorded> {
    const started = await start();
    assert.equal(started.status, EgressStatus.EGRESS_STARTING);
    await waitForStatus(client, started.egressId, [EgressStatus.EGRESS_ACTIVE, ...TERMINAL], 60_000);
    const activeAt = Date.now();
    const endAt = await during(started, activeAt);
    const done = await waitForStatus(client, started.egressId, TERMINAL, 60_000);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, `${EgressStatus[done.status]}: ${done.error}`);
    assert.equal(done.fileResults.length, 1);
    const location = done.fileResults[0]!.location;
    assert.equal(await decodeErrors(location), '', 'the file decodes without errors');
    return { done, wallSec: (endAt - activeAt) / 1000, file: await probe(location), location };
  }

  /** Records for `ms` after ACTIVE, then StopEgress. */
  const stopAfter =
    (ms: number) =>
    async (info: EgressInfo, activeAt: number): Promise<number> => {
      await sleep(activeAt + ms - Date.now());
      const stopAt = Date.now();
      await client.stopEgress(info.egressId);
      return stopAt;
    };

  function assertDuration(r: Recorded): void {
    assert.ok(
      Math.abs(r.file.durationSec - r.wallSec) <= DURATION_SLACK_S,
      `duration ${r.file.durationSec} s vs ${r.wallSec} s recorded`,
    );
  }

  function assertAv720p(r: Recorded): void {
    assert.deepEqual([r.file.video?.codec_name, r.file.video?.width, r.file.video?.height], ['h264', 1280, 720]);
    assert.equal(r.file.audio?.codec_name, 'aac');
    assertDuration(r);
  }

  /** Every flash/beep pair within MAX_AV_OFFSET_MS; `minPairs` of them at least. */
  async function assertInSync(t: TestContext, location: string, minPairs: number): Promise<void> {
    const sync = await measureAvSync(location);
    t.diagnostic(
      `A/V offsets (ms, + = audio late): ${sync.offsetsMs.map((o) => o.toFixed(0)).join(' ')}; ` +
        `median ${sync.medianMs.toFixed(1)}, worst ${sync.worstMs.toFixed(1)}`,
    );
    assert.ok(sync.offsetsMs.length >= minPairs, `${sync.offsetsMs.length} flash/beep pairs, want >= ${minPairs}`);
    for (const o of sync.offsetsMs) assert.ok(Math.abs(o) <= MAX_AV_OFFSET_MS, `A/V offset ${o.toFixed(1)} ms`);
  }

  /** The recorder's log lines (Chromium's console included) for one egress, from the service's output. */
  const egressLog = (egressId: string) => svc.logs.filter((l) => l.includes(egressId));

  it('records the grid layout: EgressInfo names the room, the file is 720p H.264/AAC in sync', async (t) => {
    const r = await record(
      () =>
        client.startRoomCompositeEgress(room, new EncodedFileOutput({ filepath: 'rc/{room_name}-grid.mp4' }), {
          layout: 'grid',
        }),
      stopAfter(10_000),
    );
    assert.equal(r.done.roomName, room);
    assert.match(r.done.roomId, /^RM_/);
    assert.equal(r.done.sourceType, EgressSourceType.WEB);
    assert.equal(r.done.request.case, 'roomComposite');
    assert.equal(r.done.details, 'End reason: StopEgress API');
    assert.ok(r.location.endsWith(`/rc/${room}-grid.mp4`), r.location);
    assertAv720p(r);
    assert.ok(
      egressLog(r.done.egressId).some((l) => l.includes('layout: grid-dark')),
      'the template showed grid-dark',
    );
    await assertInSync(t, r.location, 7);
  });

  it('records the speaker layout from a TemplateSource and follows UpdateLayout while recording', async (t) => {
    let egressId = '';
    const r = await record(
      () =>
        client.startEgress(
          new StartEgressRequest({
            roomName: room,
            source: { case: 'template', value: new TemplateSource({ layout: 'speaker' }) },
            outputs: [
              new Output({ config: { case: 'file', value: new EncodedFileOutput({ filepath: 'rc/speaker.mp4' }) } }),
            ],
          }),
        ),
      async (info, activeAt) => {
        egressId = info.egressId;
        assert.ok(egressLog(egressId).some((l) => l.includes('layout: speaker-dark')));
        await sleep(activeAt + 4000 - Date.now());
        // The server sets the recorder participant's metadata; the template switches on it. With one
        // participant single-speaker looks like speaker: the picture's brightness, which the A/V check
        // reads, stays as it was (a light theme would shift it mid-file).
        await client.updateLayout(egressId, 'single-speaker');
        await svc.waitForLog(
          new RegExp(`${egressId}.*layout: single-speaker-dark|layout: single-speaker-dark.*${egressId}`),
          10_000,
        );
        return stopAfter(10_000)(info, activeAt);
      },
    );
    assert.equal(r.done.request.case, 'egress');
    assert.equal(r.done.roomName, room);
    assertAv720p(r);
    await assertInSync(t, r.location, 7);
  });

  it('writes HLS segments and images from the same encode as the file', async () => {
    const r = await record(
      () =>
        client.startRoomCompositeEgress(
          room,
          {
            file: new EncodedFileOutput({ filepath: 'rc/multi/{room_name}.mp4' }),
            segments: new SegmentedFileOutput({ filenamePrefix: 'rc/multi/hls/seg', segmentDuration: 2 }),
            images: new ImageOutput({
              filenamePrefix: 'rc/multi/img/snap',
              captureInterval: 2,
              width: 320,
              height: 180,
            }),
          },
          { layout: 'speaker' },
        ),
      stopAfter(10_000),
    );
    assertAv720p(r);
    // HLS: a closed playlist whose segments each decode as H.264 + AAC and together last the recording.
    const seg = r.done.segmentResults[0]!;
    const lines = (await readFile(seg.playlistLocation, 'utf8')).split('\n').filter(Boolean);
    assert.ok(lines.includes('#EXT-X-ENDLIST'), 'the playlist is closed');
    const segments = lines.filter((l) => !l.startsWith('#'));
    assert.equal(BigInt(segments.length), seg.segmentCount);
    assert.ok(segments.length >= 4, `${segments.length} segments`);
    let total = 0;
    for (const name of segments) {
      const m = await probe(path.join(path.dirname(seg.playlistLocation), name));
      assert.deepEqual([m.video?.codec_name, m.audio?.codec_name], ['h264', 'aac'], name);
      total += m.durationSec;
    }
    assert.ok(Math.abs(total - r.wallSec) <= DURATION_SLACK_S, `segments hold ${total} s of ${r.wallSec} s`);
    // Images: JPEGs at the requested size, as many as ImagesInfo says.
    const img = r.done.imageResults[0]!;
    assert.equal(img.filenamePrefix, 'rc/multi/img/snap');
    const dir = path.join(svc.outDir, 'rc/multi/img');
    const jpegs = (await readdir(dir)).filter((f) => f.endsWith('.jpeg')).sort();
    assert.equal(BigInt(jpegs.length), img.imageCount);
    assert.ok(jpegs.length >= 4, `${jpegs.length} images`);
    const im = await probe(path.join(dir, jpegs[0]!));
    assert.deepEqual([im.video?.codec_name, im.video?.width, im.video?.height], ['mjpeg', 320, 180]);
  });

  it('records audio only through the template (layout set): OGG/Opus by default, or MP4/AAC', async () => {
    for (const [fileType, codec] of [
      [EncodedFileType.DEFAULT_FILETYPE, 'opus'],
      [EncodedFileType.MP4, 'aac'],
    ] as const) {
      const r = await record(
        () =>
          client.startRoomCompositeEgress(room, new EncodedFileOutput({ fileType, filepath: 'rc/audio-{time}' }), {
            layout: 'grid',
            audioOnly: true,
          }),
        stopAfter(8000),
      );
      assert.ok(r.location.endsWith(codec === 'opus' ? '.ogg' : '.mp4'), r.location);
      assert.equal(r.file.video, undefined, 'no video stream');
      assert.equal(r.file.audio?.codec_name, codec);
      assertDuration(r);
    }
  });

  it('records an audio-only composite without a layout through the SDK, no browser: every track mixed into OGG', async () => {
    const r = await record(
      () =>
        client.startRoomCompositeEgress(room, new EncodedFileOutput({ filepath: 'rc/sdk-audio-{time}' }), {
          audioOnly: true,
        }),
      stopAfter(8000),
    );
    assert.ok(r.location.endsWith('.ogg'), r.location);
    assert.equal(r.file.video, undefined, 'no video stream');
    assert.equal(r.file.audio?.codec_name, 'opus');
    assertDuration(r);
    const log = readFileSync(path.join(svc.logDir, `${r.done.egressId}.log`), 'utf8');
    assert.doesNotMatch(log, /\[chromium\]/, 'no browser was started');
  });

  it('fails naming the page when custom_base_url cannot be loaded, without the recorder token', async () => {
    const closedPort = await freePort();
    const info = await client.startRoomCompositeEgress(
      room,
      new EncodedFileOutput({ filepath: 'rc/unreachable.mp4' }),
      {
        customBaseUrl: `http://127.0.0.1:${closedPort}/rec/`,
      },
    );
    const done = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(done.status, EgressStatus.EGRESS_FAILED);
    assert.match(
      done.error,
      new RegExp(
        `^page load failed: net::ERR_CONNECTION_REFUSED at http://127\\.0\\.0\\.1:${closedPort}/rec/\\?layout=`,
      ),
    );
    assert.match(done.error, /token=redacted/);
    assert.doesNotMatch(done.error, /eyJ/, 'no JWT in the error');
    assert.equal(done.fileResults.length, 0);
  });

  it('records video only: H.264 720p and no audio stream', async () => {
    const r = await record(
      () =>
        client.startRoomCompositeEgress(room, new EncodedFileOutput({ filepath: 'rc/video.mp4' }), {
          layout: 'speaker',
          videoOnly: true,
        }),
      stopAfter(8000),
    );
    assert.deepEqual([r.file.video?.codec_name, r.file.video?.width, r.file.video?.height], ['h264', 1280, 720]);
    assert.equal(r.file.audio, undefined, 'no audio stream');
    assertDuration(r);
  });

  it('keeps recording when a publisher leaves, and completes with the file finalized when the room is deleted', async (t) => {
    const own = `rc-del-${randomBytes(4).toString('hex')}`;
    roomsMade.push(own);
    const leaver = await startPublisher({ ...env, room: own, identity: 'leaver', maxDurationMs: 120_000 });
    publishers.push(leaver);
    const r = await record(
      () => client.startRoomCompositeEgress(own, new EncodedFileOutput({ filepath: 'rc/deleted.mp4' })),
      async (info, activeAt) => {
        await sleep(activeAt + 5000 - Date.now());
        await leaver.stop();
        await sleep(activeAt + 9000 - Date.now());
        assert.equal((await client.listEgress({ egressId: info.egressId }))[0]?.status, EgressStatus.EGRESS_ACTIVE);
        const deletedAt = Date.now();
        await rooms.deleteRoom(own);
        return deletedAt;
      },
    );
    // The server disconnects the recorder; the template prints END_RECORDING.
    assert.equal(r.done.details, 'End reason: Source closed');
    assert.equal(r.done.roomName, own);
    assertAv720p(r);
    // Flashes only while the publisher was there.
    await assertInSync(t, r.location, 3);
  });
});
