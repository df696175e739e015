/** CPU and memory of processes read from /proc: what the benchmark charges to each side. */
import { listPids, readProcStat, readRssBytes } from '@egress/shared/host/procfs';

const TICKS_PER_SEC = 100; // Linux USER_HZ on every supported platform

/** CPU seconds used so far by every live process of a process group. */
export function groupCpuSec(pgrp: number): number {
  let sum = 0;
  for (const pid of listPids()) {
    const s = readProcStat(pid);
    if (s && s.pgid === pgrp) sum += s.ticks / TICKS_PER_SEC;
  }
  return sum;
}

/** CPU seconds used so far by the given processes. */
export function pidsCpuSec(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (readProcStat(pid)?.ticks ?? 0) / TICKS_PER_SEC, 0);
}

/** Resident set size of one process, in bytes. */
export const rssBytes = (pid: number): number => readRssBytes(pid);

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
