/**
 * The lifecycle every recording shares, whatever its source: start -> active -> (stop, failure or abort) ->
 * EOS -> teardown -> output finishing -> file delivery -> end info. A subclass brings its sources and
 * pipeline up and down; this class decides when, and how the end is reported.
 */
import { EventEmitter } from 'node:events';
import { mkdir, rm, stat } from 'node:fs/promises';
import {
  EgressError,
  errors,
  type EndInfo,
  type FileOutputPlan,
  type FileResult,
  type ImageEntry,
  type ImagesResult,
  type RecordedTrack,
  type RecordingPlan,
  type SegmentEntry,
  type SegmentsResult,
  type StreamResult,
} from '@egress/shared';
import { formatGstError, GstLaunch, type GstExit, type GstLaunchOptions } from './gst/launch.js';
import { delay, describeExit } from '@egress/shared/host/terminate';
import { capturePath, deliverOrKeep } from './outputs/file-delivery.js';
import { RecordingOutputs } from './outputs/recording-outputs.js';
import { recordingUploads, verifyUploads, type RecordingUploads } from './outputs/upload-targets.js';

/** Options every recording takes. */
export interface RecordingLifecycleOptions {
  /** Receives every log line, prefixed with its source: "[gst] ...", "[chromium] ...", "[recording] ...". */
  log?: (line: string) => void;
  /** How long EOS may take after a stop before gst-launch is killed (default 30000 ms, as upstream). */
  eosTimeoutMs?: number;
  /** Bound on gst-launch reaching PLAYING (default 10000 ms). */
  playingTimeoutMs?: number;
}

/** Events of a recording (a WebRecording or an SdkRecording). */
export interface RecordingEvents {
  /** The recording is live. Unix ms. */
  active: [startedAt: number];
  /** A stop was accepted while active; EOS is on its way. */
  ending: [reason: string];
  /** A start-up stage (pulse, xvfb, chromium, page, room, gst) finished after `ms`. */
  stage: [name: string, ms: number];
  /** Stream, segment or image results changed; read them with results(). */
  progress: [];
  /** An HLS segment was delivered. */
  segment: [SegmentEntry];
  /** An image of image output `output` was delivered. */
  image: [output: number, entry: ImageEntry];
  /** A track egress found its track: the file it writes from now on, and the track as the room lists it. */
  trackFile: [file: FileOutputPlan, track: RecordedTrack];
}

/** Stream, segment and image results of a recording. */
export interface RecordingResults {
  streams: StreamResult[];
  segments: SegmentsResult[];
  images: ImagesResult[];
}

/** Where the kinds of recording differ within the shared lifecycle. */
export interface RecordingTraits {
  /** Appended to the error when gst-launch had to be killed for want of EOS. */
  eosKilledNote: string;
}

/** Upstream's words for an end caused by a session limit (and its error text). */
const SESSION_LIMIT_REACHED = 'Session limit reached';

/** Upstream's words for an end caused by the page printing END_RECORDING. */
export const SOURCE_CLOSED = 'Source closed';

/** Upstream's words for an end caused by UpdateStream removing the last stream. */
const ALL_STREAMS_STOPPED = 'All streams stopped';

/**
 * One recording from plan to delivered outputs. `ended` resolves (never rejects) once the recording is over
 * and every process it started is gone, its sources are released and its scratch directory removed (or kept
 * when it holds undelivered media).
 */
export abstract class RecordingLifecycle extends EventEmitter<RecordingEvents> {
  /** Resolves (never rejects) once the recording is over and everything is cleaned up; needs start(). */
  readonly ended: Promise<EndInfo>;
  private resolveEnded!: (info: EndInfo) => void;
  protected readonly log: (source: string, line: string) => void;
  protected readonly eosTimeoutMs: number;
  protected readonly playingTimeoutMs: number;
  private readonly cancel = new AbortController();
  private startPromise: Promise<void> | undefined;

  /** Why it ended, in "End reason" words. */
  private endReason: string | undefined;
  /** First failure anywhere; decides the FAILED state. */
  private failure: EgressError | undefined;
  /** The failure was one of our processes dying, not the source or the request. */
  private lostProcess = false;
  /** Which session limit ended the recording, if one did. */
  private limitReached: string | undefined;
  private readonly limitTimers: NodeJS.Timeout[] = [];
  /** Set by abort(): kill everything, deliver nothing. */
  private hardAbort: string | undefined;
  /** Still waiting for the page's START_RECORDING: an end now is "Start signal not received". */
  protected waitingForStartSignal = false;
  /** Resolves as soon as any end (stop, failure, abort) is requested. */
  private readonly endRequested: Promise<void>;
  private requestEnd!: () => void;

  protected gst: GstLaunch | undefined;
  /** Segments, streams and images. */
  private outputs: RecordingOutputs | undefined;
  /** Where each output is uploaded, if anywhere. */
  protected uploads: RecordingUploads | undefined;
  /** Files whose upload failed: they stay in the scratch dir, which is then kept. */
  private readonly kept: string[] = [];
  /** The end of the pipeline's input has been signalled: gst-launch's exit is expected from now on. */
  protected stopping = false;
  private tearingDown = false;
  protected startedAt: number | undefined;
  private eosAt: number | undefined;
  private gstExitedAt: number | undefined;

  protected constructor(
    protected plan: RecordingPlan,
    options: RecordingLifecycleOptions,
    private readonly traits: RecordingTraits,
  ) {
    super();
    const log = options.log ?? (() => {});
    this.log = (source, line) => log(`[${source}] ${line}`);
    this.eosTimeoutMs = options.eosTimeoutMs ?? 30_000;
    this.playingTimeoutMs = options.playingTimeoutMs ?? 10_000;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.endRequested = new Promise((resolve) => (this.requestEnd = resolve));
  }

  /** Brings sources and pipeline up; resolves false early (without throwing) when an end was requested. */
  protected abstract startSequence(): Promise<boolean>;
  /** Lets the pipeline's input end so EOS goes through; resolves with gst-launch's exit, if it runs. */
  protected abstract drainPipeline(): Promise<GstExit | undefined>;
  /** Stops every source and process still running; never throws. */
  protected abstract stopSources(): Promise<void>;
  /** abort(): kills the processes now, without waiting. */
  protected abstract killNow(): void;
  /** Notes what the log should say at the end, before the end info is assembled. */
  protected noteEnd(): void {}

  /**
   * Starts the recording. Resolves once it is active; rejects with the EgressError of the end if it ends
   * before that (a stop, a failure, abort()). Callable once.
   */
  start(): Promise<void> {
    if (this.startPromise) return this.startPromise;
    this.startPromise = new Promise<void>((resolve, reject) => {
      this.once('active', () => resolve());
      void this.ended.then((info) =>
        reject(new EgressError(info.error?.code ?? 'internal', info.error?.message ?? info.details)),
      );
    });
    void this.record().then(this.resolveEnded);
    return this.startPromise;
  }

  /** Starts the recording (if not yet started) and resolves with how it ended; never rejects. */
  run(): Promise<EndInfo> {
    this.start().catch(() => {});
    return this.ended;
  }

  /**
   * Ends the recording: EOS and delivery when active, ABORTED when it has not started yet.
   * `reason` becomes "End reason: <reason>". Later calls are ignored.
   */
  stop(reason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    this.note(`stop requested: ${reason}`);
    this.requestEnd();
  }

  /** The hard path: kill every process now, deliver nothing. `ended` still resolves after cleanup. */
  abort(reason = 'Recording aborted'): void {
    if (this.hardAbort !== undefined) return;
    this.hardAbort = reason;
    this.endReason ??= reason;
    this.note(`abort: ${reason}`);
    this.cancel.abort();
    this.requestEnd();
    this.killNow();
    void this.outputs?.kill();
  }

  /** Stream, segment and image results so far. */
  results(): RecordingResults {
    return this.outputs?.results() ?? { streams: [], segments: [], images: [] };
  }

  /** UpdateStream: adds and removes stream URLs while recording; throws an EgressError for bad input. */
  async updateStream(add: string[], remove: string[]): Promise<StreamResult[]> {
    if (!this.plan.outputs.stream) {
      throw errors.invalidArgument('egress_id', this.plan.egressId, 'egress has no stream output to update');
    }
    if (!this.outputs || this.ending) throw errors.failedPrecondition('egress is not recording');
    return this.outputs.updateStream(add, remove);
  }

  /** Records a failure (the first one wins) and ends the recording. */
  protected fail(error: EgressError): void {
    if (this.failure) return;
    this.failure = error;
    this.endReason ??= error.message;
    this.note(`failure: ${error.message}`);
    this.requestEnd();
  }

  /** A process we started went away; once teardown has begun that is expected. */
  protected lost(error: EgressError): void {
    if (this.tearingDown) return;
    if (!this.failure) this.lostProcess = true;
    this.fail(error);
  }

  protected note(line: string): void {
    this.log('recording', line);
  }

  protected get ending(): boolean {
    return this.endReason !== undefined;
  }

  /** Resolves with `step`'s value, or with undefined as soon as an end is requested. */
  protected async untilEnd<T>(step: Promise<T>): Promise<T | undefined> {
    // The step may settle after the race is lost; its rejection is then of no interest.
    step.catch(() => {});
    return Promise.race([step, this.endRequested.then(() => undefined)]);
  }

  /** Makes the scratch dir and plans the uploads; `storageChecked` checks buckets and credentials meanwhile. */
  protected async prepareStorage(): Promise<{ uploads: RecordingUploads; storageChecked: Promise<void> }> {
    await mkdir(this.plan.tmpDir, { recursive: true });
    const uploads = await recordingUploads(this.plan);
    this.uploads = uploads;
    const storageChecked = verifyUploads(uploads, (l) => this.note(l));
    storageChecked.catch(() => {});
    return { uploads, storageChecked };
  }

  /** Sets up the segment, stream and image outputs of the plan, their events forwarded. */
  protected async openOutputs(uploads: RecordingUploads): Promise<RecordingOutputs> {
    const outputs = new RecordingOutputs(this.plan, {
      log: (l) => this.log('outputs', l),
      uploads,
      onKept: (p) => this.kept.push(p),
    });
    this.outputs = outputs;
    outputs.on('progress', () => this.emit('progress'));
    outputs.on('segment', (entry) => this.emit('segment', entry));
    outputs.on('image', (output, entry) => this.emit('image', output, entry));
    outputs.on('streamsFailed', (why) => this.fail(new EgressError('unavailable', why)));
    outputs.on('streamsRemoved', () => this.stop(ALL_STREAMS_STOPPED));
    await outputs.prepare();
    return outputs;
  }

  /** Runs the pipeline; `unexpectedExit` hears of an exit that comes before the end of its input. */
  protected launchGst(
    pipeline: string[],
    outputs: RecordingOutputs,
    options: Omit<GstLaunchOptions, 'log'>,
    unexpectedExit: (exit: GstExit) => void,
  ): GstLaunch {
    // Stream URLs are not in the pipeline (their senders are separate), so it can be logged as is.
    this.note(`gst-launch-1.0 -e -m ${pipeline.join(' ')}`);
    const gst = new GstLaunch(pipeline, { log: (l) => this.log('gst', l), ...options });
    this.gst = gst;
    gst.on('element', (m) => outputs.onMessage(m));
    gst.on('pipelineError', (e) => this.fail(errors.internal(`pipeline error: ${formatGstError(e)}`)));
    gst.on('eos', () => (this.eosAt = Date.now()));
    void gst.exited.then((exit) => {
      this.gstExitedAt = Date.now();
      if (!this.stopping) unexpectedExit(exit);
    });
    return gst;
  }

  /** True once gst-launch reports PLAYING, false when it does not within the bound, undefined on an end. */
  protected untilPlaying(gst: GstLaunch): Promise<boolean | undefined> {
    const playing = new Promise<boolean>((resolve) => {
      gst.once('playing', () => resolve(true));
      void delay(this.playingTimeoutMs).then(() => resolve(false));
    });
    return this.untilEnd(playing);
  }

  /** Ends the recording LIMIT_REACHED when a session limit (an output's duration, or the file's size) is reached. */
  protected watchLimits(): void {
    const { fileMaxBytes } = this.plan.limits ?? {};
    const { file, stream, segments, images } = this.plan.outputs;
    const durations: [string, number | undefined][] = [
      ['file_output_max_duration', file ? this.plan.limits?.fileMaxDurationMs : undefined],
      ['stream_output_max_duration', stream ? this.plan.limits?.streamMaxDurationMs : undefined],
      ['segment_output_max_duration', segments ? this.plan.limits?.segmentMaxDurationMs : undefined],
      ['image_output_max_duration', images?.length ? this.plan.limits?.imageMaxDurationMs : undefined],
    ];
    const hit = (what: string) => {
      if (this.ending) return;
      this.limitReached = what;
      this.note(`session limit reached: ${what}`);
      this.stop(SESSION_LIMIT_REACHED);
    };
    // As upstream, the first limit to run out ends every output.
    const [name, ms] = durations.filter((d): d is [string, number] => !!d[1]).sort((a, b) => a[1] - b[1])[0] ?? ['', 0];
    if (ms) this.limitTimers.push(setTimeout(() => hit(`${name} ${ms} ms`), ms));
    if (fileMaxBytes && file) {
      // Checked each second: the file may pass the limit by up to a second of media, as upstream's may.
      const timer = setInterval(() => {
        void stat(this.capturePath).then(
          (s) => s.size >= fileMaxBytes && hit(`file_output_max_size ${fileMaxBytes} bytes`),
          () => undefined,
        );
      }, 1000);
      this.limitTimers.push(timer);
    }
  }

  private clearLimits(): void {
    for (const t of this.limitTimers) clearTimeout(t);
  }

  /** Kills whatever is still running; never throws. */
  protected async teardown(): Promise<void> {
    this.tearingDown = true;
    this.clearLimits();
    await this.stopSources();
  }

  /** Waits for `step` of the teardown, noting (not throwing) its failure. */
  protected async quietly(what: string, step: Promise<unknown> | undefined): Promise<void> {
    try {
      await step;
    } catch (err) {
      this.note(`teardown of ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  protected get capturePath(): string {
    return capturePath(this.plan.tmpDir, this.plan.outputs.file?.fileType);
  }

  private async record(): Promise<EndInfo> {
    let file: FileResult | undefined;
    let results: RecordingResults | undefined;
    try {
      try {
        if (await this.startSequence()) await this.finishPipeline();
      } catch (err) {
        this.fail(errors.from(err));
      } finally {
        await this.teardown();
        results = await this.finishOutputs();
      }
      if (this.startedAt !== undefined && this.hardAbort === undefined && this.gst) file = await this.deliverFile();
    } catch (err) {
      this.fail(errors.from(err));
    } finally {
      if (this.kept.length > 0) {
        // Nothing is lost: undelivered media stays where it is; the reaper never deletes a dir holding media.
        this.note(`kept undelivered files in ${this.plan.tmpDir}: ${this.kept.join(', ')}`);
      } else {
        await rm(this.plan.tmpDir, { recursive: true, force: true }).catch((err: unknown) =>
          this.note(`could not remove ${this.plan.tmpDir}: ${String(err)}`),
        );
      }
    }
    return this.endInfo(file, results);
  }

  /** Waits for the end, then gets EOS through the pipeline (or learns why it cannot). */
  private async finishPipeline(): Promise<void> {
    await this.endRequested;
    this.clearLimits();
    if (this.hardAbort !== undefined) return;
    if (!this.failure) this.emit('ending', this.endReason ?? 'stopped');
    const exit = await this.drainPipeline();
    if (!exit || exit.eos) return;
    if (exit.error) {
      this.fail(errors.internal(`pipeline error: ${formatGstError(exit.error)}`));
    } else if (exit.killed) {
      this.fail(errors.internal(`EOS not delivered within ${this.eosTimeoutMs} ms${this.traits.eosKilledNote}`));
    } else {
      this.fail(errors.internal(`gst-launch exited without EOS (${describeExit(exit)})`));
    }
  }

  /** Ends the streams with EOS and delivers what segments and images are pending; never throws. */
  private async finishOutputs(): Promise<RecordingResults | undefined> {
    const outputs = this.outputs;
    if (!outputs) return undefined;
    try {
      if (this.startedAt === undefined || this.hardAbort !== undefined) return undefined;
      // A recording lost to one of its processes may be continued by a fresh recorder: its playlists stay open.
      const { error, ...results } = await outputs.finish(!this.lostProcess);
      if (error) this.fail(error);
      return results;
    } catch (err) {
      this.fail(errors.from(err));
      return outputs.results();
    } finally {
      await outputs.kill();
    }
  }

  /** Remuxes an MP4 capture into an ordinary MP4, moves the file to its destination and reads it back. */
  private async deliverFile(): Promise<FileResult | undefined> {
    const planned = this.plan.outputs.file;
    if (!planned) return undefined;
    const startedAt = this.startedAt ?? Date.now();
    // Without EOS the media ends where gst-launch stopped writing.
    const endedAt = this.eosAt ?? this.gstExitedAt ?? Date.now();
    const { file, undelivered } = await deliverOrKeep({
      tmpDir: this.plan.tmpDir,
      fileType: planned.fileType,
      filename: planned.filename,
      destination: planned.destination,
      startedAt,
      endedAt,
      signal: this.cancel.signal,
      note: (line) => this.note(line),
      ...(this.uploads?.file ? { upload: this.uploads.file } : {}),
    });
    if (undelivered) {
      // Every storage refused it: the egress fails, and reports the file where it stays.
      this.kept.push(undelivered.localPath);
      this.fail(undelivered);
    }
    if (!file) this.fail(errors.internal('the pipeline wrote no media'));
    return file;
  }

  private endInfo(file: FileResult | undefined, results: RecordingResults | undefined): EndInfo {
    this.noteEnd();
    const r = results ?? this.results();
    const base = {
      files: file ? [file] : [],
      ...(r.streams.length ? { streams: r.streams } : {}),
      ...(r.segments.length ? { segments: r.segments } : {}),
      ...(r.images.length ? { images: r.images } : {}),
      ...(this.kept.length ? { kept: [...this.kept] } : {}),
      endedAt: Date.now(),
      ...(this.startedAt !== undefined ? { startedAt: this.startedAt } : {}),
    };
    const reason = this.endReason ?? 'unknown';
    if (this.hardAbort !== undefined) {
      return {
        ...base,
        state: 'aborted',
        details: `End reason: ${reason}`,
        error: errors.aborted(this.hardAbort).toJSON(),
      };
    }
    if (this.failure) {
      const restartable = this.lostProcess ? { restartable: true } : {};
      return { ...base, state: 'failed', details: 'End reason: Failure', error: this.failure.toJSON(), ...restartable };
    }
    if (this.startedAt === undefined) {
      const why = this.waitingForStartSignal ? 'Start signal not received' : 'Stop called before pipeline could start';
      return {
        ...base,
        state: 'aborted',
        details: `End reason: ${reason}`,
        error: errors.failedPrecondition(why).toJSON(),
      };
    }
    if (this.limitReached !== undefined) {
      return {
        ...base,
        state: 'limit_reached',
        details: `End reason: ${SESSION_LIMIT_REACHED}`,
        error: new EgressError('resource_exhausted', SESSION_LIMIT_REACHED).toJSON(),
      };
    }
    return { ...base, state: 'complete', details: `End reason: ${reason}` };
  }
}
