/**
 * Participant, TrackComposite and Track egress (and the unified request's MediaSource) for real: synthetic
 * publishers flash and beep into rooms on the local LiveKit server, requests go through livekit-server-sdk's
 * EgressClient to the service, the recorder joins with the SDK, and every output is checked with ffprobe and, with
 * audio and video, for A/V sync.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import {
  DirectFileOutput,
  EgressInfo,
  EgressStatus,
  EncodedFileOutput,
  ImageOutput,
  RoomServiceClient,
  SegmentedFileOutput,
  TrackType,
} from 'livekit-server-sdk';
import { EgressSourceType, MediaSource, Output, ParticipantVideo, StartEgressRequest } from '@livekit/protocol';
import { WebSocketServer } from 'ws';
import { lumaSeries, measureAvSync, type AvSyncResult } from './fixtures/av-sync.js';
import { leftoversAfter } from './fixtures/leftovers.js';
import { probe } from './fixtures/media.js';
import { disposeRtc, startPublisher, type Publisher, type PublisherOptions } from './fixtures/publisher.js';
import {
  egressClient,
  recorderPid,
  type RunningService,
  stackEnv,
  startService,
  TERMINAL,
  waitForStatus,
} from './fixtures/stack.js';
import { sleep } from '@egress/shared/testing/wait';

/** Upstream's integration tests allow 300 ms; we hold ourselves to half. */
const MAX_AV_OFFSET_MS = 150;
const RECORD_MS = 8_000;
/** Flashes this close to the end of a file need not have their beep in it. */
const END_MARGIN_SEC = 0.2;

describe('SDK egress: participant, track composite, track, websocket', { timeout: 600_000 }, () => {
  const env = stackEnv();
  const rooms = new RoomServiceClient(env.wsUrl.replace(/^ws/, 'http'), env.apiKey, env.apiSecret);
  const client = egressClient();
  const publishers: Publisher[] = [];
  const roomNames: string[] = [];
  const egressIds: string[] = [];
  let svc: RunningService;

  before(async () => {
    svc = await startService();
  });

  // A publisher left running costs this process the CPU its timers need: each test stops its own.
  afterEach(async () => {
    await Promise.all(publishers.splice(0).map((p) => p.stop()));
  });

  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await disposeRtc();
    for (const r of roomNames) await rooms.deleteRoom(r).catch(() => {});
    await svc?.stop();
    assert.deepEqual(await leftoversAfter(10_000, egressIds), [], 'the egresses left something behind');
    await rm(svc.outDir, { recursive: true, force: true });
  });

  /** A fresh room with a publisher in it; resolves with the publisher's track ids. */
  async function roomWithPublisher(identity = 'flasher', more: Partial<PublisherOptions> = {}) {
    const room = `sdk-${randomBytes(4).toString('hex')}`;
    roomNames.push(room);
    const publisher = await startPublisher({ ...env, room, identity, maxDurationMs: 200_000, ...more });
    publishers.push(publisher);
    // The server lists the tracks once it has them: bounded wait.
    for (let i = 0; i < 100; i++) {
      const [p] = await rooms.listParticipants(room);
      const audio = p?.tracks.find((t) => t.type === TrackType.AUDIO)?.sid;
      const video = p?.tracks.find((t) => t.type === TrackType.VIDEO)?.sid;
      if (audio && video) return { room, publisher, audio, video };
      await sleep(100);
    }
    throw new Error(`the publisher's tracks were not listed in room ${room} within 10 s`);
  }

  /** Waits for ACTIVE and returns when it was seen. */
  async function active(info: EgressInfo): Promise<number> {
    egressIds.push(info.egressId);
    assert.equal(info.sourceType, EgressSourceType.SDK, 'the egress is an SDK one');
    const a = await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE, ...TERMINAL], 60_000);
    assert.equal(a.status, EgressStatus.EGRESS_ACTIVE, `${a.egressId} active (${a.error})`);
    return Date.now();
  }

  /** Stops an egress that was active from `t0` and waits for it to complete. */
  async function stopAndWait(info: EgressInfo, t0: number): Promise<{ end: EgressInfo; activeMs: number }> {
    const activeMs = Date.now() - t0;
    await client.stopEgress(info.egressId);
    const end = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE, `${end.egressId}: ${end.error}`);
    return { end, activeMs };
  }

  /** Records for RECORD_MS, stops, and returns the final info and the active time. */
  async function recordAndStop(info: EgressInfo): Promise<{ end: EgressInfo; activeMs: number }> {
    const t0 = await active(info);
    await sleep(RECORD_MS);
    return stopAndWait(info, t0);
  }

  /** The recorder's pacing summary for an egress (frames written and shown, audio resyncs). */
  function pacing(egressId: string): string {
    const line = svc.logs.find((l) => l.includes(egressId) && l.includes('paced '));
    const ages = svc.logs.find((l) => l.includes(egressId) && l.includes('video frames handled'));
    const pick = (l: string | undefined, re: RegExp) => (l ? (re.exec(l)?.[0] ?? l) : '');
    return `${pick(line, /paced [^"]*/) || '(no pacing line)'}; ${pick(ages, /video frames handled [^"]*/)}`;
  }

  /**
   * Flashes without their beep, leaving out two that cannot have one: a flash in the last moments (its beep
   * arrives just past the end) and one before the first audio reached the recorder (the pacing line says when:
   * subscriptions complete one by one).
   */
  function unpaired(sync: AvSyncResult, durationSec: number, egressId: string): number[] {
    const m = /first audio at (\d+) ms/.exec(pacing(egressId));
    assert.ok(m, `the pacing line of ${egressId} says when the first audio came`);
    const audioFrom = Number(m[1]) / 1000;
    return sync.unpairedFlashes.filter((f) => f < durationSec - END_MARGIN_SEC && f >= audioFrom);
  }

  /** How often the publishers' audio ran dry (a dry run delays the sound: the publisher's fault, not ours). */
  function underruns(): string {
    return `publisher audio underruns: ${publishers.map((p) => `${p.identity} ${p.audioUnderruns}`).join(', ')}`;
  }

  function near(t: TestContext, what: string, sec: number, ms: number): void {
    t.diagnostic(`${what}: ${sec.toFixed(2)} s of media for ${ms} ms active`);
    assert.ok(Math.abs(sec * 1000 - ms) <= 1500, `${what}: ${sec} s vs ${ms} ms active`);
  }

  /** ffprobe and A/V sync of an MP4 with video and audio. */
  async function checkAv(t: TestContext, end: EgressInfo, activeMs: number, size: [number, number]): Promise<void> {
    t.diagnostic(`${end.egressId}: ${pacing(end.egressId)}`);
    t.diagnostic(underruns());
    const file = end.fileResults[0]!.location;
    const p = await probe(file);
    assert.deepEqual([p.video?.codec_name, p.video?.width, p.video?.height], ['h264', ...size]);
    assert.equal(p.audio?.codec_name, 'aac');
    near(t, path.basename(file), p.durationSec, activeMs);
    const sync = await measureAvSync(file);
    t.diagnostic(
      `A/V offsets (ms, + = audio late): ${sync.offsetsMs.map((o) => o.toFixed(0)).join(' ')}; ` +
        `median ${sync.medianMs.toFixed(1)}, worst ${sync.worstMs.toFixed(1)}`,
    );
    assert.ok(sync.flashes.length >= Math.floor(activeMs / 1000) - 2, `${sync.flashes.length} flashes found`);
    assert.deepEqual(unpaired(sync, p.durationSec, end.egressId), [], 'every flash has its beep');
    for (const o of sync.offsetsMs) assert.ok(Math.abs(o) <= MAX_AV_OFFSET_MS, `A/V offset ${o.toFixed(1)} ms`);
  }

  it('participant egress records the camera and microphone to MP4 in sync', async (t) => {
    const { room } = await roomWithPublisher();
    const info = await client.startParticipantEgress(room, 'flasher', {
      file: new EncodedFileOutput({ filepath: 'participant/{room_name}.mp4' }),
    });
    const { end, activeMs } = await recordAndStop(info);
    assert.equal(end.fileResults.length, 1);
    await checkAv(t, end, activeMs, [1280, 720]);
  });

  it('participant egress feeds HLS segments and JPEG images from the same encode', async (t) => {
    const { room } = await roomWithPublisher();
    const info = await client.startParticipantEgress(room, 'flasher', {
      segments: new SegmentedFileOutput({ filenamePrefix: 'p-hls/seg', segmentDuration: 2 }),
      images: new ImageOutput({ captureInterval: 2, width: 320, height: 180, filenamePrefix: 'p-img/snap' }),
    });
    const { end, activeMs } = await recordAndStop(info);
    const seg = end.segmentResults[0]!;
    const playlist = (await readFile(seg.playlistLocation, 'utf8')).split('\n');
    assert.ok(playlist.includes('#EXT-X-ENDLIST'), 'the playlist is closed');
    const segments = playlist.filter((l) => l.endsWith('.ts'));
    assert.equal(BigInt(segments.length), seg.segmentCount);
    let total = 0;
    for (const name of segments) {
      const m = await probe(path.join(path.dirname(seg.playlistLocation), name));
      assert.deepEqual([m.video?.codec_name, m.audio?.codec_name], ['h264', 'aac'], name);
      total += m.durationSec;
    }
    near(t, 'segments', total, activeMs);
    const img = end.imageResults[0]!;
    assert.equal(img.filenamePrefix, 'p-img/snap');
    const imgDir = path.join(svc.outDir, 'p-img');
    const jpegs = (await readdir(imgDir)).filter((f) => f.endsWith('.jpeg')).sort();
    assert.equal(BigInt(jpegs.length), img.imageCount);
    assert.ok(jpegs.length >= 3, `${jpegs.length} images`);
    const im = await probe(path.join(imgDir, jpegs[0]!));
    assert.deepEqual([im.video?.codec_name, im.video?.width, im.video?.height], ['mjpeg', 320, 180]);
  });

  it('track composite egress records the two tracks to MP4 in sync', async (t) => {
    const { room, audio, video } = await roomWithPublisher();
    const info = await client.startTrackCompositeEgress(
      room,
      { file: new EncodedFileOutput({ filepath: 'composite/{room_name}.mp4' }) },
      { audioTrackId: audio, videoTrackId: video },
    );
    const { end, activeMs } = await recordAndStop(info);
    await checkAv(t, end, activeMs, [1280, 720]);
  });

  it('the unified request with a MediaSource records like a participant egress', async (t) => {
    const { room } = await roomWithPublisher();
    const info = await client.startEgress(
      new StartEgressRequest({
        roomName: room,
        source: {
          case: 'media',
          value: new MediaSource({
            video: { case: 'participantVideo', value: new ParticipantVideo({ identity: 'flasher' }) },
            audio: { captureAll: true, routes: [] },
          }),
        },
        outputs: [new Output({ config: { case: 'file', value: new EncodedFileOutput({ filepath: 'media/x.mp4' }) } })],
      }),
    );
    const { end, activeMs } = await recordAndStop(info);
    await checkAv(t, end, activeMs, [1280, 720]);
  });

  it('track egress writes an audio track to OGG/Opus and a video track to MP4/H.264 at its size', async (t) => {
    const { room, audio, video } = await roomWithPublisher();
    // One after the other, so each one's ACTIVE is seen when it happens.
    const a = await client.startTrackEgress(room, new DirectFileOutput({ filepath: 'track/{track_id}' }), audio);
    const ta = await active(a);
    const v = await client.startTrackEgress(room, new DirectFileOutput({ filepath: 'track/{track_id}' }), video);
    const tv = await active(v);
    await sleep(RECORD_MS);
    const [ra, rv] = await Promise.all([stopAndWait(a, ta), stopAndWait(v, tv)]);
    const ogg = ra.end.fileResults[0]!;
    assert.equal(path.basename(ogg.location), `${audio}.ogg`);
    const pa = await probe(ogg.location);
    assert.equal(pa.audio?.codec_name, 'opus');
    assert.equal(pa.video, undefined);
    near(t, 'ogg', pa.durationSec, ra.activeMs);
    const mp4 = rv.end.fileResults[0]!;
    assert.equal(path.basename(mp4.location), `${video}.mp4`);
    const pv = await probe(mp4.location);
    assert.deepEqual([pv.video?.codec_name, pv.video?.width, pv.video?.height], ['h264', 640, 360]);
    assert.equal(pv.audio, undefined);
    near(t, 'mp4', pv.durationSec, rv.activeMs);
  });

  it('track egress writes a video track to WebM/VP8 when asked, named by its publisher, kind and source', async (t) => {
    const { room, video } = await roomWithPublisher();
    const v = await client.startTrackEgress(
      room,
      new DirectFileOutput({ filepath: 'track/{publisher_identity}/{track_type}-{track_source}-{track_id}.webm' }),
      video,
    );
    const tv = await active(v);
    await sleep(RECORD_MS);
    const { end, activeMs } = await stopAndWait(v, tv);
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE, end.error);
    const webm = end.fileResults[0]!;
    assert.equal(path.basename(webm.location), `video-camera-${video}.webm`);
    assert.equal(path.basename(path.dirname(webm.location)), 'flasher');
    // The manifest goes next to the file, in the directory its placeholders named.
    assert.equal(end.manifestLocation, path.join(path.dirname(webm.location), `${v.egressId}.json`));
    const manifest = JSON.parse(await readFile(end.manifestLocation, 'utf8')) as Record<string, unknown> & {
      files: { location: string }[];
    };
    assert.deepEqual(
      [manifest.track_id, manifest.track_kind, manifest.track_source, manifest.publisher_identity],
      [video, 'video', 'camera', 'flasher'],
    );
    assert.deepEqual(
      manifest.files.map((f) => f.location),
      [webm.location],
    );
    const p = await probe(webm.location);
    assert.deepEqual([p.video?.codec_name, p.video?.width, p.video?.height], ['vp8', 640, 360]);
    assert.equal(p.audio, undefined);
    near(t, 'webm', p.durationSec, activeMs);
  });

  it('track egress keeps a file named after a hostile publisher identity inside local_output_dir', async () => {
    const escape = `egress-e2e-escape-${randomBytes(4).toString('hex')}`;
    // Unsanitised, "track/{publisher_identity}" would climb two levels, out of local_output_dir.
    const outside = path.join(path.dirname(svc.outDir), `${escape}-audio.ogg`);
    try {
      const { room, audio } = await roomWithPublisher(`../../${escape}`);
      const a = await client.startTrackEgress(
        room,
        new DirectFileOutput({ filepath: 'track/{publisher_identity}-{track_type}' }),
        audio,
      );
      const ta = await active(a);
      await sleep(1_000);
      const { end } = await stopAndWait(a, ta);
      const file = end.fileResults[0]!;
      assert.equal(file.location, path.join(svc.outDir, 'track', `___.._${escape}-audio.ogg`));
      assert.equal(file.filename, `track/___.._${escape}-audio.ogg`);
      assert.ok((await stat(file.location)).size > 0);
      await assert.rejects(stat(outside), { code: 'ENOENT' }, 'nothing was written outside local_output_dir');
    } finally {
      await rm(outside, { force: true });
    }
  });

  it('track egress sends an audio track to a websocket as raw PCM', async (t) => {
    const { room, audio } = await roomWithPublisher();
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const chunks: Buffer[] = [];
    const texts: string[] = [];
    let contentType: string | undefined;
    wss.on('connection', (ws, req) => {
      contentType = req.headers['content-type'];
      ws.on('message', (data, binary) => {
        if (binary) chunks.push(data as Buffer);
        else texts.push(String(data));
      });
    });
    try {
      const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/pcm`;
      const info = await client.startTrackEgress(room, url, audio);
      const { activeMs } = await recordAndStop(info);
      assert.equal(contentType, 'audio/x-raw');
      const raw = path.join(svc.outDir, 'ws.raw');
      await writeFile(raw, Buffer.concat(chunks));
      const { execFile } = await import('node:child_process');
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          'ffprobe',
          [
            '-v',
            'error',
            '-f',
            's16le',
            '-ar',
            '48000',
            '-ac',
            '2',
            '-show_entries',
            'format=duration',
            '-of',
            'csv=p=0',
            raw,
          ],
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      );
      near(t, 'websocket PCM', Number(out), activeMs);
      // The beeps are in it: some samples are loud.
      const pcm = Buffer.concat(chunks);
      let loud = 0;
      for (let i = 0; i + 1 < pcm.length; i += 2) if (Math.abs(pcm.readInt16LE(i)) > 8000) loud++;
      assert.ok(loud > 48_000 * 0.05, `${loud} loud samples: the beeps arrived`);
      t.diagnostic(`text frames: ${texts.join(' ') || '(none)'}`);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  });

  it('a participant egress ends COMPLETE with a valid file when the participant leaves', async (t) => {
    const { room, publisher } = await roomWithPublisher('leaver');
    const info = await client.startParticipantEgress(room, 'leaver', {
      file: new EncodedFileOutput({ filepath: 'leaver/{room_name}.mp4' }),
    });
    const t0 = await active(info);
    await sleep(RECORD_MS / 2);
    const leftMs = Date.now() - t0;
    await publisher.stop();
    const end = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE, end.error);
    const p = await probe(end.fileResults[0]!.location);
    assert.deepEqual([p.video?.codec_name, p.audio?.codec_name], ['h264', 'aac']);
    t.diagnostic(`ended: ${end.details}`);
    // The end comes once the server reports the departure, after the publisher left.
    assert.ok(p.durationSec * 1000 >= leftMs - 1500, `${p.durationSec} s recorded, left after ${leftMs} ms`);
  });

  it('a track egress ends COMPLETE with a valid file when its publisher leaves', async (t) => {
    const { room, publisher, audio } = await roomWithPublisher('track-leaver');
    const info = await client.startTrackEgress(
      room,
      new DirectFileOutput({ filepath: 'track-leaver/{track_id}' }),
      audio,
    );
    const t0 = await active(info);
    await sleep(RECORD_MS / 2);
    const leftMs = Date.now() - t0;
    await publisher.stop();
    const end = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE, end.error);
    t.diagnostic(`ended: ${end.details}`);
    const p = await probe(end.fileResults[0]!.location);
    assert.equal(p.audio?.codec_name, 'opus');
    assert.ok(p.durationSec * 1000 >= leftMs - 1500, `${p.durationSec} s recorded, left after ${leftMs} ms`);
  });

  it('deleting the room completes the egress with its file finalized', async (t) => {
    const { room, audio, video } = await roomWithPublisher();
    const info = await client.startTrackCompositeEgress(
      room,
      { file: new EncodedFileOutput({ filepath: 'deleted/{room_name}.mp4' }) },
      { audioTrackId: audio, videoTrackId: video },
    );
    const t0 = await active(info);
    await sleep(RECORD_MS / 2);
    const activeMs = Date.now() - t0;
    await rooms.deleteRoom(room);
    const end = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE, end.error);
    t.diagnostic(`ended: ${end.details}`);
    await checkAv(t, end, activeMs, [1280, 720]);
  });

  it('removing the recorder from the room completes the egress with its file finalized', async (t) => {
    const { room, audio } = await roomWithPublisher();
    const info = await client.startTrackCompositeEgress(
      room,
      { file: new EncodedFileOutput({ filepath: 'removed/{room_name}.ogg' }) },
      { audioTrackId: audio },
    );
    const t0 = await active(info);
    await sleep(RECORD_MS / 2);
    const activeMs = Date.now() - t0;
    // The recorder's identity is the egress id.
    await rooms.removeParticipant(room, info.egressId);
    const end = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE, end.error);
    t.diagnostic(`ended: ${end.details}`);
    const p = await probe(end.fileResults[0]!.location);
    assert.deepEqual([p.audio?.codec_name, p.video], ['opus', undefined]);
    near(t, 'ogg', p.durationSec, activeMs);
  });

  it('a video track egress whose recorder is killed keeps its MP4 and goes on in a second part', async (t) => {
    const { room, video } = await roomWithPublisher('restarted');
    const info = await client.startTrackEgress(room, new DirectFileOutput({ filepath: 'killed/{track_type}' }), video);
    const t0 = await active(info);
    // An SDK recording is active before gst-launch reaches PLAYING: killed once its MP4 holds media (bounded).
    const capture = path.join(svc.tmpDir, info.egressId, 'capture.mp4');
    const held = async () => (await stat(capture).catch(() => undefined))?.size ?? 0;
    for (let i = 0; i < 150 && (await held()) === 0; i++) await sleep(100);
    const scratch = await readdir(path.dirname(capture)).catch((err: Error) => [err.message]);
    assert.ok((await held()) > 0, `the capture is an MP4 with media (${await held()} bytes; ${scratch.join(' ')})`);
    await sleep(3000);
    // The supervisor finalizes what the dead recorder captured (the track's MP4, not the audio file the plan
    // starts from) and restarts the recording into a second part.
    process.kill(await recorderPid(svc, info.egressId), 'SIGKILL');
    await sleep(5000);
    const { end } = await stopAndWait(info, t0);
    t.diagnostic(`${end.details}; files ${end.fileResults.map((f) => f.filename).join(', ')}`);
    for (const l of svc.logs.filter((x) => x.includes(info.egressId) && /salvag/.test(x))) t.diagnostic(l);
    assert.deepEqual(
      end.fileResults.map((f) => path.basename(f.location)),
      ['video.mp4', 'video-part2.mp4'],
    );
    for (const f of end.fileResults) {
      const p = await probe(f.location);
      assert.deepEqual([p.video?.codec_name, p.audio], ['h264', undefined], f.location);
      assert.ok(p.durationSec > 1.5, `${f.location}: ${p.durationSec} s`);
    }
  });

  it('a participant egress goes on in black when the camera is unpublished, the sound in sync', async (t) => {
    const { room, publisher } = await roomWithPublisher('unpublisher');
    const info = await client.startParticipantEgress(room, 'unpublisher', {
      file: new EncodedFileOutput({ filepath: 'unpublish/{room_name}.mp4' }),
    });
    const t0 = await active(info);
    await sleep(4000);
    const goneMs = Date.now() - t0;
    await publisher.unpublishVideo();
    await sleep(4000);
    const { end, activeMs } = await stopAndWait(info, t0);
    const file = end.fileResults[0]!.location;
    const p = await probe(file);
    assert.deepEqual([p.video?.codec_name, p.audio?.codec_name], ['h264', 'aac']);
    near(t, 'unpublish.mp4', p.durationSec, activeMs);
    const [sync, luma] = await Promise.all([measureAvSync(file), lumaSeries(file)]);
    t.diagnostic(`${pacing(end.egressId)}; camera unpublished after ${goneMs} ms`);
    // A second after the unpublish (the server's round trip), every frame is black, and the beeps go on.
    const after = luma.values.filter((_, i) => luma.times[i]! * 1000 > goneMs + 1000);
    assert.ok(after.length >= 60, `${after.length} frames after the unpublish: the video did not stall`);
    assert.ok(Math.max(...after) < 20, `black after the unpublish (mean luma up to ${Math.max(...after).toFixed(1)})`);
    const laterBeeps = sync.beeps.filter((b) => b * 1000 > goneMs + 1000);
    assert.ok(laterBeeps.length >= 2, `${laterBeeps.length} beeps after the unpublish`);
    const before = sync.flashes.filter((f) => f * 1000 < goneMs);
    assert.ok(before.length >= 2, `${before.length} flashes before the unpublish`);
    assert.deepEqual(unpaired(sync, p.durationSec, end.egressId), [], 'every flash has its beep');
    for (const o of sync.offsetsMs) assert.ok(Math.abs(o) <= MAX_AV_OFFSET_MS, `A/V offset ${o.toFixed(1)} ms`);
  });

  it('a participant egress with screen_share records the screen share, without it the camera', async (t) => {
    // The camera is dark grey (luma ~43) with white flashes, the screen share plain red (luma ~81).
    const { room } = await roomWithPublisher('presenter', { screenShareColor: [255, 0, 0] });
    const medians: number[] = [];
    for (const screenShare of [true, false]) {
      const info = await client.startParticipantEgress(
        room,
        'presenter',
        { file: new EncodedFileOutput({ filepath: `screen/${screenShare}.mp4` }) },
        { screenShare },
      );
      const t0 = await active(info);
      await sleep(4000);
      const { end } = await stopAndWait(info, t0);
      // Past the black before the first frame arrives.
      const luma = (await lumaSeries(end.fileResults[0]!.location)).values.filter((v) => v > 20).sort((a, b) => a - b);
      assert.ok(luma.length >= 60, `${luma.length} frames with a picture`);
      medians.push(luma[Math.floor(luma.length / 2)]!);
    }
    t.diagnostic(`median luma: screen_share ${medians[0]!.toFixed(1)}, camera ${medians[1]!.toFixed(1)}`);
    assert.ok(Math.abs(medians[0]! - 81) < 10, `the red screen share is recorded (median luma ${medians[0]})`);
    assert.ok(Math.abs(medians[1]! - 43) < 10, `the camera is recorded (median luma ${medians[1]})`);
  });

  it('muting gives black video and silence without a stall; unmuting brings both back in sync', async (t) => {
    const { room, audio, video } = await roomWithPublisher('muter');
    const info = await client.startParticipantEgress(room, 'muter', {
      file: new EncodedFileOutput({ filepath: 'mute/{room_name}.mp4' }),
    });
    const t0 = await active(info);
    await sleep(3000);
    // The server mutes the publisher's tracks (RoomService.MutePublishedTrack), as a moderator would.
    const mutedMs = Date.now() - t0;
    await Promise.all([audio, video].map((sid) => rooms.mutePublishedTrack(room, 'muter', sid, true)));
    await sleep(3000);
    const unmutedMs = Date.now() - t0;
    await Promise.all([audio, video].map((sid) => rooms.mutePublishedTrack(room, 'muter', sid, false)));
    await sleep(4000);
    const { end, activeMs } = await stopAndWait(info, t0);
    const file = end.fileResults[0]!.location;
    const p = await probe(file);
    assert.deepEqual([p.video?.codec_name, p.audio?.codec_name], ['h264', 'aac']);
    near(t, 'mute.mp4', p.durationSec, activeMs);
    const [sync, luma] = await Promise.all([measureAvSync(file), lumaSeries(file)]);
    t.diagnostic(`${pacing(end.egressId)}; muted ${mutedMs}-${unmutedMs} ms`);
    t.diagnostic(
      `flashes ${sync.flashes.map((f) => f.toFixed(2)).join(' ')}; beeps ${sync.beeps.map((b) => b.toFixed(2)).join(' ')}`,
    );
    // Inside the muted span (a second of margin each side for the server's round trips): black and no beeps.
    const inside = (s: number) => s * 1000 > mutedMs + 1000 && s * 1000 < unmutedMs - 1000;
    const mutedLuma = luma.values.filter((_, i) => inside(luma.times[i]!));
    assert.ok(mutedLuma.length >= 20, `${mutedLuma.length} frames while muted: the video did not stall`);
    assert.ok(Math.max(...mutedLuma) < 20, `black while muted (mean luma up to ${Math.max(...mutedLuma).toFixed(1)})`);
    assert.deepEqual(sync.beeps.filter(inside), [], 'no beep while muted');
    // Before the mute and after the unmute, the flashes and beeps are there and in sync.
    const before = sync.flashes.filter((f) => f * 1000 < mutedMs);
    const after = sync.flashes.filter((f) => f * 1000 > unmutedMs + 1000);
    assert.ok(before.length >= 1 && after.length >= 2, `${before.length} flashes before, ${after.length} after`);
    assert.deepEqual(unpaired(sync, p.durationSec, end.egressId), [], 'every flash has its beep');
    for (const o of sync.offsetsMs) assert.ok(Math.abs(o) <= MAX_AV_OFFSET_MS, `A/V offset ${o.toFixed(1)} ms`);
  });

  it('a participant who joins late is recorded from when they join, black and silent before', async (t) => {
    const room = `sdk-${randomBytes(4).toString('hex')}`;
    roomNames.push(room);
    await rooms.createRoom({ name: room, emptyTimeout: 60 });
    const info = await client.startParticipantEgress(room, 'late', {
      file: new EncodedFileOutput({ filepath: 'late/{room_name}.mp4' }),
    });
    const t0 = await active(info);
    await sleep(3000);
    const joinedMs = Date.now() - t0;
    publishers.push(await startPublisher({ ...env, room, identity: 'late', maxDurationMs: 60_000 }));
    await sleep(RECORD_MS - 3000);
    const { end, activeMs } = await stopAndWait(info, t0);
    const file = end.fileResults[0]!.location;
    const p = await probe(file);
    assert.deepEqual([p.video?.codec_name, p.audio?.codec_name], ['h264', 'aac']);
    near(t, 'late.mp4', p.durationSec, activeMs);
    const sync = await measureAvSync(file);
    t.diagnostic(`joined after ${joinedMs} ms; flashes at ${sync.flashes.map((f) => f.toFixed(2)).join(' ')}`);
    t.diagnostic(`beeps at ${sync.beeps.map((b) => b.toFixed(2)).join(' ')}; ${underruns()}; ${pacing(end.egressId)}`);
    assert.ok(sync.flashes.length >= 3, `${sync.flashes.length} flashes after the join`);
    assert.ok((sync.flashes[0] ?? 0) * 1000 >= joinedMs - 500, 'nothing flashes before the participant joined');
    assert.deepEqual(unpaired(sync, p.durationSec, end.egressId), [], 'every flash has its beep');
  });
});
