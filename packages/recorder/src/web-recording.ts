/**
 * One web-page recording from plan to finalized MP4: pulse sink -> Xvfb -> Chromium -> page -> (start
 * signal) -> gst-launch, then EOS -> teardown -> remux -> delivery. Used by the recorder child and by
 * `egress record`. Whatever happens, every process it started is killed and waited for, the sink is
 * unloaded and the scratch directory removed before `ended` resolves.
 */
import { EventEmitter } from 'node:events';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EgressError,
  errors,
  type EndInfo,
  type FileOutputPlan,
  type FileResult,
  type ImageEntry,
  type ImagesResult,
  type RecordingPlan,
  type SegmentEntry,
  type SegmentsResult,
  type StreamResult,
} from '@egress/shared';
import { OOM_NOTE, OomKillWatch } from '@egress/shared/system/oom-kills';
import { ensurePulseDaemon, loadNullSink, type NullSink } from './audio/pulse.js';
import { Chromium } from './browser/chromium.js';
import { startXvfb, type XvfbDisplay } from './display/xvfb.js';
import { formatGstError, GstLaunch, type GstExit } from './gst/launch.js';
import { delay, describeExit } from './media/process.js';
import { capturePath, deliverOrKeep } from './outputs/file-delivery.js';
import { RecordingOutputs } from './outputs/recording-outputs.js';
import { recordingUploads, verifyUploads, type RecordingUploads } from './outputs/upload-targets.js';
import { buildWebPipeline } from './pipeline/web-argv.js';

/** Options for {@link WebRecording}. */
export interface WebRecordingOptions {
  /** Receives every log line, prefixed with its source: "[gst] ...", "[chromium] ...", "[recording] ...". */
  log?: (line: string) => void;
  /** How long EOS may take after a stop before gst-launch is killed (default 30000 ms, as upstream). */
  eosTimeoutMs?: number;
  /** Bound on the page navigation (default 30000 ms). */
  pageLoadTimeoutMs?: number;
  /** Bound on gst-launch reaching PLAYING (default 10000 ms). */
  playingTimeoutMs?: number;
}

/** Events of a {@link WebRecording}. */
export interface WebRecordingEvents {
  /** gst-launch reported PLAYING: the recording is live. Unix ms. */
  active: [startedAt: number];
  /** A stop was accepted while active; EOS is on its way. */
  ending: [reason: string];
  /** A start-up stage (pulse, xvfb, chromium, page, gst) finished after `ms`. */
  stage: [name: string, ms: number];
  /** Stream, segment or image results changed; read them with results(). */
  progress: [];
  /** An HLS segment was delivered. */
  segment: [SegmentEntry];
  /** An image of image output `output` was delivered. */
  image: [output: number, entry: ImageEntry];
  /** A track egress found its track: the file it writes from now on. */
  trackFile: [file: FileOutputPlan];
}

type OutputResults = { streams: StreamResult[]; segments: SegmentsResult[]; images: ImagesResult[] };

/** Upstream's words for an end caused by a session limit (and its error text). */
export const SESSION_LIMIT_REACHED = 'Session limit reached';

/** Upstream's words for an end caused by the page printing END_RECORDING. */
export const SOURCE_CLOSED = 'Source closed';

/** Upstream's words for an end caused by UpdateStream removing the last stream. */
export const ALL_STREAMS_STOPPED = 'All streams stopped';

/** A recording of one web page into one MP4 file. */
export class WebRecording extends EventEmitter<WebRecordingEvents> {
  /** Resolves (never rejects) once the recording is over and everything is cleaned up; needs start(). */
  readonly ended: Promise<EndInfo>;
  private resolveEnded!: (info: EndInfo) => void;
  private readonly log: (source: string, line: string) => void;
  private readonly eosTimeoutMs: number;
  private readonly pageLoadTimeoutMs: number;
  private readonly playingTimeoutMs: number;
  private readonly cancel = new AbortController();

  private startPromise: Promise<void> | undefined;
  /** Why it ended, in "End reason" words. */
  private endReason: string | undefined;
  /** First failure anywhere; decides the FAILED state. */
  private failure: EgressError | undefined;
  /** The failure was one of our processes dying, not the page or the request. */
  private lostProcess = false;
  /** Which session limit ended the recording, if one did. */
  private limitReached: string | undefined;
  private readonly limitTimers: NodeJS.Timeout[] = [];
  /** Names the OOM killer when it is what took a process of ours. */
  private readonly oom = new OomKillWatch();
  /** Set by abort(): kill everything, deliver nothing. */
  private hardAbort: string | undefined;
  private waitingForStartSignal = false;
  private readonly endRequested: Promise<void>;
  private requestEnd!: () => void;

  private sink: NullSink | undefined;
  private xvfb: XvfbDisplay | undefined;
  private chromium: Chromium | undefined;
  private gst: GstLaunch | undefined;
  /** Segments, streams and images. */
  private outputs: RecordingOutputs | undefined;
  /** Where each output is uploaded, if anywhere. */
  private uploads: RecordingUploads | undefined;
  /** Files whose upload failed: they stay in the scratch dir, which is then kept. */
  private readonly kept: string[] = [];
  /** SIGINT (EOS) has been sent to gst-launch: its exit is expected from now on. */
  private stopping = false;
  private tearingDown = false;
  private startedAt: number | undefined;
  private eosAt: number | undefined;
  private gstExitedAt: number | undefined;

  constructor(
    readonly plan: RecordingPlan,
    options: WebRecordingOptions = {},
  ) {
    super();
    const log = options.log ?? (() => {});
    this.log = (source, line) => log(`[${source}] ${line}`);
    this.eosTimeoutMs = options.eosTimeoutMs ?? 30_000;
    this.pageLoadTimeoutMs = options.pageLoadTimeoutMs ?? 30_000;
    this.playingTimeoutMs = options.playingTimeoutMs ?? 10_000;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.endRequested = new Promise((resolve) => (this.requestEnd = resolve));
  }

  /**
   * Starts the recording. Resolves once it is active (gst-launch reported PLAYING); rejects with the
   * EgressError of the end if it ends before that (a stop, a failure, abort()). Callable once.
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
    void this.killProcesses();
    void this.outputs?.kill();
  }

  /** Stream, segment and image results so far. */
  results(): OutputResults {
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
  private fail(error: EgressError): void {
    if (this.failure) return;
    this.failure = error;
    this.endReason ??= error.message;
    this.note(`failure: ${error.message}`);
    this.requestEnd();
  }

  /** A process we started went away; once teardown has begun that is expected. */
  private died(why: string): void {
    if (this.tearingDown) return;
    if (!this.failure) this.lostProcess = true;
    this.fail(errors.internal(this.oom.killsSince() > 0 ? `${why} (${OOM_NOTE})` : why));
  }

  private note(line: string): void {
    this.log('recording', line);
  }

  private get ending(): boolean {
    return this.endReason !== undefined;
  }

  private async record(): Promise<EndInfo> {
    let file: FileResult | undefined;
    let results: OutputResults | undefined;
    try {
      try {
        if (await this.startSequence()) await this.finishPipeline();
      } catch (err) {
        this.fail(errors.from(err));
      } finally {
        await this.killProcesses();
        results = await this.finishOutputs();
      }
      if (this.startedAt !== undefined && this.hardAbort === undefined) file = await this.deliverFile();
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

  /** Ends the streams with EOS and delivers what segments and images are pending; never throws. */
  private async finishOutputs(): Promise<OutputResults | undefined> {
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

  /** Brings everything up in order; returns false early (without throwing) when an end was requested. */
  private async startSequence(): Promise<boolean> {
    const { plan } = this;
    const source = plan.source;
    if (source.kind !== 'web') throw errors.internal(`a web recording cannot record a ${source.kind} source`);
    const { file, segments, stream, images } = plan.outputs;
    if (!file && !segments && !stream && !images?.length) {
      throw errors.invalidArgument('outputs', undefined, 'a recording needs at least one output');
    }
    if (this.ending) return false;
    const times: string[] = [];
    const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      const result = await step();
      times.push(`${label} ${Date.now() - t0} ms`);
      this.emit('stage', label, Date.now() - t0);
      return result;
    };
    const began = Date.now();
    await mkdir(plan.tmpDir, { recursive: true });
    // Buckets and credentials are checked while the rest starts, and before anything is recorded.
    const uploads = await recordingUploads(plan);
    this.uploads = uploads;
    const storageChecked = verifyUploads(uploads, (l) => this.note(l));
    storageChecked.catch(() => {});

    const sink = await timed('pulse', async () => {
      await ensurePulseDaemon({ log: (l) => this.log('pulse', l) });
      return loadNullSink(plan.egressId, (l) => this.log('pulse', l));
    });
    this.sink = sink;
    if (this.ending) return false;

    const { width, height, depth } = plan.encoding;
    const xvfb = await timed('xvfb', () => startXvfb({ width, height, depth, log: (l) => this.log('xvfb', l) }));
    this.xvfb = xvfb;
    void xvfb.exited.then((s) => this.died(`Xvfb exited unexpectedly (${describeExit(s)})`));
    this.note(`display ${xvfb.display} (Xvfb pid ${xvfb.pid})`);
    if (this.ending) return false;

    const chromium = await timed('chromium', () =>
      Chromium.launch({
        chrome: plan.chrome,
        display: xvfb.display,
        pulseSink: sink.sinkName,
        width,
        height,
        userDataDir: join(plan.tmpDir, 'chrome'),
        log: (l) => this.log('chromium', l),
      }),
    );
    this.chromium = chromium;
    let startSignal!: () => void;
    const startSignalSeen = new Promise<void>((resolve) => (startSignal = resolve));
    chromium.on('startRecording', () => startSignal());
    chromium.on('endRecording', () => this.stop(SOURCE_CLOSED));
    chromium.on('disconnected', (why) => this.died(why));
    chromium.on('crashed', (why) => this.died(why));
    // Upstream checks div.error once, at load; a template that fails later (a bad token, an unreachable
    // server) would otherwise wait for a start signal forever, or record its error page.
    chromium.on('templateError', (text) => this.fail(errors.failedPrecondition(`template error: ${text}`)));
    if (this.ending) return false;

    await timed('page', () => this.untilEnd(chromium.load(source.url, this.pageLoadTimeoutMs)));
    if (this.ending) return false;

    if (source.awaitStartSignal) {
      this.waitingForStartSignal = true;
      await timed('start signal', () => this.untilEnd(startSignalSeen));
      if (this.ending) return false;
      this.waitingForStartSignal = false;
    }

    await timed('storage', () => storageChecked);
    if (this.ending) return false;
    const outputs = new RecordingOutputs(plan, {
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
    const pipeline = buildWebPipeline({
      source,
      encoding: plan.encoding,
      display: xvfb.display,
      pulseMonitor: sink.monitor,
      outputs: {
        ...(file ? { file: { fileType: file.fileType, path: this.capturePath } } : {}),
        ...outputs.pipelineOutputs(),
      },
    });
    // Stream URLs are not in this pipeline (their senders are separate), so it can be logged as is.
    this.note(`gst-launch-1.0 -e -m ${pipeline.join(' ')}`);
    const gst = new GstLaunch(pipeline, { log: (l) => this.log('gst', l), feedFd: stream !== undefined });
    this.gst = gst;
    gst.on('element', (m) => outputs.onMessage(m));
    gst.on('pipelineError', (e) => this.fail(errors.internal(`pipeline error: ${formatGstError(e)}`)));
    gst.on('eos', () => (this.eosAt = Date.now()));
    void gst.exited.then(async (exit) => {
      this.gstExitedAt = Date.now();
      if (this.stopping) return;
      // gst-launch quits on its own when its display goes away: give a dying Xvfb or Chromium a moment to
      // be named as the cause. A gst-launch killed by a signal is the cause itself.
      if (exit.signal === null) await delay(300);
      if (!this.stopping) this.died(`gst-launch exited unexpectedly (${describeExit(exit)})`);
    });
    const playing = new Promise<boolean>((resolve) => {
      gst.once('playing', () => resolve(true));
      void delay(this.playingTimeoutMs).then(() => resolve(false));
    });
    const reached = await timed('gst', () => this.untilEnd(playing));
    if (this.ending) return false;
    if (!reached) throw errors.internal(`pipeline did not reach PLAYING within ${this.playingTimeoutMs} ms`);

    this.startedAt = Date.now();
    outputs.start(this.startedAt, gst.feed);
    this.note(`active after ${this.startedAt - began} ms (${times.join(', ')})`);
    this.emit('active', this.startedAt);
    this.watchLimits();
    return true;
  }

  /** Ends the recording LIMIT_REACHED when a session limit (an output's duration, or the file's size) is reached. */
  private watchLimits(): void {
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

  /** Resolves with `step`'s value, or with undefined as soon as an end is requested. */
  private async untilEnd<T>(step: Promise<T>): Promise<T | undefined> {
    // The step may settle after the race is lost; its rejection is then of no interest.
    step.catch(() => {});
    return Promise.race([step, this.endRequested.then(() => undefined)]);
  }

  /** Waits for the end, then gets EOS through the pipeline (or learns why it cannot). */
  private async finishPipeline(): Promise<void> {
    await this.endRequested;
    const gst = this.gst;
    if (!gst || this.hardAbort !== undefined) return;
    this.stopping = true;
    if (!this.failure) this.emit('ending', this.endReason ?? 'stopped');
    const exit: GstExit = await gst.stop({ timeoutMs: this.eosTimeoutMs });
    if (exit.eos) return;
    if (exit.error) {
      this.fail(errors.internal(`pipeline error: ${formatGstError(exit.error)}`));
    } else if (exit.killed) {
      this.fail(errors.internal(`EOS not delivered within ${this.eosTimeoutMs} ms; file finalized from disk`));
    } else {
      this.fail(errors.internal(`gst-launch exited without EOS (${describeExit(exit)})`));
    }
  }

  /** Kills whatever is still running, in an order that keeps the logs quiet; never throws. */
  private async killProcesses(): Promise<void> {
    this.tearingDown = true;
    for (const t of this.limitTimers) clearTimeout(t);
    const quietly = async (what: string, step: Promise<unknown> | undefined): Promise<void> => {
      try {
        await step;
      } catch (err) {
        this.note(`teardown of ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    await Promise.all([quietly('gst-launch', this.gst?.kill()), quietly('Chromium', this.chromium?.close())]);
    // Xvfb goes after its clients so they do not report a lost display.
    await quietly('Xvfb', this.xvfb?.stop());
    await quietly('pulse sink', this.sink?.unload());
  }

  private get capturePath(): string {
    return capturePath(this.plan.tmpDir, this.plan.outputs.file?.fileType);
  }

  /** Remuxes an MP4 capture into an ordinary MP4, moves the file to its destination and reads it back. */
  private async deliverFile(): Promise<FileResult | undefined> {
    const destination = this.plan.outputs.file?.destination;
    if (!destination) return undefined;
    const startedAt = this.startedAt ?? Date.now();
    // Without EOS the media ends where gst-launch stopped writing.
    const endedAt = this.eosAt ?? this.gstExitedAt ?? Date.now();
    const { file, undelivered } = await deliverOrKeep({
      tmpDir: this.plan.tmpDir,
      fileType: this.plan.outputs.file?.fileType ?? 'mp4',
      destination,
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

  private endInfo(file: FileResult | undefined, results: OutputResults | undefined): EndInfo {
    const files = file ? [file] : [];
    const r = results ?? this.results();
    const base = {
      files,
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
