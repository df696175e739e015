import type { Logger } from '@egress/shared';
import type { RecorderProcess } from './recorder-process.js';

/**
 * Keeps one recorder child booted and ready, so a StartEgress skips Node's start-up and module loading
 * (about 0.4 s of the request -> ACTIVE path). A spare that dies is replaced; a spare is never reused.
 */
export class SpareRecorder {
  private spare: RecorderProcess | undefined;
  private ready: Promise<RecorderProcess | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly spawn: () => RecorderProcess,
    private readonly log: Logger,
    /** Wait before booting a replacement, so it does not compete with the recording that just started. */
    private readonly refillDelayMs = 3000,
  ) {}

  /** The booted (or booting) spare's pid: a live recorder as far as the reaper is concerned. */
  get pid(): number | undefined {
    return this.spare?.pid;
  }

  /** Boots a spare after `delayMs` unless one exists or is on its way. */
  fill(delayMs = 0): void {
    if (this.closed || this.spare || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || this.spare) return;
      const proc = this.spawn();
      this.spare = proc;
      this.ready = proc.waitReady().then(
        () => proc,
        (err: Error) => {
          this.log.warn('spare recorder failed to start', { error: err.message });
          return undefined;
        },
      );
      void proc.exited.then(() => {
        if (this.spare !== proc) return;
        this.spare = undefined;
        this.ready = undefined;
        this.fill(this.refillDelayMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  /** Hands out the spare if one is booted or booting (and still alive); schedules the next one. */
  async take(): Promise<RecorderProcess | undefined> {
    const ready = this.ready;
    const proc = this.spare;
    this.spare = undefined;
    this.ready = undefined;
    this.fill(this.refillDelayMs);
    if (!ready || !proc) return undefined;
    const got = await ready;
    return got && !got.hasExited ? got : undefined;
  }

  /** Stops refilling and kills the spare. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.spare?.kill('supervisor shutting down');
    this.spare = undefined;
    this.ready = undefined;
  }
}
