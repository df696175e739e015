/**
 * `scripts/bench`: runs N web egresses through the real livekit-server and this service, then the same
 * Chromium + gst-launch-1.0 capture started by hand, and prints a table and JSON. Not a test: the numbers
 * are for people, taken on a shared machine; report medians and ratios from one run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EgressStatus, EncodedFileOutput } from 'livekit-server-sdk';
import { chromiumArgs } from '@egress/recorder/browser/chromium';
import { buildWebPipeline } from '@egress/recorder/pipeline/web-argv';
import { startTestPage } from '@egress/recorder/testing/test-page';
import { encodingFromRequest } from '@egress/shared';
import { distinctFps } from '../e2e/fixtures/media.js';
import { egressClient, recorderPid, startService, waitForStatus } from '../e2e/fixtures/stack.js';
import { groupCpuSec, median, pidsCpuSec, rssBytes } from './proc-stats.js';

const N = Number(process.env.BENCH_N ?? 5);
const RECORD_SEC = Number(process.env.BENCH_RECORD_SEC ?? 10);
/** CPU is compared in steady state: both sides skip the first seconds after their capture starts. */
const WARMUP_SEC = 2;
const WINDOW_SEC = RECORD_SEC - WARMUP_SEC;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  startToActiveSec: number;
  stopToCompleteSec: number;
  recorderCpuPerSec: number;
  /** The recorder's own Node process, without Chromium, gst-launch and Xvfb. */
  recorderNodeCpuPerSec: number;
  supervisorCpuPerSec: number;
  fps: number;
}

/**
 * Our runs, each followed by a baseline run so both sides of a pair see the same machine conditions (the
 * machine is shared and its load drifts); the ratio is the median of the pairs' ratios.
 */
async function measure(pageUrl: string): Promise<{
  runs: Run[];
  baselines: { cpuPerSec: number; fps: number }[];
  idle: { startupCpuPerSec: number; cpuPerSec: number; rssMb: number };
}> {
  const baselines: { cpuPerSec: number; fps: number }[] = [];
  const svc = await startService();
  const client = egressClient();
  const supPid = svc.proc.pid!;
  try {
    // Idle means a node waiting for work, hour after hour: start-up (code loading, the spare recorder's boot,
    // the first reaper pass, V8 settling its heap) is measured apart, then 30 s of the steady state.
    const s0 = pidsCpuSec([supPid]);
    await sleep(30_000);
    const c0 = pidsCpuSec([supPid]);
    await sleep(30_000);
    const idle = {
      startupCpuPerSec: (c0 - s0) / 30,
      cpuPerSec: (pidsCpuSec([supPid]) - c0) / 30,
      rssMb: rssBytes(supPid) / 2 ** 20,
    };
    const runs: Run[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = Date.now();
      const info = await client.startWebEgress(pageUrl, new EncodedFileOutput({ filepath: `bench/${i}.mp4` }));
      await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
      const tActive = Date.now();
      const pid = await recorderPid(svc, info.egressId);
      await sleep(WARMUP_SEC * 1000 - (Date.now() - tActive));
      const r0 = groupCpuSec(pid);
      const n0 = pidsCpuSec([pid]);
      const s0 = pidsCpuSec([supPid]);
      await sleep(WINDOW_SEC * 1000);
      const r1 = groupCpuSec(pid);
      const n1 = pidsCpuSec([pid]);
      const s1 = pidsCpuSec([supPid]);
      const tStop = Date.now();
      await client.stopEgress(info.egressId);
      const done = await waitForStatus(client, info.egressId, [
        EgressStatus.EGRESS_COMPLETE,
        EgressStatus.EGRESS_FAILED,
      ]);
      const tDone = Date.now();
      runs.push({
        startToActiveSec: (tActive - t0) / 1000,
        stopToCompleteSec: (tDone - tStop) / 1000,
        recorderCpuPerSec: (r1 - r0) / WINDOW_SEC,
        recorderNodeCpuPerSec: (n1 - n0) / WINDOW_SEC,
        supervisorCpuPerSec: (s1 - s0) / WINDOW_SEC,
        fps: await distinctFps(done.fileResults[0]!.location),
      });
      process.stderr.write(`ours ${i + 1}/${N}: ${JSON.stringify(runs.at(-1))}\n`);
      await sleep(1000);
      baselines.push(await measureBaseline(pageUrl));
      process.stderr.write(`baseline ${i + 1}/${N}: ${JSON.stringify(baselines.at(-1))}\n`);
      // Let the killed baseline Chromium's teardown finish before the next start is timed.
      await sleep(5000);
    }
    return { runs, baselines, idle };
  } finally {
    await svc.stop('SIGTERM');
  }
}

/** The same capture by hand: Xvfb, a null sink, Chromium on the page, gst-launch with the same argv. */
async function measureBaseline(pageUrl: string): Promise<{ cpuPerSec: number; fps: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-baseline-'));
  const procs: ChildProcess[] = [];
  const sink = `bench_${process.pid}`;
  let moduleIdx = '';
  try {
    const enc = encodingFromRequest({ case: undefined }, 'bench');
    const xvfb = spawn(
      'Xvfb',
      ['-displayfd', '3', '-screen', '0', `${enc.width}x${enc.height}x24`, '-nolisten', 'tcp'],
      {
        stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      },
    );
    procs.push(xvfb);
    const display = await new Promise<string>((resolve) =>
      (xvfb.stdio[3] as NodeJS.ReadableStream).once('data', (d: Buffer) => resolve(`:${d.toString().trim()}`)),
    );
    moduleIdx = execFileSync(
      'pactl',
      ['load-module', 'module-null-sink', `sink_name=${sink}`, 'rate=48000', 'channels=2'],
      {
        encoding: 'utf8',
      },
    ).trim();
    // Same flags as the recorder's Chromium, minus the DevTools pipe only a controlled browser needs.
    const flags = chromiumArgs({
      chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
      width: enc.width,
      height: enc.height,
      userDataDir: `${dir}/chrome`,
    }).filter((f) => f !== '--remote-debugging-pipe' && f !== 'about:blank');
    const chrome = spawn('/usr/bin/chromium', [...flags, pageUrl], {
      env: { ...process.env, DISPLAY: display, PULSE_SINK: sink, TMPDIR: dir },
      stdio: 'ignore',
      detached: true,
    });
    procs.push(chrome);
    // About when our recorder starts its capture: once Chromium is up and the page has loaded.
    await sleep(1000);
    const out = path.join(dir, 'baseline.mp4');
    const argv = buildWebPipeline({
      source: { audioOnly: false, videoOnly: false },
      encoding: enc,
      display,
      pulseMonitor: `${sink}.monitor`,
      outputs: { file: { fileType: 'mp4', path: out } },
    });
    const gst = spawn('gst-launch-1.0', ['-e', ...argv], { stdio: 'ignore' });
    procs.push(gst);
    await sleep(WARMUP_SEC * 1000);
    const pids = () => [xvfb.pid!, gst.pid!, ...groupPids(chrome.pid!)];
    const c0 = pidsCpuSec(pids());
    await sleep(WINDOW_SEC * 1000);
    const c1 = pidsCpuSec(pids());
    gst.kill('SIGINT');
    await new Promise((r) => gst.once('exit', r));
    return { cpuPerSec: (c1 - c0) / WINDOW_SEC, fps: await distinctFps(out) };
  } finally {
    for (const p of [...procs].reverse()) {
      try {
        // Chromium was started in its own group so its renderers can be counted and killed together.
        if (p.pid) process.kill(p.spawnargs[0] === '/usr/bin/chromium' ? -p.pid : p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (moduleIdx) execFileSync('pactl', ['unload-module', moduleIdx]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function groupPids(pgrp: number): number[] {
  const out = execFileSync('pgrep', ['-g', String(pgrp)], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map(Number);
}

async function main(): Promise<void> {
  const page = await startTestPage();
  try {
    const url = page.urlFor();
    const ours = await measure(url);
    const baselines = ours.baselines;
    const m = (k: keyof Run) => median(ours.runs.map((r) => r[k]));
    const baseCpu = median(baselines.map((b) => b.cpuPerSec));
    const pairRatios = ours.runs.map((r, i) => r.recorderCpuPerSec / baselines[i]!.cpuPerSec);
    const result = {
      n: N,
      recordSec: RECORD_SEC,
      requestToActiveSec: { median: m('startToActiveSec'), max: Math.max(...ours.runs.map((r) => r.startToActiveSec)) },
      stopToCompleteSec: {
        median: m('stopToCompleteSec'),
        max: Math.max(...ours.runs.map((r) => r.stopToCompleteSec)),
      },
      recorderCpuPerRecordedSec: m('recorderCpuPerSec'),
      recorderNodeProcessCpuPerRecordedSec: m('recorderNodeCpuPerSec'),
      baselineCpuPerRecordedSec: baseCpu,
      recorderVsBaseline: {
        medianOfPairs: median(pairRatios),
        min: Math.min(...pairRatios),
        max: Math.max(...pairRatios),
      },
      supervisorCpuPerRecordedSec: m('supervisorCpuPerSec'),
      supervisorIdleCpuPercent: ours.idle.cpuPerSec * 100,
      supervisorFirst30sCpuPercent: ours.idle.startupCpuPerSec * 100,
      supervisorRssMb: ours.idle.rssMb,
      fps: { median: m('fps'), min: Math.min(...ours.runs.map((r) => r.fps)) },
      baselineFps: median(baselines.map((b) => b.fps)),
    };
    const rows: [string, string, string][] = [
      [
        'request -> ACTIVE (median / max)',
        `${result.requestToActiveSec.median.toFixed(2)} / ${result.requestToActiveSec.max.toFixed(2)} s`,
        '<= 2 s',
      ],
      [
        'stop -> COMPLETE (median / max)',
        `${result.stopToCompleteSec.median.toFixed(2)} / ${result.stopToCompleteSec.max.toFixed(2)} s`,
        '<= 2 s',
      ],
      ['recorder tree CPU per recorded s', `${result.recorderCpuPerRecordedSec.toFixed(3)} core-s`, ''],
      ['  of which the recorder Node process', `${result.recorderNodeProcessCpuPerRecordedSec.toFixed(3)} core-s`, ''],
      ['baseline (by hand) CPU per recorded s', `${baseCpu.toFixed(3)} core-s`, ''],
      [
        'recorder / baseline (pairs: median, min-max)',
        `${result.recorderVsBaseline.medianOfPairs.toFixed(3)}x, ${result.recorderVsBaseline.min.toFixed(3)}-${result.recorderVsBaseline.max.toFixed(3)}`,
        '<= 1.0x',
      ],
      ['supervisor CPU per recorded s', `${result.supervisorCpuPerRecordedSec.toFixed(4)} core-s`, ''],
      ['supervisor idle CPU (steady, 30 s)', `${result.supervisorIdleCpuPercent.toFixed(2)} %`, '< 1 %'],
      ['  its first 30 s after start', `${result.supervisorFirst30sCpuPercent.toFixed(2)} %`, ''],
      ['supervisor RSS', `${result.supervisorRssMb.toFixed(1)} MB`, '< 120 MB'],
      [
        'achieved fps, distinct frames (median / min)',
        `${result.fps.median.toFixed(2)} / ${result.fps.min.toFixed(2)}`,
        '>= 29.5',
      ],
      ['baseline fps', result.baselineFps.toFixed(2), ''],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    process.stdout.write(`\nweb egress, 720p30, ${N} runs of ${RECORD_SEC} s (CPU over the last ${WINDOW_SEC} s)\n`);
    for (const [k, v, t] of rows) process.stdout.write(`${k.padEnd(w)}  ${v.padEnd(22)} ${t}\n`);
    process.stdout.write(`\n${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await page.close();
  }
}

await main();
