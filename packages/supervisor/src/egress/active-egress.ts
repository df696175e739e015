import { EventEmitter } from 'node:events';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EgressInfo } from '@livekit/protocol';
import {
  errors,
  TERMINAL_STATES,
  type ChildEvent,
  type EndInfo,
  type FileResult,
  type LifecycleState,
  type Logger,
  type RecordingPlan,
} from '@egress/shared';
import { capturePath, deliverCapture } from '@egress/recorder/outputs/file-delivery';
import { describeExit, RecorderProcess, type ExitInfo } from '../pool/recorder-process.js';
import { releaseOwned } from '../pool/owned-resources.js';
import type { IoReporter } from '../rpc/io-reporter.js';
import { endedInfo, msToNs, STATUS_OF } from './egress-info.js';
import { writeManifest } from './manifest.js';
import { partDestination } from './parts.js';

export interface ActiveEgressDeps {
  io: IoReporter;
  log: Logger;
  /** Receives each output line of the recorder tree. */
  onOutput: (line: string, stream: 'stdout' | 'stderr') => void;
  readyTimeoutMs?: number;
  hangTimeoutMs?: number;
  recorderEntry?: string;
  recorderEnv?: NodeJS.ProcessEnv;
  /** Fresh recorders this egress may get after losing one while ACTIVE (config recorder_restarts). */
  restarts?: number;
  /** Wait before restart n (1-based); default 250 ms x n. */
  restartDelayMs?: (n: number) => number;
  /** A booted recorder to restart with, when one is at hand. */
  takeSpare?: () => Promise<RecorderProcess | undefined>;
}

export interface ActiveEgressEvents {
  ended: [EgressInfo];
  /** A fresh recorder took over; the pids are the old and new process groups. */
  restarted: [{ oldPid: number | undefined; newPid: number | undefined }];
}

/**
 * One egress as the supervisor sees it: the state machine starting -> active -> ending -> terminal,
 * the recorder child behind it, and the reports to livekit-server on each change.
 */
export class ActiveEgress extends EventEmitter<ActiveEgressEvents> {
  state: LifecycleState = 'starting';
  readonly createdAt = Date.now();
  private proc: RecorderProcess | undefined;
  private finished = false;
  private keepTmpDir = false;
  /** When the current recorder reported ACTIVE (unix ms): the start of its part of the media. */
  private activeAt: number | undefined;
  /** When the first recorder reported ACTIVE: the egress's start. */
  private firstActiveAt: number | undefined;
  /** The plan the current recorder runs: the request's, with this part's destination. */
  private attemptPlan: RecordingPlan;
  /** Files delivered by recorders that were replaced. */
  private readonly parts: FileResult[] = [];
  private readonly restartNotes: string[] = [];
  private restarting = false;
  /** Cuts a restart's backoff short when a stop arrives in it. */
  private backoff: AbortController | undefined;
  /** Why no recorder may replace this one any more: a stop or a kill asked for the end. */
  private noRestart: string | undefined;
  /** Resolves with the terminal info once the egress has ended and its resources are released. */
  readonly ended: Promise<EgressInfo>;

  constructor(
    readonly plan: RecordingPlan,
    public info: EgressInfo,
    private readonly deps: ActiveEgressDeps,
  ) {
    super();
    this.attemptPlan = plan;
    this.ended = new Promise((resolve) => this.once('ended', resolve));
  }

  /** How many times a fresh recorder took over. */
  get restarts(): number {
    return this.restartNotes.length;
  }

  get egressId(): string {
    return this.plan.egressId;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /**
   * Takes a booted spare (or forks a recorder and waits for its ready handshake) and hands it the plan.
   * Throws if it cannot start.
   */
  async launch(spare?: RecorderProcess): Promise<void> {
    const proc =
      spare ??
      new RecorderProcess({
        onOutput: this.deps.onOutput,
        ...(this.deps.readyTimeoutMs !== undefined ? { readyTimeoutMs: this.deps.readyTimeoutMs } : {}),
        ...(this.deps.hangTimeoutMs !== undefined ? { hangTimeoutMs: this.deps.hangTimeoutMs } : {}),
        ...(this.deps.recorderEntry !== undefined ? { entry: this.deps.recorderEntry } : {}),
        ...(this.deps.recorderEnv !== undefined ? { env: this.deps.recorderEnv } : {}),
      });
    this.proc = proc;
    proc.setOutput(this.deps.onOutput);
    if (spare) spare.setHangTimeout(this.deps.hangTimeoutMs ?? 5000);
    // Events of a recorder that has since been replaced are history, not news.
    proc.on('message', (ev) => proc === this.proc && this.onChildEvent(ev));
    proc.on('malformed', (err) => this.deps.log.warn('bad message from recorder', { error: err.message }));
    proc.on('exit', (e) => proc === this.proc && void this.onExit(e));
    if (spare) {
      if (spare.hasExited) void this.onExit(await spare.exited);
    } else {
      await proc.waitReady();
    }
    if (!proc.send({ type: 'start', plan: this.attemptPlan })) {
      proc.kill('IPC channel closed before start');
      throw errors.internal('recorder failed to start: IPC channel closed');
    }
  }

  /** The current recorder's own metrics (Prometheus text), if it answers in time. */
  metrics(timeoutMs?: number): Promise<string | undefined> {
    return this.proc?.requestMetrics(timeoutMs) ?? Promise.resolve(undefined);
  }

  /** Asks the recorder to end with EOS; returns the info to answer StopEgress with. */
  stop(reason: string): EgressInfo {
    if (this.finished || TERMINAL_STATES.includes(this.state)) return this.info;
    this.noRestart ??= reason;
    this.backoff?.abort();
    if (this.state === 'active') this.transition('ending');
    if (!this.proc?.send({ type: 'stop', reason })) this.proc?.interrupt();
    return this.info;
  }

  /** Kills the recorder tree now; the egress ends FAILED with this cause. */
  kill(reason: string): void {
    this.noRestart ??= reason;
    this.proc?.kill(reason);
  }

  private onChildEvent(ev: ChildEvent): void {
    if (this.finished) return;
    switch (ev.type) {
      case 'active':
        this.activeAt = ev.startedAt;
        if (this.firstActiveAt === undefined) {
          this.firstActiveAt = ev.startedAt;
          this.info.startedAt = msToNs(ev.startedAt);
        }
        this.transition('active');
        break;
      case 'ending':
        this.transition('ending');
        break;
      case 'ended':
        if (ev.info.restartable && this.mayRestart()) {
          void this.restart(ev.info.error?.message ?? ev.info.details, ev.info.files);
        } else {
          void this.finish(ev.info);
        }
        break;
      default:
        break;
    }
  }

  private transition(next: LifecycleState): void {
    if (this.state === next || TERMINAL_STATES.includes(this.state)) return;
    this.state = next;
    this.info.status = STATUS_OF[next];
    this.info.updatedAt = msToNs(Date.now());
    this.deps.log.info(`egress ${next}`, { status: next });
    this.deps.io.update(this.info).catch(() => undefined);
  }

  /** A fresh recorder may take over: the egress was ACTIVE, nobody asked for its end, restarts remain. */
  private mayRestart(): boolean {
    return (
      this.state === 'active' &&
      this.noRestart === undefined &&
      !this.restarting &&
      this.restarts < (this.deps.restarts ?? 0)
    );
  }

  /**
   * Replaces a lost recorder: the part it wrote is already delivered (`delivered`), its leftovers are
   * released, and after a short backoff a fresh recorder continues into the next part file. The egress
   * stays ACTIVE; its details name every restart and its cause.
   */
  private async restart(cause: string, delivered: FileResult[]): Promise<void> {
    this.restarting = true;
    this.backoff = new AbortController();
    const old = this.proc;
    const n = this.restarts + 1;
    this.parts.push(...delivered);
    this.restartNotes.push(`recorder restarted (${n}/${this.deps.restarts}): ${cause}`);
    this.deps.log.warn('restarting the recorder', { cause, restart: n, parts: this.parts.length });
    this.info.details = this.restartNotes.join('; ');
    this.info.updatedAt = msToNs(Date.now());
    this.deps.io.update(this.info).catch(() => undefined);
    if (old && !old.hasExited) {
      const timer = setTimeout(() => old.kill('replaced after losing a process'), 5000);
      await old.exited;
      clearTimeout(timer);
    }
    await this.releaseAttempt(n);
    await sleep(this.deps.restartDelayMs?.(n) ?? 250 * n, undefined, { signal: this.backoff?.signal }).catch(
      () => undefined,
    );
    this.backoff = undefined;
    const file = this.plan.outputs.file;
    this.attemptPlan = {
      ...this.plan,
      outputs: {
        ...this.plan.outputs,
        ...(file ? { file: { ...file, destination: partDestination(file.destination, n + 1) } } : {}),
      },
    };
    this.activeAt = undefined;
    this.restarting = false;
    if (this.noRestart !== undefined) {
      // Stopped while no recorder ran: what the earlier parts hold is the whole recording.
      await this.finish({
        state: 'complete',
        details: `End reason: ${this.noRestart}`,
        files: [],
        endedAt: Date.now(),
      });
      return;
    }
    try {
      await this.launch(await this.deps.takeSpare?.());
      this.emit('restarted', { oldPid: old?.pid, newPid: this.proc?.pid });
    } catch (err) {
      await this.finish({
        state: 'failed',
        details: 'End reason: Failure',
        error: { code: 'internal', message: `recorder restart ${n} failed: ${errors.from(err).message}` },
        files: [],
        endedAt: Date.now(),
      });
    }
  }

  /** Frees what the replaced recorder held; a scratch dir with undelivered media moves aside, kept. */
  private async releaseAttempt(n: number): Promise<void> {
    let tmpDir: string | undefined = this.plan.tmpDir;
    if (this.keepTmpDir) {
      const aside = `${this.plan.tmpDir}.part${n}`;
      await rename(this.plan.tmpDir, aside).catch(() => undefined);
      const kept = capturePath(aside, this.plan.outputs.file?.fileType);
      this.restartNotes[this.restartNotes.length - 1] += `; partial capture kept at ${kept}`;
      this.info.details = this.restartNotes.join('; ');
      this.keepTmpDir = false;
      tmpDir = undefined;
    }
    await releaseOwned(this.egressId, tmpDir).catch((err: Error) =>
      this.deps.log.warn('cleanup before restart failed', { error: err.message }),
    );
  }

  private async onExit(e: ExitInfo): Promise<void> {
    if (this.finished || this.restarting) return;
    const cause = describeExit(e);
    this.deps.log.error('recorder died before reporting an end', { cause });
    const { files, kept } = await this.salvage();
    if (this.mayRestart()) {
      await this.restart(`recorder process ended unexpectedly (${cause})`, files);
      return;
    }
    await this.finish({
      state: 'failed',
      details: 'End reason: Failure',
      error: {
        code: 'internal',
        message: `recorder process ended unexpectedly (${cause})${kept ? `; partial capture kept at ${kept}` : ''}`,
      },
      files,
      endedAt: Date.now(),
    });
  }

  /** Nothing is lost: what a dead recorder captured is finalized and delivered by the supervisor. */
  private async salvage(): Promise<{ files: FileResult[]; kept?: string }> {
    const destination = this.attemptPlan.outputs.file?.destination;
    if (!destination || this.activeAt === undefined) return { files: [] };
    try {
      const file = await deliverCapture({
        tmpDir: this.plan.tmpDir,
        fileType: this.attemptPlan.outputs.file?.fileType ?? 'mp4',
        destination,
        startedAt: this.activeAt,
        endedAt: Date.now(),
        note: (line) => this.deps.log.info(`salvage: ${line}`),
      });
      return { files: file ? [file] : [] };
    } catch (err) {
      // The raw capture stays on disk (the reaper never deletes media), and the report says where.
      this.keepTmpDir = true;
      this.deps.log.error('could not salvage the partial recording', { error: errors.from(err).message });
      return { files: [], kept: capturePath(this.plan.tmpDir, this.plan.outputs.file?.fileType) };
    }
  }

  /** Upstream's `<egressId>.json` next to the file output, whatever the end; its path goes in the report. */
  private async writeManifest(): Promise<void> {
    const file = this.plan.outputs.file;
    if (!file?.manifest) return;
    try {
      this.info.manifestLocation = await writeManifest(path.dirname(file.destination), this.info, this.plan.source.url);
    } catch (err) {
      this.deps.log.warn('could not write the manifest', { error: errors.from(err).message });
    }
  }

  private async finish(end: EndInfo): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.state = end.state;
    // Every part is listed, oldest first; the egress started when its first recorder went ACTIVE.
    const files = [...this.parts, ...end.files];
    const startedAt = this.firstActiveAt ?? end.startedAt;
    const restarted = this.restartNotes.length > 0 ? `; ${this.restartNotes.join('; ')}` : '';
    this.info = endedInfo(this.info, {
      ...end,
      files,
      details: `${end.details}${restarted}`,
      ...(startedAt !== undefined ? { startedAt } : {}),
    });
    // The child normally exits right after its report; make sure nothing of its tree outlives it.
    const proc = this.proc;
    if (proc && !proc.hasExited) {
      const timer = setTimeout(() => proc.kill('did not exit after reporting its end'), 5000);
      await proc.exited;
      clearTimeout(timer);
    }
    await releaseOwned(this.egressId, this.keepTmpDir ? undefined : this.plan.tmpDir).catch((err: Error) =>
      this.deps.log.warn('cleanup failed', { error: err.message }),
    );
    await this.writeManifest();
    this.deps.log.info(`egress ${end.state}`, { details: end.details, error: end.error?.message });
    this.deps.io.update(this.info).catch(() => undefined);
    this.emit('ended', this.info);
  }
}
