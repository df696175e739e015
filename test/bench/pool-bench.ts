/**
 * `scripts/bench` part two: how the pool behaves when a recorder dies, and what the supervisor costs with
 * 0, 1 and 2 active egresses. Not a test: numbers for people, medians from one run on a shared machine.
 *
 *  - SIGKILL of a recorder -> FAILED as livekit-server reports it (restarts off)
 *  - SIGKILL -> cleanup complete: no running process of its group, no sink, no scratch dir (restarts off);
 *    separately, when init has reaped the group's zombies (not the supervisor's to reap)
 *  - SIGKILL -> the restarted recorder capturing again: its part's start time (restarts on)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { EgressStatus, EncodedFileOutput, type EgressInfo } from 'livekit-server-sdk';
import { readProcStat } from '@egress/shared/host/procfs';
import { nullSinks, parseModules } from '@egress/shared/host/pulse';
import { sinkName } from '@egress/shared/host/resource-names';
import { startTestPage } from '@egress/recorder/testing/test-page';
import {
  egressClient,
  recorderPid,
  type RunningService,
  startService,
  TERMINAL,
  waitForStatus,
} from '../e2e/fixtures/stack.js';
import { median, pidsCpuSec, rssBytes } from './proc-stats.js';

const K = Number(process.env.BENCH_KILLS ?? 5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const client = egressClient();
// Two recordings fill this 2-core machine: admit both and keep the overload guard out of the measurement.
const ROOMY = 'cpu_cost: { web_cpu_cost: 0.3, max_cpu_utilization: 1.0 }';

/** Members of a process group still running; `zombies` also counts the dead ones not yet reaped by init. */
function groupMembers(pgid: number, zombies: boolean): number {
  let pids: string[];
  try {
    pids = execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch {
    return 0;
  }
  const state = (pid: string) => readProcStat(Number(pid))?.state ?? 'gone';
  return pids.filter((pid) => state(pid) !== 'gone' && (zombies || state(pid) !== 'Z')).length;
}

function sinkLoaded(egressId: string): boolean {
  const listing = execFileSync('pactl', ['list', 'short', 'modules'], { encoding: 'utf8' });
  return nullSinks(parseModules(listing)).some((s) => s.sinkName === sinkName(egressId));
}

async function startActive(url: string, name: string): Promise<EgressInfo> {
  const info = await client.startWebEgress(url, new EncodedFileOutput({ filepath: `bench-pool/${name}.mp4` }));
  await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
  return info;
}

/** Starts an egress, lets it record 2 s, SIGKILLs its recorder; t0 is the moment of the kill. */
async function recordThenKill(svc: RunningService, url: string, name: string) {
  const info = await startActive(url, name);
  const pgid = await recorderPid(svc, info.egressId);
  await sleep(2000);
  const t0 = Date.now();
  process.kill(pgid, 'SIGKILL');
  return { info, pgid, t0 };
}

async function supervisorLoad(url: string): Promise<{ active: number; cpuPercent: number; rssMb: number }[]> {
  const svc = await startService(ROOMY);
  const pid = svc.proc.pid!;
  const out: { active: number; cpuPercent: number; rssMb: number }[] = [];
  const ids: string[] = [];
  try {
    // Past start-up (see web-bench): the 0-active row is the steady idle state.
    await sleep(30_000);
    for (const active of [0, 1, 2]) {
      if (active > 0) {
        ids.push((await startActive(url, `load-${active}`)).egressId);
        await sleep(3000);
      }
      const c0 = pidsCpuSec([pid]);
      await sleep(15_000);
      out.push({ active, cpuPercent: ((pidsCpuSec([pid]) - c0) / 15) * 100, rssMb: rssBytes(pid) / 2 ** 20 });
      process.stderr.write(`supervisor with ${active} active: ${JSON.stringify(out.at(-1))}\n`);
    }
    for (const id of ids) await client.stopEgress(id);
    for (const id of ids) await waitForStatus(client, id, TERMINAL);
  } finally {
    await svc.stop('SIGTERM');
  }
  return out;
}

async function killToFailed(url: string): Promise<{ failedSec: number[]; cleanupSec: number[]; reapedSec: number[] }> {
  const svc = await startService(`${ROOMY}\nrecorder_restarts: 0`);
  const failedSec: number[] = [];
  const cleanupSec: number[] = [];
  const reapedSec: number[] = [];
  try {
    for (let i = 0; i < K; i++) {
      const { info, pgid, t0 } = await recordThenKill(svc, url, `kill-${i}`);
      let failedAt = 0;
      let cleanAt = 0;
      const gone = { processes: 0, zombies: 0, sink: 0, dir: 0 };
      const tmp = path.join(svc.tmpDir, info.egressId);
      while ((!failedAt || !cleanAt || !gone.zombies) && Date.now() - t0 < 30_000) {
        if (!gone.processes && !groupMembers(pgid, false)) gone.processes = Date.now() - t0;
        if (!gone.zombies && !groupMembers(pgid, true)) gone.zombies = Date.now() - t0;
        if (!gone.sink && !sinkLoaded(info.egressId)) gone.sink = Date.now() - t0;
        if (!gone.dir && !existsSync(tmp)) gone.dir = Date.now() - t0;
        if (!cleanAt && gone.processes && gone.sink && gone.dir) cleanAt = Date.now();
        if (!failedAt) {
          const [now] = await client.listEgress({ egressId: info.egressId });
          if (now && TERMINAL.includes(now.status)) failedAt = Date.now();
        }
        await sleep(25);
      }
      failedSec.push((failedAt - t0) / 1000);
      cleanupSec.push((cleanAt - t0) / 1000);
      reapedSec.push(gone.zombies / 1000);
      process.stderr.write(
        `kill ${i + 1}/${K}: FAILED after ${failedSec.at(-1)} s, clean after ${cleanupSec.at(-1)} s (ms after the kill: ${JSON.stringify(gone)})\n`,
      );
      await sleep(1000);
    }
  } finally {
    await svc.stop('SIGTERM');
  }
  return { failedSec, cleanupSec, reapedSec };
}

async function killToCapturing(url: string): Promise<number[]> {
  const svc = await startService(`${ROOMY}\nrecorder_restarts: 1`);
  const out: number[] = [];
  try {
    for (let i = 0; i < K; i++) {
      const { info, t0 } = await recordThenKill(svc, url, `restart-${i}`);
      // Record on past the restart, then read when the second part's capture began.
      await sleep(5000);
      await client.stopEgress(info.egressId);
      const done = await waitForStatus(client, info.egressId, TERMINAL);
      const part2 = done.fileResults[1];
      if (!part2) throw new Error(`no second part: ${done.status} ${done.error} ${done.details}`);
      out.push((Number(part2.startedAt / 1_000_000n) - t0) / 1000);
      process.stderr.write(`restart ${i + 1}/${K}: capturing again after ${out.at(-1)} s\n`);
      await sleep(1000);
    }
  } finally {
    await svc.stop('SIGTERM');
  }
  return out;
}

async function main(): Promise<void> {
  const page = await startTestPage();
  try {
    const url = page.urlFor();
    const load = await supervisorLoad(url);
    const kill = await killToFailed(url);
    const restart = await killToCapturing(url);
    const result = {
      kills: K,
      sigkillToFailedSec: { median: median(kill.failedSec), max: Math.max(...kill.failedSec) },
      sigkillToCleanSec: { median: median(kill.cleanupSec), max: Math.max(...kill.cleanupSec) },
      sigkillToZombiesReapedSec: { median: median(kill.reapedSec), max: Math.max(...kill.reapedSec) },
      sigkillToCapturingAgainSec: { median: median(restart), max: Math.max(...restart) },
      supervisor: load,
    };
    const rows: [string, string, string][] = [
      [
        'SIGKILL -> FAILED reported (restarts off)',
        `${result.sigkillToFailedSec.median.toFixed(2)} / ${result.sigkillToFailedSec.max.toFixed(2)} s`,
        'median <= 1 s',
      ],
      [
        'SIGKILL -> cleanup complete',
        `${result.sigkillToCleanSec.median.toFixed(2)} / ${result.sigkillToCleanSec.max.toFixed(2)} s`,
        '<= 2 s',
      ],
      [
        '  zombies reaped by init',
        `${result.sigkillToZombiesReapedSec.median.toFixed(2)} / ${result.sigkillToZombiesReapedSec.max.toFixed(2)} s`,
        '',
      ],
      [
        'SIGKILL -> capturing again (restarts on)',
        `${result.sigkillToCapturingAgainSec.median.toFixed(2)} / ${result.sigkillToCapturingAgainSec.max.toFixed(2)} s`,
        'median <= 3 s',
      ],
      ...load.map((l): [string, string, string] => [
        `supervisor with ${l.active} active`,
        `${l.cpuPercent.toFixed(2)} % CPU, ${l.rssMb.toFixed(1)} MB`,
        '',
      ]),
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    process.stdout.write(`\nrecorder pool, ${K} kills each (median / max)\n`);
    for (const [k, v, t] of rows) process.stdout.write(`${k.padEnd(w)}  ${v.padEnd(24)} ${t}\n`);
    process.stdout.write(`\n${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await page.close();
  }
}

await main();
