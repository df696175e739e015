/**
 * Ending processes: waiting for a child's exit without races, and "signal, wait with a bound, SIGKILL",
 * written once, for a ChildProcess and for bare pids (helpers a child left behind).
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive } from './procfs.js';

/** How a child process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const POLL_MS = 20;

/** Resolves after `ms`; the timer does not keep the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
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
 * Sends `signal` to a pid (or, negative, a process group); false when there is no such process. Other errors
 * (EPERM) are thrown: the caller decides whether a process it may not signal matters.
 */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** {@link signalPid} for processes that may be gone or not ours to signal any more: never throws. */
export function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    signalPid(pid, signal);
  } catch {
    // not ours to signal (any more)
  }
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

/** Polls until none of `pids` is alive or `timeoutMs` passed; whether all are gone. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pids.some(pidAlive)) return true;
    if (Date.now() >= deadline) return false;
    // A kept-alive timer: the caller awaits the outcome, also when nothing else keeps the process running.
    await sleep(POLL_MS);
  }
}

/**
 * The same for processes that are not our children: signals every live pid, waits up to `graceMs` for them to
 * go, then SIGKILLs the rest and waits up to `graceMs` again. Returns the pids that had to be SIGKILLed.
 */
export async function terminatePids(
  pids: readonly number[],
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<number[]> {
  for (const pid of pids) if (pidAlive(pid)) signalQuietly(pid, signal);
  if ((await waitGone(pids, graceMs)) || signal === 'SIGKILL') return [];
  const forced = pids.filter(pidAlive);
  for (const pid of forced) signalQuietly(pid, 'SIGKILL');
  await waitGone(forced, graceMs);
  return forced;
}
