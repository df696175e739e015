/**
 * `scripts/bench` part three: what each encoding preset costs. One web egress per preset through the real
 * livekit-server, recorded 10 s: the recorder tree's CPU per recorded second (over the last 8 s), the
 * achieved frame rate, and the remux time of its clean stop (from the egress's own log). Then 720p30 and
 * 1080p30 again with a file, HLS and an RTMP stream (into nginx-rtmp on loopback) from the same encode, to
 * show what the extra outputs cost. Not a test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  EgressStatus,
  EncodedFileOutput,
  EncodingOptionsPreset,
  SegmentedFileOutput,
  StreamOutput,
  StreamProtocol,
} from 'livekit-server-sdk';
import { startTestPage } from '@egress/recorder/testing/test-page';
import { distinctFps, probe } from '../e2e/fixtures/media.js';
import { egressClient, recorderPid, startService, waitForStatus } from '../e2e/fixtures/stack.js';
import { startRtmpServer } from '../e2e/fixtures/stream-receivers.js';
import { groupCpuSec } from './proc-stats.js';

const PRESETS = [
  EncodingOptionsPreset.H264_720P_30,
  EncodingOptionsPreset.H264_720P_60,
  EncodingOptionsPreset.H264_1080P_30,
  EncodingOptionsPreset.H264_1080P_60,
];
/** Presets run a second time with file + HLS + RTMP. */
const MULTI = [EncodingOptionsPreset.H264_720P_30, EncodingOptionsPreset.H264_1080P_30];
const WARMUP_SEC = 2;
const WINDOW_SEC = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PresetRun {
  preset: string;
  outputs: string;
  x264Preset: string;
  cpuPerSec: number;
  /** ffprobe's average: counts frames videorate repeated. */
  fps: number;
  /** Frames that differ from the one before, per second: what capture and encoding really held. */
  distinctFps: number;
  targetFps: number;
  remuxMs: number;
}

async function main(): Promise<void> {
  const page = await startTestPage();
  const svc = await startService();
  const rtmp = await startRtmpServer(['benchkey']);
  const client = egressClient();
  const runs: PresetRun[] = [];
  const cases = [
    ...PRESETS.map((preset) => ({ preset, multi: false })),
    ...MULTI.map((preset) => ({ preset, multi: true })),
  ];
  try {
    for (const { preset, multi } of cases) {
      const name = EncodingOptionsPreset[preset];
      const file = new EncodedFileOutput({ filepath: `presets/${name}${multi ? '-multi' : ''}.mp4` });
      const info = await client.startWebEgress(
        page.urlFor(),
        multi
          ? {
              file,
              segments: new SegmentedFileOutput({ filenamePrefix: `presets/${name}-hls/seg`, segmentDuration: 4 }),
              stream: new StreamOutput({ protocol: StreamProtocol.RTMP, urls: [rtmp.url('benchkey')] }),
            }
          : file,
        { encodingOptions: preset },
      );
      await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
      const pid = await recorderPid(svc, info.egressId);
      await sleep(WARMUP_SEC * 1000);
      const c0 = groupCpuSec(pid);
      await sleep(WINDOW_SEC * 1000);
      const cpuPerSec = (groupCpuSec(pid) - c0) / WINDOW_SEC;
      await client.stopEgress(info.egressId);
      const done = await waitForStatus(client, info.egressId, [
        EgressStatus.EGRESS_COMPLETE,
        EgressStatus.EGRESS_FAILED,
      ]);
      const p = await probe(done.fileResults[0]!.location);
      const log = readFileSync(path.join(svc.logDir, `${info.egressId}.log`), 'utf8');
      runs.push({
        preset: name,
        outputs: multi ? 'file+HLS+RTMP' : 'file',
        x264Preset: /x264enc speed-preset=(\w+)/.exec(log)?.[1] ?? '?',
        cpuPerSec,
        fps: p.fps,
        distinctFps: await distinctFps(done.fileResults[0]!.location),
        targetFps: /_(\d+)$/.test(name) ? Number(/_(\d+)$/.exec(name)![1]) : 0,
        remuxMs: Number(/remuxed \d+ bytes in (\d+) ms/.exec(log)?.[1] ?? NaN),
      });
      process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
      await sleep(2000);
    }
  } finally {
    await svc.stop('SIGTERM');
    await rtmp.stop();
    await page.close();
  }
  process.stdout.write(`\nencoding presets, one web egress each, 10 s (CPU over the last ${WINDOW_SEC} s)\n`);
  process.stdout.write(
    `${'preset'.padEnd(16)}${'outputs'.padEnd(15)}${'x264'.padEnd(11)}${'core-s/s'.padEnd(10)}` +
      `${'distinct fps'.padEnd(18)}remux\n`,
  );
  for (const r of runs) {
    process.stdout.write(
      `${r.preset.padEnd(16)}${r.outputs.padEnd(15)}${r.x264Preset.padEnd(11)}${r.cpuPerSec.toFixed(3).padEnd(10)}` +
        `${`${r.distinctFps.toFixed(2)} / ${r.targetFps}`.padEnd(18)}${r.remuxMs} ms\n`,
    );
  }
  process.stdout.write(`\n${JSON.stringify(runs, null, 2)}\n`);
}

await main();
