import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { errors, parseChildEvent, type ChildEvent, type ParentCommand } from '@egress/shared';
import { recorderChildEnv } from '@egress/shared/host/child-env';
import { OOM_NOTE, OomKillWatch } from '@egress/shared/system/oom-kills';
import { describeExit as describeStatus, signalQuietly } from '@egress/shared/host/terminate';

/** The compiled recorder entry point, resolved through the workspace package. */
export const RECORDER_MAIN = fileURLToPath(import.meta.resolve('@egress/recorder/main'));

export type OutputSink = (line: string, stream: 'stdout' | 'stderr') => void;

export interface RecorderProcessOptions {
  /** Called for every line the child (and its Chromium and gst-launch) prints; see setOutput. */
  onOutput: OutputSink;
  readyTimeoutMs?: number;
  /** A child that has not answered a ping for this long is declared hung. */
  hangTimeoutMs?: number;
  pingIntervalMs?: number;
  env?: NodeJS.ProcessEnv;
  entry?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the supervisor itself killed the child, naming why. */
  killedFor?: string;
  /** The kernel's OOM killer ran in the child's memory cgroup while it lived. */
  outOfMemory?: boolean;
}

export interface RecorderProcessEvents {
  message: [ChildEvent];
  malformed: [Error];
  hung: [];
  exit: [ExitInfo];
}

/**
 * One recorder child: forked into its own session and process group (so one signal reaches Xvfb,
 * Chromium and gst-launch too), watched by a heartbeat, and killed as a group.
 */
export class RecorderProcess extends EventEmitter<RecorderProcessEvents> {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  private lastPong = Date.now();
  private killedFor: string | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private exitInfo: ExitInfo | undefined;
  private output: OutputSink;
  private hangMs: number;
  private pingMs: number | undefined;

  constructor(private readonly opts: RecorderProcessOptions) {
    super();
    this.output = opts.onOutput;
    this.hangMs = opts.hangTimeoutMs ?? 5000;
    this.pingMs = opts.pingIntervalMs;
    this.child = fork(opts.entry ?? RECORDER_MAIN, [], {
      detached: true,
      // The test runner's own flags must not turn a recorder into a test process.
      execArgv: process.execArgv.filter((a) => !a.startsWith('--test')),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      // The config arrives over IPC with the plan; the environment is an allowlist (no EGRESS_CONFIG_BODY).
      env: recorderChildEnv(opts.env),
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const s = this.child[stream];
      if (s) createInterface({ input: s, crlfDelay: Infinity }).on('line', (l) => this.output(l, stream));
    }
    const oom = new OomKillWatch(this.child.pid ?? 'self');
    this.child.on('message', (raw: unknown) => {
      let ev: ChildEvent;
      try {
        ev = parseChildEvent(raw);
      } catch (err) {
        this.emit('malformed', err as Error);
        return;
      }
      if (ev.type === 'pong') this.lastPong = Date.now();
      else this.emit('message', ev);
    });
    // A dead channel or a failed send must not throw into the supervisor.
    this.child.on('error', (err) => this.emit('malformed', err));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        clearInterval(this.pingTimer);
        // Whatever the child left in its group (Chromium, gst-launch, Xvfb) goes with it.
        this.signalGroup('SIGKILL');
        this.exitInfo = {
          code,
          signal,
          ...(this.killedFor ? { killedFor: this.killedFor } : {}),
          ...(signal === 'SIGKILL' && !this.killedFor && oom.killsSince() > 0 ? { outOfMemory: true } : {}),
        };
        this.emit('exit', this.exitInfo);
        resolve(this.exitInfo);
      });
    });
  }

  /** Re-targets the child's output, for a spare handed to an egress. */
  setOutput(sink: OutputSink): void {
    this.output = sink;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Resolves when the child says it is ready; kills it and rejects after the ready timeout. */
  async waitReady(): Promise<void> {
    const timeoutMs = this.opts.readyTimeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        this.kill(`not ready within ${timeoutMs / 1000} s`);
        reject(errors.internal(`recorder failed to start: not ready within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const onMessage = (ev: ChildEvent) => {
        if (ev.type !== 'ready') return;
        cleanup();
        resolve();
      };
      const onExit = (e: ExitInfo) => {
        cleanup();
        reject(errors.internal(`recorder failed to start: exited (${describeExit(e)})`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.off('message', onMessage);
        this.off('exit', onExit);
      };
      this.on('message', onMessage);
      this.on('exit', onExit);
    });
    this.startHeartbeat();
  }

  /**
   * Changes the hang timeout (and so the ping cadence): a spare is watched slowly because every wakeup
   * costs an idle node CPU, and is switched to the egress cadence when it is handed out.
   */
  setHangTimeout(hangTimeoutMs: number): void {
    this.hangMs = hangTimeoutMs;
    this.pingMs = undefined;
    if (this.pingTimer && !this.exitInfo) {
      clearInterval(this.pingTimer);
      this.startHeartbeat();
    }
  }

  private startHeartbeat(): void {
    const hang = this.hangMs;
    // At least two pings fit in the hang timeout, so one lost message is not a hang.
    const every = this.pingMs ?? hang / 3;
    this.lastPong = Date.now();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastPong > hang) {
        clearInterval(this.pingTimer);
        this.emit('hung');
        this.kill(`no heartbeat for ${hang / 1000} s`);
        return;
      }
      this.send({ type: 'ping' });
    }, every);
    this.pingTimer.unref();
  }

  /** The child's own metrics in Prometheus text; undefined when it does not answer within `timeoutMs`. */
  async requestMetrics(timeoutMs = 1000): Promise<string | undefined> {
    if (this.exitInfo) return undefined;
    return await new Promise<string | undefined>((resolve) => {
      const done = (text: string | undefined) => {
        clearTimeout(timer);
        this.off('message', onMessage);
        this.off('exit', onExit);
        resolve(text);
      };
      const onMessage = (ev: ChildEvent) => ev.type === 'metrics' && done(ev.text);
      const onExit = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.on('message', onMessage);
      this.on('exit', onExit);
      if (!this.send({ type: 'metrics' })) done(undefined);
    });
  }

  /** Sends a command; false when the channel is already gone. */
  send(cmd: ParentCommand): boolean {
    if (!this.child.connected) return false;
    try {
      return this.child.send(cmd);
    } catch {
      return false;
    }
  }

  /** Graceful request to end: the child sends EOS and finalizes. */
  interrupt(): void {
    this.signalGroupLeader('SIGINT');
  }

  /** Hard kill of the whole group, remembering why for the exit report. */
  kill(reason: string): void {
    this.killedFor ??= reason;
    this.signalGroup('SIGKILL');
  }

  private signalGroupLeader(signal: NodeJS.Signals): void {
    if (this.child.pid && !this.hasExited) signalQuietly(this.child.pid, signal);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid) signalQuietly(-this.child.pid, signal);
  }
}

/** Describes a recorder's end: why the supervisor killed it, an OOM kill, else its signal or exit code. */
export function describeExit(e: ExitInfo): string {
  if (e.killedFor) return `killed: ${e.killedFor}`;
  if (e.outOfMemory) return `${describeStatus(e)} (${OOM_NOTE})`;
  return e.signal ? describeStatus(e) : `exit ${describeStatus(e)}`;
}
