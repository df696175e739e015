/**
 * A private X display for one recording. Xvfb picks a free display number itself (`-displayfd`) and
 * reports it once it accepts connections, so concurrent recorders never race for a number. Only clients
 * given the display's Xauthority file (`authFile`) may connect.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { childEnv } from '@egress/shared/host/child-env';
import { delay, describeExit, exitOf, terminate, type ExitStatus } from '@egress/shared/host/terminate';
import { tailOutput } from '../media/process.js';
import { writeXauthority } from './xauthority.js';

/** Options for {@link startXvfb}. */
export interface XvfbOptions {
  width: number;
  height: number;
  /** Colour depth, usually 24. */
  depth: number;
  /** Where to write the display's Xauthority file (in the recording's scratch dir). */
  authFile: string;
  /** Receives Xvfb's output lines. */
  log?: (line: string) => void;
  /** How long to wait for the display to come up (default 5000 ms). */
  readyTimeoutMs?: number;
}

/** A running Xvfb. */
export interface XvfbDisplay {
  /** X display name, e.g. ":3". */
  readonly display: string;
  /** The Xauthority file a client needs (as XAUTHORITY) to connect. */
  readonly authFile: string;
  readonly pid: number;
  /** Resolves when Xvfb exits, for whatever reason. */
  readonly exited: Promise<ExitStatus>;
  /** Terminates Xvfb and waits for it to exit; idempotent. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 2000;

/** Starts Xvfb with a screen of the given size; rejects if it is not ready within the bound. */
export async function startXvfb(options: XvfbOptions): Promise<XvfbDisplay> {
  const { width, height, depth, authFile, log = () => {}, readyTimeoutMs = 5000 } = options;
  const screen = `${width}x${height}x${depth}`;
  await writeXauthority(authFile);
  // Local clients still reach the display through Linux's abstract socket; no TCP, no socket file. Anything in
  // the same network namespace reaches that socket, so the cookie is what keeps other processes out.
  const args = ['-displayfd', '3', '-auth', authFile, '-screen', '0', screen, '-nolisten', 'tcp', '-nolisten', 'unix'];
  const child = spawn('Xvfb', args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: false, env: childEnv() });
  const output = tailOutput(child, log);
  const exited = exitOf(child);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const displayNumber = new Promise<string>((resolve) => {
    let text = '';
    (child.stdio[3] as Readable).on('data', (chunk: Buffer) => {
      text += chunk.toString();
      // Xvfb writes the number followed by a newline once it is listening.
      const match = /^(\d+)\n/.exec(text);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
  });

  const outcome = await Promise.race([
    displayNumber.then((n) => ({ kind: 'ready' as const, display: `:${n}` })),
    spawnError.then((err) => ({ kind: 'failed' as const, why: `could not run Xvfb: ${err.message}` })),
    exited.then((s) => ({ kind: 'failed' as const, why: `Xvfb exited during startup (${describeExit(s)})` })),
    delay(readyTimeoutMs).then(() => ({ kind: 'failed' as const, why: `Xvfb not ready within ${readyTimeoutMs} ms` })),
  ]);
  if (outcome.kind === 'failed') {
    await terminate(child, 'SIGKILL', STOP_GRACE_MS);
    const tail = output.length ? `: ${output.join(' | ')}` : '';
    throw new Error(`${outcome.why} (screen ${screen})${tail}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    display: outcome.display,
    authFile,
    pid: child.pid as number,
    exited,
    stop() {
      stopping ??= terminate(child, 'SIGTERM', STOP_GRACE_MS).then(() => undefined);
      return stopping;
    },
  };
}
