/**
 * `scripts/bench` part three: what each encoding preset costs. One web egress per preset through the real
 * livekit-server, recorded 10 s: the recorder tree's CPU per recorded second (over the last 8 s), the
 * achieved frame rate, and the remux time of its clean stop (from the egress's own log). Not a test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EgressStatus, EncodedFileOutput, EncodingOptionsPreset } from 'livekit-server-sdk';
import { startTestPage } from '@egress/recorder/testing/test-page';
import { distinctFps, probe } from '../e2e/fixtures/media.js';
import { egressClient, startService, waitForStatus } from '../e2e/fixtures/stack.js';
import { groupCpuSec } from './proc-stats.js';

const PRESETS = [
  EncodingOptionsPreset.H264_720P_30,
  EncodingOptionsPreset.H264_720P_60,
  EncodingOptionsPreset.H264_1080P_30,
  EncodingOptionsPreset.H264_1080P_60,
];
const WARMUP_SEC = 2;
const WINDOW_SEC = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PresetRun {
  preset: string;
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
  const client = egressClient();
  const runs: PresetRun[] = [];
  try {
    for (const preset of PRESETS) {
      const name = EncodingOptionsPreset[preset];
      const info = await client.startWebEgress(
        page.urlFor(),
        new EncodedFileOutput({ filepath: `presets/${name}.mp4` }),
        {
          encodingOptions: preset,
        },
      );
      await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
      const res = await fetch(`http://127.0.0.1:${svc.healthPort}/`);
      const pid = ((await res.json()) as { egresses: { egressId: string; pid: number }[] }).egresses.find(
        (e) => e.egressId === info.egressId,
      )!.pid;
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
    await page.close();
  }
  process.stdout.write(`\nencoding presets, one web egress each, 10 s (CPU over the last ${WINDOW_SEC} s)\n`);
  process.stdout.write(
    `${'preset'.padEnd(16)}${'x264'.padEnd(11)}${'core-s/s'.padEnd(10)}${'distinct fps'.padEnd(18)}remux\n`,
  );
  for (const r of runs) {
    process.stdout.write(
      `${r.preset.padEnd(16)}${r.x264Preset.padEnd(11)}${r.cpuPerSec.toFixed(3).padEnd(10)}` +
        `${`${r.distinctFps.toFixed(2)} / ${r.targetFps}`.padEnd(18)}${r.remuxMs} ms\n`,
    );
  }
  process.stdout.write(`\n${JSON.stringify(runs, null, 2)}\n`);
}

await main();
