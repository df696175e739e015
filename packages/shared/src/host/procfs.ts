/**
 * Reading /proc (Linux): the fields of /proc/<pid>/stat, the process table, liveness and descendants. Reads are
 * synchronous: procfs never blocks on a disk, and a thread-pool round trip per file made periodic scans costly.
 */
import fs from 'node:fs';

/** The fields of /proc/<pid>/stat the service reads. */
export interface ProcStat {
  /** The kernel's name of the command (at most 15 characters). */
  comm: string;
  /** One letter: R, S, D, Z, T, ... */
  state: string;
  ppid: number;
  pgid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** Start time since boot, in clock ticks: tells a reused pid from an earlier process. */
  starttime: number;
}

const PROC = '/proc';

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Parses /proc/<pid>/stat; undefined when it is not one. The comm field may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")": state(3) ppid(4) pgrp(5) ... utime(14) stime(15) ... starttime(22)
  const f = text.slice(close + 2).split(' ');
  const stat = {
    comm: text.slice(text.indexOf('(') + 1, close),
    state: f[0] ?? '',
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    ticks: Number(f[11]) + Number(f[12]),
    starttime: Number(f[19]),
  };
  const numbers = [stat.ppid, stat.pgid, stat.ticks, stat.starttime];
  return stat.state !== '' && numbers.every(Number.isInteger) ? stat : undefined;
}

/** The stat of `pid`, or undefined when it is gone (or `root` holds no such entry). */
export function readProcStat(pid: number, root = PROC): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(`${root}/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Pids of every process in `root`. */
export function listPids(root = PROC): number[] {
  try {
    return fs
      .readdirSync(root)
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/** The entries of a process's environment; undefined for another user's process or one gone meanwhile. */
export function readEnviron(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`${PROC}/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/** A process's arguments joined by spaces; empty when gone. */
export function readCmdline(pid: number): string {
  try {
    return fs.readFileSync(`${PROC}/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/** Resident memory of a process in bytes; 0 for kernel threads, zombies and processes gone meanwhile. */
export function readRssBytes(pid: number, root = PROC): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`${root}/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Whether `pid` is a running process: a zombie is not; one we may not signal is. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (errCode(err) === 'ESRCH') return false;
  }
  try {
    const stat = fs.readFileSync(`${PROC}/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch (err) {
    return errCode(err) !== 'ENOENT'; // gone meanwhile; anything else: cannot tell, so alive
  }
}

/** Pids of every live (non-zombie) descendant of `pid`, parents before their children. */
export function descendantsOf(pid: number, root = PROC): number[] {
  const children = new Map<number, number[]>();
  for (const p of listPids(root)) {
    const stat = readProcStat(p, root);
    if (!stat || stat.state === 'Z') continue;
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), p]);
  }
  const found = new Set<number>();
  const queue = [pid];
  // Each pid is queued once, so a table read while pids were reused cannot make this loop.
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of children.get(next) ?? []) {
      if (child === pid || found.has(child)) continue;
      found.add(child);
      queue.push(child);
    }
  }
  return [...found];
}
