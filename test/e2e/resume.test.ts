import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EgressStatus, SegmentedFileOutput, StreamOutput, StreamProtocol } from 'livekit-server-sdk';
import { StreamInfo_Status } from '@livekit/protocol';
import { readPlaylist } from './fixtures/hls.js';
import { probe } from './fixtures/media.js';
import { egressClient, recorderPid, TERMINAL, waitForStatus } from './fixtures/stack.js';
import { serviceSuite } from './fixtures/service-suite.js';
import { startRtmpServer, type RtmpServer } from './fixtures/stream-receivers.js';
import { sleep } from '@egress/shared/testing/wait';

/** The capture gst-launch of a recorder: the first one it started (stream senders come after). */
function killCapturePipeline(pgid: number): void {
  const lines = execFileSync('pgrep', ['-a', '-g', String(pgid)], { encoding: 'utf8' })
    .trim()
    .split('\n');
  const gst = lines.filter((l) => l.split(' ')[1] === 'gst-launch-1.0');
  assert.ok(gst.length >= 2, `capture and a stream sender run: ${gst.join(' | ')}`);
  const capture = gst.map((l) => Number(l.split(' ')[0])).sort((a, b) => a - b)[0]!;
  process.kill(capture, 'SIGKILL');
}

describe('a restarted recorder resumes streams and the HLS playlist', () => {
  let rtmp: RtmpServer;
  const client = egressClient();

  const suite = serviceSuite('cpu_cost: { web_cpu_cost: 0.5, max_cpu_utilization: 1.0 }\nrecorder_restarts: 1', {
    startExtras: async () => {
      rtmp = await startRtmpServer(['resumekey1']);
    },
    stopExtras: async () => {
      await rtmp?.stop();
    },
  });

  test('after gst-launch dies: same stream URL again, same playlist after a discontinuity, numbering continued', async () => {
    const info = await client.startWebEgress(suite.page.urlFor(), {
      stream: new StreamOutput({ protocol: StreamProtocol.RTMP, urls: [rtmp.url('resumekey1')] }),
      segments: new SegmentedFileOutput({
        filenamePrefix: 'resume/hls',
        livePlaylistName: 'resume/live.m3u8',
        segmentDuration: 2,
      }),
    });
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    await sleep(7000);
    const pgid = await recorderPid(suite.svc, info.egressId);
    killCapturePipeline(pgid);
    const deadline = Date.now() + 30_000;
    let restarted = false;
    while (!restarted && Date.now() < deadline) {
      const [now] = await client.listEgress({ egressId: info.egressId });
      assert.equal(now?.status, EgressStatus.EGRESS_ACTIVE, `stays ACTIVE (${now?.error})`);
      restarted = /recorder restarted \(1\/1\)/.test(now?.details ?? '');
      if (!restarted) await sleep(200);
    }
    assert.ok(restarted, 'the restart is reported');
    await sleep(8000);
    await client.stopEgress(info.egressId);
    const done = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);

    // One playlist across both recorders: numbered on, a discontinuity where the second begins, ended.
    const seg = done.segmentResults[0]!;
    const p = await readPlaylist(seg.playlistLocation);
    assert.ok(p.ended);
    assert.deepEqual(
      p.segments.map((s) => s.name),
      p.segments.map((_, i) => `hls_${String(i).padStart(5, '0')}.ts`),
    );
    const breaks = p.segments.flatMap((s, i) => (s.discontinuity ? [i] : []));
    assert.equal(breaks.length, 1, `one discontinuity: ${JSON.stringify(p.segments)}`);
    assert.ok(
      breaks[0]! >= 2 && breaks[0]! < p.segments.length - 2,
      `the break at ${breaks[0]} has segments both sides`,
    );
    assert.equal(BigInt(p.segments.length), seg.segmentCount);
    for (const s of p.segments) {
      const m = await probe(s.file);
      assert.equal(m.video?.codec_name, 'h264', s.name);
    }
    const live = await readPlaylist(seg.livePlaylistLocation);
    assert.ok(live.ended);
    assert.deepEqual(
      live.segments.map((s) => s.name),
      p.segments.slice(-5).map((s) => s.name),
    );

    // The stream went on to the same URL: one StreamInfo, a retry counted, two publishes at the server.
    assert.equal(done.streamResults.length, 1);
    const st = done.streamResults[0]!;
    assert.equal(st.status, StreamInfo_Status.FINISHED);
    assert.ok(st.retries >= 1, `retries ${st.retries}`);
    assert.doesNotMatch(st.url, /resumekey1/);
    const flvs = await rtmp.recordings('resumekey1');
    assert.equal(flvs.length, 2, `two publishes: ${flvs.join(', ')}`);
    for (const f of flvs) {
      const m = await probe(f);
      assert.equal(m.video?.codec_name, 'h264', f);
      assert.ok(m.durationSec > 3, `${f}: ${m.durationSec} s`);
    }
  });
});

describe('segment session limit', () => {
  const client = egressClient();

  const suite = serviceSuite('session_limits: { segment_output_max_duration: 6s }');

  test('ends LIMIT_REACHED with the playlist properly ended', async () => {
    const info = await client.startWebEgress(suite.page.urlFor(), {
      segments: new SegmentedFileOutput({ filenamePrefix: 'limit/hls', segmentDuration: 2 }),
    });
    const done = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(done.status, EgressStatus.EGRESS_LIMIT_REACHED, done.error);
    assert.equal(done.errorCode, 413);
    const p = await readPlaylist(done.segmentResults[0]!.playlistLocation);
    assert.ok(p.ended, 'EXT-X-ENDLIST');
    const total = p.segments.reduce((a, s) => a + s.duration, 0);
    assert.ok(total > 5 && total < 8, `${total} s of segments`);
  });
});
