import { EventEmitter } from 'node:events';
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

export interface ActiveEgressDeps {
  io: IoReporter;
  log: Logger;
  /** Receives each output line of the recorder tree. */
  onOutput: (line: string, stream: 'stdout' | 'stderr') => void;
  readyTimeoutMs?: number;
  hangTimeoutMs?: number;
  recorderEntry?: string;
  recorderEnv?: NodeJS.ProcessEnv;
}

export interface ActiveEgressEvents {
  ended: [EgressInfo];
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
  private exitHandled = false;
  private keepTmpDir = false;
  /** When the recorder reported ACTIVE (unix ms): the start of any salvaged media. */
  private activeAt: number | undefined;
  /** Resolves with the terminal info once the egress has ended and its resources are released. */
  readonly ended: Promise<EgressInfo>;

  constructor(
    readonly plan: RecordingPlan,
    public info: EgressInfo,
    private readonly deps: ActiveEgressDeps,
  ) {
    super();
    this.ended = new Promise((resolve) => this.once('ended', resolve));
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
    proc.on('message', (ev) => this.onChildEvent(ev));
    proc.on('malformed', (err) => this.deps.log.warn('bad message from recorder', { error: err.message }));
    proc.on('exit', (e) => void this.onExit(e));
    if (spare) {
      if (spare.hasExited) void this.onExit(await spare.exited);
    } else {
      await proc.waitReady();
    }
    if (!proc.send({ type: 'start', plan: this.plan })) {
      proc.kill('IPC channel closed before start');
      throw errors.internal('recorder failed to start: IPC channel closed');
    }
  }

  /** Asks the recorder to end with EOS; returns the info to answer StopEgress with. */
  stop(reason: string): EgressInfo {
    if (this.finished || TERMINAL_STATES.includes(this.state)) return this.info;
    if (this.state === 'active') this.transition('ending');
    if (!this.proc?.send({ type: 'stop', reason })) this.proc?.interrupt();
    return this.info;
  }

  /** Kills the recorder tree now; the egress ends FAILED with this cause. */
  kill(reason: string): void {
    this.proc?.kill(reason);
  }

  private onChildEvent(ev: ChildEvent): void {
    if (this.finished) return;
    switch (ev.type) {
      case 'active':
        this.activeAt = ev.startedAt;
        this.info.startedAt = msToNs(ev.startedAt);
        this.transition('active');
        break;
      case 'ending':
        this.transition('ending');
        break;
      case 'ended':
        void this.finish(ev.info);
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

  private async onExit(e: ExitInfo): Promise<void> {
    if (this.finished || this.exitHandled) return;
    this.exitHandled = true;
    const cause = describeExit(e);
    this.deps.log.error('recorder died before reporting an end', { cause });
    const { files, kept } = await this.salvage();
    await this.finish({
      state: 'failed',
      details: 'End reason: Failure',
      error: {
        code: 'internal',
        message: `recorder process ended unexpectedly (${cause})${kept ? `; partial capture kept at ${kept}` : ''}`,
      },
      files,
      endedAt: Date.now(),
      ...(this.activeAt !== undefined ? { startedAt: this.activeAt } : {}),
    });
  }

  /** Nothing is lost: what a dead recorder captured is finalized and delivered by the supervisor. */
  private async salvage(): Promise<{ files: FileResult[]; kept?: string }> {
    const destination = this.plan.outputs.file?.destination;
    if (!destination || this.activeAt === undefined) return { files: [] };
    try {
      const file = await deliverCapture({
        tmpDir: this.plan.tmpDir,
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
      return { files: [], kept: capturePath(this.plan.tmpDir) };
    }
  }

  private async finish(end: EndInfo): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.state = end.state;
    this.info = endedInfo(this.info, end);
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
    this.deps.log.info(`egress ${end.state}`, { details: end.details, error: end.error?.message });
    this.deps.io.update(this.info).catch(() => undefined);
    this.emit('ended', this.info);
  }
}
