import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  EgressStatus,
  EncodedFileOutput,
  ImageOutput,
  SegmentedFileOutput,
  StreamOutput,
  StreamProtocol,
  type EgressInfo,
} from 'livekit-server-sdk';
import { StreamInfo_Status } from '@livekit/protocol';
import { descendantsOf } from '@egress/shared/host/procfs';
import { readPlaylist, type Playlist } from './fixtures/hls.js';
import { decodedVideoFrames, decodeErrors, probe } from './fixtures/media.js';
import { egressClient, freePort, recorderPid, TERMINAL, waitForStatus } from './fixtures/stack.js';
import { serviceSuite } from './fixtures/service-suite.js';
import { startRtmpServer, startSrtReceiver, type RtmpServer } from './fixtures/stream-receivers.js';
import { sleep } from '@egress/shared/testing/wait';

/** "pid comm cmdline" of `root` and every process below it. */
function processTree(root: number): string[] {
  const tree = [root, ...descendantsOf(root)];
  return tree.flatMap((pid) => {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      return [`${pid} ${comm} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`];
    } catch {
      return [];
    }
  });
}

/** Every segment of a playlist decodes as H.264 + AAC; returns the playlist. */
async function checkPlaylist(file: string): Promise<Playlist> {
  const p = await readPlaylist(file);
  assert.ok(p.ended, `${file} ends with #EXT-X-ENDLIST`);
  for (const s of p.segments) {
    const m = await probe(s.file);
    assert.equal(m.video?.codec_name, 'h264', s.file);
    assert.equal(m.audio?.codec_name, 'aac', s.file);
    assert.ok(
      Math.abs(m.durationSec - s.duration) < 0.6,
      `${s.file}: probed ${m.durationSec} s, listed ${s.duration} s`,
    );
  }
  return p;
}

describe('outputs: file + HLS + RTMP + images from one encode, SRT, UpdateStream, limits', () => {
  let rtmp: RtmpServer;
  const client = egressClient();

  const suite = serviceSuite(
    'cpu_cost: { web_cpu_cost: 0.5, max_cpu_utilization: 1.0 }\nsession_limits: { segment_output_max_duration: 0 }',
    {
      startExtras: async () => {
        rtmp = await startRtmpServer(['goodkey1', 'goodkey2']);
      },
      stopExtras: async () => {
        await rtmp?.stop();
      },
    },
  );

  test('one egress writes a file, HLS, images and RTMP streams; bad URLs fail alone; UpdateStream adds and removes', async () => {
    const deadPort = await freePort();
    const good1 = rtmp.url('goodkey1');
    const good2 = rtmp.url('goodkey2');
    const wrongKey = rtmp.url('wrongkey9');
    const dead = `rtmp://127.0.0.1:${deadPort}/live/deadkey7`;
    const info = await client.startWebEgress(suite.page.urlFor(), {
      file: new EncodedFileOutput({ filepath: 'multi/{room_name}file.mp4' }),
      stream: new StreamOutput({ protocol: StreamProtocol.RTMP, urls: [good1, wrongKey, dead] }),
      segments: new SegmentedFileOutput({
        filenamePrefix: 'multi/hls/seg',
        livePlaylistName: 'live.m3u8',
        segmentDuration: 2,
      }),
      images: new ImageOutput({ captureInterval: 2, width: 320, height: 180, filenamePrefix: 'multi/img/snap' }),
    });
    // The request copy never shows a stream key.
    const [listedAtStart] = await client.listEgress({ egressId: info.egressId });
    assert.doesNotMatch(JSON.stringify(listedAtStart?.toJson()), /goodkey1|wrongkey9|deadkey7/);
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);

    // The wrong key and the dead host fail on their own, quickly; the good stream keeps going.
    const deadline = Date.now() + 20_000;
    let streams: EgressInfo['streamResults'] = [];
    while (Date.now() < deadline) {
      const [cur] = await client.listEgress({ egressId: info.egressId });
      streams = cur?.streamResults ?? [];
      if (
        streams.filter((s) => s.status === StreamInfo_Status.FAILED).length === 2 &&
        streams.some((s) => s.startedAt > 0n)
      )
        break;
      await sleep(200);
    }
    const byKey = (k: string) => streams.find((s) => s.url.includes(`{${k.slice(0, 2)}...${k.slice(-2)}}`));
    assert.equal(byKey('wrongkey9')?.status, StreamInfo_Status.FAILED, JSON.stringify(streams));
    assert.equal(byKey('deadkey7')?.status, StreamInfo_Status.FAILED);
    assert.match(byKey('deadkey7')?.error ?? '', /refused|connect/i);
    assert.equal(byKey('goodkey1')?.status, StreamInfo_Status.ACTIVE);
    assert.ok((byKey('goodkey1')?.startedAt ?? 0n) > 0n, 'the good stream reports when it connected');
    assert.deepEqual(rtmp.refused, ['wrongkey9']);
    for (const s of streams) assert.doesNotMatch(s.url + s.error, /goodkey1|wrongkey9|deadkey7/);

    // UpdateStream: a second destination joins mid-recording, the first leaves.
    await sleep(3000);
    const added = await client.updateStream(info.egressId, [good2], []);
    assert.equal(added.streamResults.length, 4);
    await assert.rejects(client.updateStream(info.egressId, ['http://nope/x/y'], []), /add_output_urls\[0\]/);
    await sleep(4000);
    const removed = await client.updateStream(info.egressId, [], [good1]);
    const first = removed.streamResults.find((s) => s.url.includes('{go...y1}'));
    assert.equal(first?.status, StreamInfo_Status.FINISHED);
    await sleep(4000);

    await client.stopEgress(info.egressId);
    const done = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);

    // File.
    const file = done.fileResults[0]!;
    const fm = await probe(file.location);
    assert.equal(fm.video?.codec_name, 'h264');
    assert.equal(fm.audio?.codec_name, 'aac');
    assert.ok(fm.durationSec > 10, `file holds ${fm.durationSec} s`);

    // HLS: both playlists closed, every segment decodes, SegmentsInfo matches the playlist.
    const seg = done.segmentResults[0]!;
    // Upstream's SegmentsInfo names the playlists within the requested directory.
    assert.deepEqual([seg.playlistName, seg.livePlaylistName], ['multi/hls/seg.m3u8', 'multi/hls/live.m3u8']);
    const event = await checkPlaylist(seg.playlistLocation);
    assert.ok(event.tags.includes('#EXT-X-PLAYLIST-TYPE:EVENT'));
    assert.ok(event.tags.some((t) => t.startsWith('#EXT-X-PROGRAM-DATE-TIME:')));
    assert.equal(BigInt(event.segments.length), seg.segmentCount);
    assert.ok(event.segments.length >= 5, `${event.segments.length} segments`);
    assert.deepEqual(
      event.segments.slice(0, 2).map((s) => path.basename(s.file)),
      ['seg_00000.ts', 'seg_00001.ts'],
    );
    const live = await checkPlaylist(seg.livePlaylistLocation);
    assert.equal(live.segments.length, 5);
    assert.deepEqual(live.segments, event.segments.slice(-5));
    const total = event.segments.reduce((a, s) => a + s.duration, 0);
    assert.ok(Math.abs(Number(seg.duration) / 1e9 - total) < 0.01);

    // Images: JPEGs at the requested size, as many as ImagesInfo says.
    const img = done.imageResults[0]!;
    // Upstream's ImagesInfo names the requested prefix; the images are under the output dir.
    assert.equal(img.filenamePrefix, 'multi/img/snap');
    const imgDir = path.join(suite.svc.outDir, 'multi/img');
    const jpegs = (await readdir(imgDir)).filter((f) => f.endsWith('.jpeg')).sort();
    assert.equal(BigInt(jpegs.length), img.imageCount);
    assert.ok(jpegs.length >= 5, `${jpegs.length} images`);
    assert.equal(jpegs[0], 'snap_00000.jpeg');
    const im = await probe(path.join(imgDir, jpegs[0]!));
    assert.equal(im.video?.codec_name, 'mjpeg');
    assert.equal(im.video?.width, 320);
    assert.equal(im.video?.height, 180);

    // The manifest lists the file, every segment of the playlist and every image.
    const manifest = JSON.parse(await readFile(done.manifestLocation, 'utf8')) as {
      files: { filename: string; location: string }[];
      playlists: { location: string; segments: { filename: string; location: string }[] }[];
      images: { filename: string; location: string; timestamp: string }[];
    };
    assert.deepEqual(
      manifest.files.map((f) => [f.filename, f.location]),
      [[file.filename, file.location]],
    );
    // Upstream's names are storage paths: the requested directory and the file's name.
    assert.deepEqual(
      manifest.playlists[0]?.segments.map((x) => x.filename),
      event.segments.map((x) => `multi/hls/${path.basename(x.file)}`),
    );
    assert.deepEqual(
      manifest.images.map((i) => i.filename).sort(),
      jpegs.map((j) => `multi/img/${j}`),
    );
    assert.equal(manifest.playlists[0]?.location, seg.playlistLocation);
    assert.deepEqual(
      manifest.playlists[0]?.segments.map((x) => x.location),
      event.segments.map((x) => x.file),
    );
    assert.equal(manifest.images.length, jpegs.length);
    // Upstream's image times are a Go time.Time: RFC 3339 text.
    for (const i of manifest.images) assert.match(i.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    // Streams: what nginx recorded is H.264 + AAC, for both good keys.
    const final = (k: string) => done.streamResults.find((s) => s.url.includes(`{${k.slice(0, 2)}...${k.slice(-2)}}`));
    assert.equal(final('goodkey1')?.status, StreamInfo_Status.FINISHED);
    assert.equal(final('goodkey2')?.status, StreamInfo_Status.FINISHED);
    assert.equal(final('wrongkey9')?.status, StreamInfo_Status.FAILED);
    for (const key of ['goodkey1', 'goodkey2']) {
      const [flv] = await rtmp.recordings(key);
      assert.ok(flv, `nginx recorded ${key}`);
      const m = await probe(flv);
      assert.equal(m.video?.codec_name, 'h264', key);
      assert.equal(m.audio?.codec_name, 'aac', key);
      assert.ok(m.durationSec > 3, `${key}: ${m.durationSec} s`);
      assert.equal(await decodeErrors(flv), '', `${key} decodes cleanly from its first frame`);
    }
    // Keys never reach the logs.
    assert.equal(suite.svc.logs.filter((l) => /goodkey1|goodkey2|wrongkey9|deadkey7/.test(l)).length, 0);
  });

  test('SRT: the listener receives a decodable TS; a dead SRT URL fails alone', async () => {
    const srt = await startSrtReceiver();
    try {
      const dead = `srt://127.0.0.1:${await freePort()}`;
      const info = await client.startWebEgress(suite.page.urlFor(), {
        stream: new StreamOutput({ protocol: StreamProtocol.SRT, urls: [srt.url, dead] }),
      });
      await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
      await sleep(8000);
      const [mid] = await client.listEgress({ egressId: info.egressId });
      assert.equal(mid?.status, EgressStatus.EGRESS_ACTIVE, 'one failing URL does not end the egress');
      await client.stopEgress(info.egressId);
      const done = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
      assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
      const statuses = done.streamResults.map((s) => [s.url, StreamInfo_Status[s.status]]);
      assert.deepEqual(statuses, [
        [srt.url, 'FINISHED'],
        [dead, 'FAILED'],
      ]);
      await srt.stop();
      const m = await probe(srt.file);
      assert.equal(m.video?.codec_name, 'h264');
      assert.equal(m.audio?.codec_name, 'aac');
      assert.ok(m.durationSec > 5, `received ${m.durationSec} s`);
      // SRT drops what is sent before its handshake completes, as receivers expect: a player starts at the next
      // key frame (2 s at most). From there on every frame decodes.
      const frames = await decodedVideoFrames(srt.file);
      assert.ok(frames >= (m.durationSec - 2.5) * 30, `${frames} frames decode of ${m.durationSec} s`);
    } finally {
      await srt.remove();
    }
  });

  test('no stream key, SRT passphrase or streamid is in any argv of the recorder; the receivers still get the streams', async () => {
    const key = 'canaryKey4711';
    const passphrase = 'canaryPassphrase0815';
    const streamid = 'canaryStreamId42';
    const secrets = [key, passphrase, streamid];
    const keyed = await startRtmpServer([key]);
    const srt = await startSrtReceiver({ passphrase });
    let running: string | undefined;
    try {
      const cases: [StreamOutput, () => Promise<boolean>][] = [
        [
          new StreamOutput({ protocol: StreamProtocol.RTMP, urls: [keyed.url(key)] }),
          async () => (await keyed.recordings(key)).length > 0,
        ],
        [
          new StreamOutput({
            protocol: StreamProtocol.SRT,
            urls: [`${srt.url}?streamid=${streamid}&passphrase=${passphrase}`],
          }),
          async () => (await stat(srt.file)).size > 0,
        ],
      ];
      for (const [stream, receiving] of cases) {
        const info = await client.startWebEgress(suite.page.urlFor(), { stream });
        running = info.egressId;
        await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
        const pid = await recorderPid(suite.svc, info.egressId);
        // Looked at while the receiver gets the stream.
        for (let i = 0; i < 120 && !(await receiving()); i++) await sleep(250);
        const tree = processTree(pid);
        const gst = tree.filter((l) => l.split(' ')[1] === 'gst-launch-1.0');
        assert.ok(gst.length >= 2, `capture and stream sender are known as gst-launch-1.0: ${tree.join(' | ')}`);
        assert.deepEqual(
          tree.filter((l) => secrets.some((secret) => l.includes(secret))),
          [],
          'no secret in the argv of any process',
        );
        await sleep(3000);
        await client.stopEgress(info.egressId);
        const done = await waitForStatus(client, info.egressId, TERMINAL, 30_000);
        running = undefined;
        assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
        assert.equal(done.streamResults[0]?.status, StreamInfo_Status.FINISHED, done.streamResults[0]?.error);
      }
      // The secrets reached the senders: nginx-rtmp accepted the key, the SRT listener decrypted with its passphrase.
      assert.deepEqual(keyed.refused, []);
      const [flv] = await keyed.recordings(key);
      assert.equal((await probe(flv!)).video?.codec_name, 'h264');
      await srt.stop();
      const m = await probe(srt.file);
      assert.equal(m.video?.codec_name, 'h264');
      assert.ok(m.durationSec > 2, `received ${m.durationSec} s`);
    } finally {
      // A failed check leaves no egress running into the next test.
      if (running) await client.stopEgress(running).catch(() => undefined);
      await srt.remove();
      await keyed.stop();
    }
  });

  test('a stream-only egress ends COMPLETE when UpdateStream removes its last URL, FAILED when every URL fails', async () => {
    const info = await client.startWebEgress(suite.page.urlFor(), {
      stream: new StreamOutput({ protocol: StreamProtocol.RTMP, urls: [rtmp.url('goodkey1')] }),
    });
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    await sleep(3000);
    await client.updateStream(info.egressId, [], [rtmp.url('goodkey1')]);
    const done = await waitForStatus(client, info.egressId, TERMINAL, 30_000);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
    assert.match(done.details, /All streams stopped/);

    const bad = await client.startWebEgress(suite.page.urlFor(), {
      stream: new StreamOutput({ protocol: StreamProtocol.RTMP, urls: [rtmp.url('wrongkey8')] }),
    });
    const failed = await waitForStatus(client, bad.egressId, TERMINAL, 30_000);
    assert.equal(failed.status, EgressStatus.EGRESS_FAILED);
    assert.match(failed.error, /every stream output failed/);
    assert.doesNotMatch(failed.error, /wrongkey8/);
  });

  test('a destination that drops is reconnected and counted as a retry; the stream goes on', async () => {
    const info = await client.startWebEgress(suite.page.urlFor(), {
      stream: new StreamOutput({ protocol: StreamProtocol.RTMP, urls: [rtmp.url('goodkey2')] }),
    });
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    await sleep(4000);
    const before = (await rtmp.recordings('goodkey2')).length;
    await rtmp.bounce(2000);
    const deadline = Date.now() + 30_000;
    let st: EgressInfo['streamResults'][number] | undefined;
    while (Date.now() < deadline) {
      const [cur] = await client.listEgress({ egressId: info.egressId });
      st = cur?.streamResults[0];
      if (st && st.retries > 0 && (await rtmp.recordings('goodkey2')).length > before) break;
      await sleep(250);
    }
    assert.equal(st?.status, StreamInfo_Status.ACTIVE, st?.error);
    assert.ok((st?.retries ?? 0) >= 1 && (st?.lastRetryAt ?? 0n) > 0n, `retries ${st?.retries}`);
    await sleep(4000);
    await client.stopEgress(info.egressId);
    const done = await waitForStatus(client, info.egressId, TERMINAL, 30_000);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
    assert.equal(done.streamResults[0]?.status, StreamInfo_Status.FINISHED);
    const flvs = await rtmp.recordings('goodkey2');
    const last = await probe(flvs.at(-1)!);
    assert.equal(last.video?.codec_name, 'h264');
    assert.ok(last.durationSec > 2, `after the reconnect: ${last.durationSec} s`);
  });

  test('UpdateStream on an egress without streams is invalid_argument', async () => {
    const info = await client.startWebEgress(suite.page.urlFor(), new EncodedFileOutput({ filepath: 'nostream.mp4' }));
    try {
      await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
      await assert.rejects(client.updateStream(info.egressId, [rtmp.url('goodkey1')], []), /no stream output/);
    } finally {
      await client.stopEgress(info.egressId);
      await waitForStatus(client, info.egressId, TERMINAL, 30_000);
    }
  });
});
