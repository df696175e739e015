/**
 * Small helpers for the external processes a recording runs (Xvfb, Chromium, gst-launch, ffmpeg):
 * waiting for exit without races, bounded termination, and line-wise output.
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** How a child process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves once the child has exited; safe to call at any time, also after the exit happened. */
export function exitOf(child: ChildProcess): Promise<ExitStatus> {
  // Node sets exitCode/signalCode before emitting 'exit', so this check cannot miss an exit.
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A child that failed to spawn never emits 'exit'.
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
}

/** Describes an exit for an error message: "code 1" or "signal SIGKILL". */
export function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code ?? 'unknown'}`;
}

/** Whether the process is still running (has not been waited for by Node). */
export function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * Sends `signal`, waits up to `graceMs` for the exit, then SIGKILLs and waits again.
 * `forced` tells whether the SIGKILL was needed.
 */
export async function terminate(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<{ status: ExitStatus; forced: boolean }> {
  const exited = exitOf(child);
  if (!isRunning(child)) return { status: await exited, forced: false };
  child.kill(signal);
  const inTime = await Promise.race([exited.then(() => true), delay(graceMs).then(() => false)]);
  if (inTime) return { status: await exited, forced: false };
  child.kill('SIGKILL');
  return { status: await exited, forced: true };
}

/** Calls `onLine` for every non-empty line of a stream. */
export function forEachLine(stream: Readable | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() !== '') onLine(line);
  });
}

/**
 * Sends every output line of a child to `log` and keeps its last `keep` lines, so a failure report can
 * quote what the process said last.
 */
export function tailOutput(child: ChildProcess, log: (line: string) => void, keep = 20): string[] {
  const tail: string[] = [];
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > keep) tail.shift();
    log(line);
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);
  return tail;
}

/** Resolves after `ms`; the timer does not keep the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Pids of every live descendant of `pid`, read from /proc (Linux). */
export async function descendantsOf(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the parenthesised command name: state, ppid, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    if (fields[0] === 'Z' || !Number.isInteger(ppid)) continue;
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of parents.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Whether a pid names a live (non-zombie) process. */
export async function pidAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}
