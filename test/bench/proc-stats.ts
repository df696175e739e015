/** CPU and memory of processes read from /proc: what the benchmark charges to each side. */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SEC = 100; // Linux USER_HZ on every supported platform

interface Stat {
  pid: number;
  pgrp: number;
  cpuSec: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return { pid, pgrp: Number(rest[2]), cpuSec: (utime + stime) / TICKS_PER_SEC };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** CPU seconds used so far by every live process of a process group. */
export function groupCpuSec(pgrp: number): number {
  let sum = 0;
  for (const pid of allPids()) {
    const s = readStat(pid);
    if (s && s.pgrp === pgrp) sum += s.cpuSec;
  }
  return sum;
}

/** CPU seconds used so far by the given processes. */
export function pidsCpuSec(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (readStat(pid)?.cpuSec ?? 0), 0);
}

/** Resident set size of one process, in bytes. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
