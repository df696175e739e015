/**
 * Runs one `gst-launch-1.0 -e -m` pipeline and turns its output into typed events. State comes only from
 * what gst-launch reports (bus messages on stdout, errors on stderr), never from timing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { childEnv } from '@egress/shared/host/child-env';
import { parseElementMessage, type ElementMessage } from './bus-message.js';
import { delay, exitOf, isRunning, type ExitStatus } from '@egress/shared/host/terminate';
import { forEachLine } from '../media/process.js';
import { privateLaunch } from './private-launch.js';

/** An error reported by the pipeline. */
export interface GstError {
  /** Element that posted it (e.g. "ximagesrc0"), absent for errors about the pipeline description. */
  element?: string;
  message: string;
}

/** How gst-launch ended. */
export interface GstExit extends ExitStatus {
  /** gst-launch reported the pipeline's EOS: every sink got its end of stream. */
  eos: boolean;
  /** First error the pipeline reported, if any. */
  error?: GstError;
  /** The process had to be SIGKILLed. */
  killed: boolean;
}

/** Events of a {@link GstLaunch}. */
export interface GstLaunchEvents {
  /** The pipeline itself (not just an element) reached PLAYING. */
  playing: [];
  eos: [];
  /** Not named 'error': an unhandled 'error' event would throw. */
  pipelineError: [GstError];
  /** An element posted an application message (splitmuxsink fragments, multifilesink files...). */
  element: [ElementMessage];
  exit: [GstExit];
}

/** Options for {@link GstLaunch}. */
export interface GstLaunchOptions {
  /** Receives gst-launch's output lines (per-element state chatter is left out). */
  log?: (line: string) => void;
  /** How many stderr lines to keep for error reports (default 30). */
  stderrLines?: number;
  /** Give gst-launch a pipe on fd 3 for the pipeline to write to (fdsink fd=3); read it from `feed`. */
  feedFd?: boolean;
  /** Feed the pipeline's stdin (fdsrc fd=0) from `input`. */
  stdin?: boolean;
  /** How many more pipes to give gst-launch for the pipeline to read (fdsrc fd=4, 5...); written through `inputs`. */
  extraInputs?: number;
  /** Environment beyond the allowlist every child gets (GST_DEBUG, the recording's DISPLAY and XAUTHORITY...). */
  env?: NodeJS.ProcessEnv;
  /** Keep the pipeline description out of argv (it holds secrets): see private-launch.ts. Takes fd 3. */
  privatePipeline?: boolean;
}

// A state change of the top-level pipeline (gst-launch names it pipeline0), not of an element in it.
const PIPELINE_PLAYING =
  /^Got message #\d+ from element "pipeline\d+" \(state-changed\): .*new-state=\(GstState\)playing/;
const PIPELINE_EOS = /^Got EOS from element "pipeline\d+"/;
const ELEMENT_ERROR = /^ERROR: from element (\S+?): (.*)$/;
const PARSE_ERROR = /^(?:WARNING|ERROR): erroneous pipeline: (.*)$/;
// Per-element state and thread chatter: dozens of lines per start that say nothing the events don't.
const CHATTER =
  /^Got message #\d+ from (?:element|pad|object) "(?!pipeline\d+")[^"]*" \((?:state-changed|stream-status)\)/;

/** A running gst-launch-1.0 process. */
export class GstLaunch extends EventEmitter<GstLaunchEvents> {
  readonly pid: number | undefined;
  /** Resolves when the process has exited and its output has been read. */
  readonly exited: Promise<GstExit>;
  /** fd 3 of gst-launch, with `feedFd`. */
  readonly feed: Readable | undefined;
  /** stdin of gst-launch, with `stdin`. */
  readonly input: Writable | undefined;
  /** fds 4, 5... of gst-launch, with `extraInputs`. */
  readonly inputs: Writable[];
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  private readonly maxStderr: number;
  private readonly log: (line: string) => void;
  private sawPlaying = false;
  private sawEos = false;
  private firstError: GstError | undefined;
  private killed = false;
  private interrupted = false;

  /** Spawns `gst-launch-1.0 -e -m <pipeline>` in this process group. */
  constructor(pipeline: string[], options: GstLaunchOptions = {}) {
    super();
    this.log = options.log ?? (() => {});
    this.maxStderr = options.stderrLines ?? 30;
    const extra = options.extraInputs ?? 0;
    const hidden = options.privatePipeline ? privateLaunch(pipeline) : undefined;
    if (hidden && (options.feedFd || extra > 0))
      throw new Error('privatePipeline takes fd 3: no feedFd or extraInputs');
    const fd3: 'pipe' | 'ignore' = options.feedFd || hidden ? 'pipe' : 'ignore';
    this.child = spawn(hidden?.command ?? 'gst-launch-1.0', hidden?.args ?? ['-e', '-m', ...pipeline], {
      ...(hidden ? { argv0: hidden.argv0 } : {}),
      stdio: [
        options.stdin ? ('pipe' as const) : ('ignore' as const),
        'pipe',
        'pipe',
        ...(options.feedFd || extra > 0 || hidden ? [fd3] : []),
        ...Array.from({ length: extra }, () => 'pipe' as const),
      ],
      detached: false,
      env: childEnv(options.env),
    });
    this.pid = this.child.pid;
    this.feed = options.feedFd ? (this.child.stdio[3] as Readable) : undefined;
    this.input = options.stdin ? (this.child.stdin ?? undefined) : undefined;
    this.inputs = Array.from({ length: extra }, (_, i) => this.child.stdio[4 + i] as Writable);
    for (const input of this.inputs) input.on('error', () => undefined);
    // A reader that went away is the exit's business, not an uncaught stream error.
    this.feed?.on('error', () => undefined);
    this.input?.on('error', () => undefined);
    if (hidden) (this.child.stdio[3] as Writable | null)?.on('error', () => undefined).end(hidden.program);
    forEachLine(this.child.stdout, (line) => this.onLine(line, false));
    forEachLine(this.child.stderr, (line) => this.onLine(line, true));
    this.exited = new Promise<GstExit>((resolve) => {
      // 'close' comes after 'exit' and after stdout/stderr ended, so every line has been parsed.
      this.child.once('close', (code, signal) => resolve(this.exitInfo({ code, signal })));
      this.child.once('error', (err) => {
        if (this.pid !== undefined) return;
        this.recordError({ message: `could not run gst-launch-1.0: ${err.message}` });
        resolve(this.exitInfo({ code: null, signal: null }));
      });
    }).then((info) => {
      this.emit('exit', info);
      return info;
    });
  }

  /** Whether gst-launch is still running. */
  get running(): boolean {
    return isRunning(this.child);
  }

  /** The last stderr lines, oldest first. */
  recentStderr(): string[] {
    return [...this.stderrTail];
  }

  /**
   * Stops the pipeline cleanly: one SIGINT makes gst-launch send EOS through every sink and exit. If it
   * has not exited within `timeoutMs` it is SIGKILLed; `eos` in the result tells whether EOS got through.
   */
  async stop({ timeoutMs }: { timeoutMs: number }): Promise<GstExit> {
    if (!this.interrupted && this.running) {
      this.interrupted = true;
      this.child.kill('SIGINT');
    }
    const inTime = await Promise.race([this.exited.then(() => true), delay(timeoutMs).then(() => false)]);
    if (!inTime) {
      this.log(`gst-launch did not exit within ${timeoutMs} ms of SIGINT; killing it`);
      return this.kill();
    }
    return this.exited;
  }

  /** Kills gst-launch now (no EOS) and waits for it. */
  async kill(): Promise<GstExit> {
    if (this.running) {
      this.killed = true;
      this.child.kill('SIGKILL');
    }
    await exitOf(this.child);
    return this.exited;
  }

  private exitInfo(status: ExitStatus): GstExit {
    return {
      ...status,
      eos: this.sawEos,
      killed: this.killed,
      ...(this.firstError ? { error: this.firstError } : {}),
    };
  }

  private recordError(error: GstError): void {
    if (this.firstError) return;
    this.firstError = error;
    this.emit('pipelineError', error);
  }

  private onLine(line: string, isStderr: boolean): void {
    if (isStderr) {
      this.stderrTail.push(line);
      if (this.stderrTail.length > this.maxStderr) this.stderrTail.shift();
    }
    if (!CHATTER.test(line)) this.log(line);
    if (!this.sawPlaying && PIPELINE_PLAYING.test(line)) {
      this.sawPlaying = true;
      this.emit('playing');
      return;
    }
    if (!this.sawEos && PIPELINE_EOS.test(line)) {
      this.sawEos = true;
      this.emit('eos');
      return;
    }
    if (!isStderr) {
      const message = parseElementMessage(line);
      if (message) {
        this.emit('element', message);
        return;
      }
    }
    const elementError = ELEMENT_ERROR.exec(line);
    if (elementError) {
      const path = elementError[1] ?? '';
      // "/GstPipeline:pipeline0/GstXImageSrc:ximagesrc0" -> "ximagesrc0"
      const element = path.slice(path.lastIndexOf(':') + 1);
      this.recordError({ element, message: elementError[2] ?? '' });
      return;
    }
    const parseError = PARSE_ERROR.exec(line);
    if (parseError) this.recordError({ message: parseError[1] ?? line });
  }
}

/** Renders a pipeline error for humans: "ximagesrc0: Could not open X display for reading". */
export function formatGstError(error: GstError): string {
  return error.element ? `${error.element}: ${error.message}` : error.message;
}
