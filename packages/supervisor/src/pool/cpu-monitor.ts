import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { childEnv } from '@egress/shared/host/child-env';
import { listPids, readProcStat, readRssBytes } from '@egress/shared/host/procfs';

export interface CpuMonitorOptions {
  /** Sampling period (default 1000 ms). */
  intervalMs?: number;
  /** Cores the node counts with (default os.availableParallelism(), as Capacity). */
  numCpus?: number;
  /** Clock ticks per second of /proc times (default `getconf CLK_TCK`, else 100). */
  clockTicks?: number;
  /** Where procfs is mounted (default /proc; tests may point elsewhere). */
  procRoot?: string;
  /** Monotonic clock in ms (default performance.now; tests may drive it). */
  now?: () => number;
}

interface PidSample {
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** Start time since boot, in clock ticks: tells a reused pid from the process we sampled before. */
  start: number;
}

interface GroupStats {
  cores: number;
  rssBytes: number;
}

/**
 * Measures the node's CPU load from /proc/stat and, per watched process group (each recorder runs in its
 * own), the CPU (in cores over the last interval) and RSS of every live process in the group. One scan of
 * /proc per tick serves every watched group; with nothing watched only /proc/stat is read.
 */
export class CpuMonitor {
  readonly numCpus: number;
  private readonly intervalMs: number;
  private readonly clockTicks: number;
  private readonly procRoot: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  private prevCpu: { busy: number; total: number } | undefined;
  private load = 0;

  private readonly watched = new Set<number>();
  /** Groups that were watched at the previous scan: only their new pids count in full. */
  private scannedGroups = new Set<number>();
  private prevPids = new Map<number, PidSample>();
  private prevScanAt = 0;
  private groups = new Map<number, GroupStats>();

  constructor(opts: CpuMonitorOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.numCpus = opts.numCpus ?? os.availableParallelism();
    this.clockTicks = opts.clockTicks ?? systemClockTicks();
    this.procRoot = opts.procRoot ?? '/proc';
    this.now = opts.now ?? (() => performance.now());
  }

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  watch(pgid: number): void {
    this.watched.add(pgid);
  }

  unwatch(pgid: number): void {
    this.watched.delete(pgid);
    this.groups.delete(pgid);
  }

  /** Fraction of all cores busy over the last interval, 0..1. */
  nodeLoad(): number {
    return this.load;
  }

  /** CPU used by the group over the last interval, in cores (CPU seconds per wall second). */
  groupCpu(pgid: number): number {
    return this.groups.get(pgid)?.cores ?? 0;
  }

  /** Resident memory summed over the group's live processes at the last sample. */
  groupRssBytes(pgid: number): number {
    return this.groups.get(pgid)?.rssBytes ?? 0;
  }

  /** Resident memory of every watched group together. */
  totalRssBytes(): number {
    let sum = 0;
    for (const pgid of this.watched) sum += this.groupRssBytes(pgid);
    return sum;
  }

  /** One tick: read /proc/stat, then (if any group is watched) scan /proc once. Called by the timer. */
  sample(): void {
    this.sampleNode();
    this.sampleGroups();
  }

  private sampleNode(): void {
    const cpu = readAggregateCpu(this.procRoot);
    if (!cpu) return;
    const prev = this.prevCpu;
    this.prevCpu = cpu;
    if (!prev) return;
    const total = cpu.total - prev.total;
    if (total <= 0) return;
    this.load = clamp01((cpu.busy - prev.busy) / total);
  }

  private sampleGroups(): void {
    const now = this.now();
    if (this.watched.size === 0) {
      this.prevPids = new Map();
      this.scannedGroups = new Set();
      this.groups = new Map();
      this.prevScanAt = now;
      return;
    }
    const wallSec = (now - this.prevScanAt) / 1000;
    const pids = new Map<number, PidSample>();
    const ticks = new Map<number, number>();
    const rss = new Map<number, number>();
    for (const pgid of this.watched) {
      ticks.set(pgid, 0);
      rss.set(pgid, 0);
    }
    for (const pid of listPids(this.procRoot)) {
      const stat = readProcStat(pid, this.procRoot);
      if (!stat || !this.watched.has(stat.pgid)) continue;
      pids.set(pid, { ticks: stat.ticks, start: stat.starttime });
      const before = this.prevPids.get(pid);
      let used = 0;
      if (before && before.start === stat.starttime) used = Math.max(0, stat.ticks - before.ticks);
      // A process born since the last scan in a group we were already watching: all its time is new.
      else if (this.scannedGroups.has(stat.pgid)) used = stat.ticks;
      ticks.set(stat.pgid, (ticks.get(stat.pgid) ?? 0) + used);
      rss.set(stat.pgid, (rss.get(stat.pgid) ?? 0) + readRssBytes(pid, this.procRoot));
    }
    const groups = new Map<number, GroupStats>();
    for (const pgid of this.watched) {
      const fresh = !this.scannedGroups.has(pgid) || wallSec <= 0;
      groups.set(pgid, {
        cores: fresh ? 0 : (ticks.get(pgid) ?? 0) / this.clockTicks / wallSec,
        rssBytes: rss.get(pgid) ?? 0,
      });
    }
    this.groups = groups;
    this.prevPids = pids;
    this.scannedGroups = new Set(this.watched);
    this.prevScanAt = now;
  }
}

let cachedClockTicks: number | undefined;

function systemClockTicks(): number {
  if (cachedClockTicks === undefined) {
    try {
      const n = Number(
        execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000, env: childEnv() }).trim(),
      );
      cachedClockTicks = Number.isFinite(n) && n > 0 ? n : 100;
    } catch {
      cachedClockTicks = 100; // USER_HZ on every common Linux architecture
    }
  }
  return cachedClockTicks;
}

/** The aggregate `cpu` line of /proc/stat: busy = everything but idle and iowait (guest is inside user). */
export function parseAggregateCpu(text: string): { busy: number; total: number } | undefined {
  const line = text.split('\n', 1)[0];
  if (!line?.startsWith('cpu ')) return undefined;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return undefined;
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

function readAggregateCpu(root: string): { busy: number; total: number } | undefined {
  try {
    return parseAggregateCpu(fs.readFileSync(`${root}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function clamp01(n: number): number {
  return n < 0 ? 0 : n > 1 ? 1 : n;
}
