/**
 * One recording of room tracks through the SDK (participant, track composite, track, audio-only room composite,
 * MediaSource): join the room as the hidden recorder -> gst-launch fed raw frames and samples at a constant rate
 * -> EOS -> delivery; or, for a track egress to a websocket, raw PCM straight to the receiver. The same contract as
 * WebRecording: whatever happens, gst-launch is killed and waited for, the room left and the scratch directory
 * removed before `ended` resolves.
 */
import { EventEmitter } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import {
  EgressError,
  errors,
  expandTrackPlaceholders,
  type EndInfo,
  type FileResult,
  type RecordingPlan,
  type SdkSourcePlan,
  type StreamResult,
  type UploadPlan,
} from '@egress/shared';
import { formatGstError, GstLaunch, type GstExit } from './gst/launch.js';
import { delay, describeExit } from './media/process.js';
import { capturePath, deliverOrKeep } from './outputs/file-delivery.js';
import { RecordingOutputs } from './outputs/recording-outputs.js';
import { recordingUploads, verifyUploads, type RecordingUploads } from './outputs/upload-targets.js';
import { buildSdkPipeline } from './pipeline/sdk-argv.js';
import { blackI420, I420Fitter } from './sdk/i420.js';
import { MediaPacer, type PacerStats } from './sdk/media-pacer.js';
import { RoomTracks } from './sdk/room-tracks.js';
import { WebsocketSink } from './sdk/websocket-sink.js';
import {
  ALL_STREAMS_STOPPED,
  SESSION_LIMIT_REACHED,
  SOURCE_CLOSED,
  type WebRecordingEvents,
  type WebRecordingOptions,
} from './web-recording.js';

/** Options for {@link SdkRecording}. */
export interface SdkRecordingOptions extends Pick<WebRecordingOptions, 'log' | 'eosTimeoutMs' | 'playingTimeoutMs'> {
  /** How long a track egress waits for its track to be published (default 30000 ms). */
  trackWaitMs?: number;
}

type OutputResults = ReturnType<RecordingOutputs['results']>;

/** The video of a pipeline is written this far ahead at most before the recording notes that gst-launch lags. */
const LAG_WARN_FRAMES = 60;

/** A recording of room tracks joined with the SDK. */
export class SdkRecording extends EventEmitter<WebRecordingEvents> {
  readonly ended: Promise<EndInfo>;
  private resolveEnded!: (info: EndInfo) => void;
  private readonly log: (source: string, line: string) => void;
  private readonly eosTimeoutMs: number;
  private readonly playingTimeoutMs: number;
  private readonly trackWaitMs: number;
  private readonly cancel = new AbortController();
  private startPromise: Promise<void> | undefined;
  private endReason: string | undefined;
  private failure: EgressError | undefined;
  private lostProcess = false;
  private limitReached: string | undefined;
  private limitTimer: NodeJS.Timeout | undefined;
  private hardAbort: string | undefined;
  private readonly endRequested: Promise<void>;
  private requestEnd!: () => void;

  /** The plan with what joining taught (a track egress's kind, file and size). */
  private plan: RecordingPlan;
  private room: RoomTracks | undefined;
  private gst: GstLaunch | undefined;
  private pacer: MediaPacer | undefined;
  private websocket: WebsocketSink | undefined;
  private outputs: RecordingOutputs | undefined;
  /** Where each output is uploaded, if anywhere. */
  private uploads: RecordingUploads | undefined;
  /** Files whose upload failed: they stay in the scratch dir, which is then kept. */
  private readonly kept: string[] = [];
  private stopping = false;
  private tearingDown = false;
  private startedAt: number | undefined;
  private eosAt: number | undefined;
  private gstExitedAt: number | undefined;

  constructor(plan: RecordingPlan, options: SdkRecordingOptions = {}) {
    super();
    this.plan = plan;
    const log = options.log ?? (() => {});
    this.log = (source, line) => log(`[${source}] ${line}`);
    this.eosTimeoutMs = options.eosTimeoutMs ?? 30_000;
    this.playingTimeoutMs = options.playingTimeoutMs ?? 10_000;
    this.trackWaitMs = options.trackWaitMs ?? 30_000;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.endRequested = new Promise((resolve) => (this.requestEnd = resolve));
  }

  /** Resolves once active; rejects with the EgressError of the end if it ends first. Callable once. */
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

  /** Starts (if not yet started) and resolves with how it ended; never rejects. */
  run(): Promise<EndInfo> {
    this.start().catch(() => {});
    return this.ended;
  }

  /** Ends the recording: EOS and delivery when active, ABORTED before. Later calls are ignored. */
  stop(reason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    this.note(`stop requested: ${reason}`);
    this.requestEnd();
  }

  /** Kills everything now, delivers nothing. */
  abort(reason = 'Recording aborted'): void {
    if (this.hardAbort !== undefined) return;
    this.hardAbort = reason;
    this.endReason ??= reason;
    this.note(`abort: ${reason}`);
    this.cancel.abort();
    this.requestEnd();
    void this.gst?.kill();
    void this.outputs?.kill();
  }

  results(): OutputResults {
    const r = this.outputs?.results() ?? { streams: [], segments: [], images: [] };
    return this.websocket ? { ...r, streams: [this.websocket.result()] } : r;
  }

  /** Pacing counts so far (frames written and shown, samples): the bench reads them from the log at the end. */
  stats(): PacerStats | undefined {
    return this.pacer?.stats;
  }

  async updateStream(add: string[], remove: string[]): Promise<StreamResult[]> {
    if (!this.plan.outputs.stream) {
      throw errors.invalidArgument('egress_id', this.plan.egressId, 'egress has no stream output to update');
    }
    if (!this.outputs || this.endReason !== undefined) throw errors.failedPrecondition('egress is not recording');
    return this.outputs.updateStream(add, remove);
  }

  private fail(error: EgressError): void {
    if (this.failure) return;
    this.failure = error;
    this.endReason ??= error.message;
    this.note(`failure: ${error.message}`);
    this.requestEnd();
  }

  private note(line: string): void {
    this.log('recording', line);
  }

  private get source(): SdkSourcePlan {
    const s = this.plan.source;
    if (s.kind !== 'sdk') throw errors.internal(`an SDK recording cannot record a ${s.kind} source`);
    return s;
  }

  private async untilEnd<T>(step: Promise<T>): Promise<T | undefined> {
    step.catch(() => {});
    return Promise.race([step, this.endRequested.then(() => undefined)]);
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

  private async startSequence(): Promise<boolean> {
    const source = this.source;
    const { file, segments, stream, images, websocket } = this.plan.outputs;
    if (!file && !segments && !stream && !images?.length && !websocket) {
      throw errors.invalidArgument('outputs', undefined, 'a recording needs at least one output');
    }
    const began = Date.now();
    await mkdir(this.plan.tmpDir, { recursive: true });
    // Buckets and credentials are checked while the room is joined, and before anything is recorded.
    const uploads = await recordingUploads(this.plan);
    this.uploads = uploads;
    const storageChecked = verifyUploads(uploads, (l) => this.note(l));
    storageChecked.catch(() => {});
    const room = new RoomTracks(source, (l) => this.log('room', l));
    this.room = room;
    room.on('disconnected', (why) => {
      this.note(why);
      this.stop(SOURCE_CLOSED);
    });
    room.on('sourceGone', (why) => {
      this.note(why);
      this.stop(SOURCE_CLOSED);
    });
    await this.untilEnd(room.connect());
    this.emit('stage', 'room', Date.now() - began);
    if (this.endReason !== undefined) return false;
    if (source.trackId !== undefined && !(await this.learnTrack(room, source.trackId))) return false;

    const { plan } = this;
    const { audioOnly, videoOnly } = this.source;
    if (websocket) return this.startWebsocket(room, websocket.url, began);

    await this.untilEnd(storageChecked);
    if (this.endReason !== undefined) return false;
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
    const e = plan.encoding;
    const video = !audioOnly;
    const audio = !videoOnly;
    const pipeline = buildSdkPipeline({
      encoding: e,
      video,
      audio,
      outputs: {
        ...(plan.outputs.file ? { file: { fileType: plan.outputs.file.fileType, path: this.capturePath } } : {}),
        ...outputs.pipelineOutputs(),
      },
    });
    this.note(`gst-launch-1.0 -e -m ${pipeline.join(' ')}`);
    const gst = new GstLaunch(pipeline, {
      log: (l) => this.log('gst', l),
      feedFd: stream !== undefined,
      stdin: video,
      extraInputs: audio ? 1 : 0,
    });
    this.gst = gst;
    gst.on('element', (m) => outputs.onMessage(m));
    gst.on('pipelineError', (err) => this.fail(errors.internal(`pipeline error: ${formatGstError(err)}`)));
    gst.on('eos', () => (this.eosAt = Date.now()));
    void gst.exited.then((exit) => {
      this.gstExitedAt = Date.now();
      if (this.stopping || this.tearingDown) return;
      this.lostProcess = !this.failure;
      this.fail(errors.internal(`gst-launch exited unexpectedly (${describeExit(exit)})`));
    });
    // The pipeline prerolls on the first frames, so feeding starts before it reports PLAYING.
    const fitter = video ? new I420Fitter(e.width, e.height) : undefined;
    const pacer = new MediaPacer({
      fps: e.framerate,
      ...(video ? { black: blackI420(e.width, e.height) } : {}),
      sinks: {
        ...(video ? { video: (frame) => this.write(gst.input, frame, 'video') } : {}),
        ...(audio ? { audio: (pcm) => this.write(gst.inputs[0], pcm, 'audio') } : {}),
      },
    });
    this.pacer = pacer;
    this.feed(room, pacer, fitter);
    const t0 = pacer.start();
    // The media starts with the first frame written, so that is when the recording is active: PLAYING can come
    // seconds later (1.3 to 3.8 s measured for an OGG track egress next to other recordings).
    this.startedAt = t0;
    outputs.start(t0, gst.feed);
    this.note(
      `active after ${t0 - began} ms (${video ? `${e.width}x${e.height}@${e.framerate}` : 'no video'}${audio ? ', audio' : ''})`,
    );
    this.emit('active', t0);
    this.watchLimits();
    const playing = new Promise<boolean>((resolve) => {
      gst.once('playing', () => resolve(true));
      void delay(this.playingTimeoutMs).then(() => resolve(false));
    });
    const reached = await this.untilEnd(playing);
    if (reached === false) throw errors.internal(`pipeline did not reach PLAYING within ${this.playingTimeoutMs} ms`);
    if (reached) this.emit('stage', 'gst', Date.now() - t0);
    return true;
  }

  /** Track egress: waits for the track, then fits the plan to its kind; false when the recording ended first. */
  private async learnTrack(room: RoomTracks, trackId: string): Promise<boolean> {
    const kind = await this.untilEnd(
      new Promise<'audio' | 'video' | undefined>((resolve) => {
        const check = () => {
          const k = room.trackKind();
          if (k) {
            room.off('changed', check);
            resolve(k);
          }
        };
        room.on('changed', check);
        check();
        void delay(this.trackWaitMs).then(() => resolve(undefined));
      }),
    );
    if (this.endReason !== undefined) return false;
    if (!kind) throw errors.notFound(`track ${trackId}`);
    const plan = this.plan;
    const source = { ...this.source, audioOnly: kind === 'audio', videoOnly: kind === 'video' };
    if (kind === 'video' && plan.outputs.websocket) {
      throw errors.invalidArgument(
        'track.websocket_url',
        plan.outputs.websocket.url,
        `track ${trackId} is video; websockets take audio`,
      );
    }
    // Upstream's {publisher_identity}, {track_type} and {track_source} name the file once the track is known.
    const info = room.trackInfo(trackId);
    const names = {
      trackType: kind,
      ...(info ? { publisherIdentity: info.identity, trackSource: info.source.toUpperCase() } : {}),
    };
    const name = <T extends { destination: string; upload?: UploadPlan }>(o: T): T => ({
      ...o,
      destination: expandTrackPlaceholders(o.destination, names),
      ...(o.upload ? { upload: { ...o.upload, key: expandTrackPlaceholders(o.upload.key, names) } } : {}),
    });
    // The kind picks the file: the audio one as planned, or its video variant.
    const planned = plan.outputs.file;
    const chosen =
      planned && kind === 'video' && planned.ifVideo ? { ...planned.ifVideo, manifest: planned.manifest } : planned;
    const file = chosen && name(chosen);
    // The upload was built before the track was known: it takes the chosen file's key.
    if (this.uploads?.file && file?.upload) this.uploads.file = { ...this.uploads.file, key: file.upload.key };
    const size = room.trackSize(trackId);
    const even = (n: number) => Math.max(16, Math.min(4096, Math.floor(n / 2) * 2));
    this.plan = {
      ...plan,
      source,
      // A video track keeps its own size, as upstream's passthrough does.
      encoding:
        kind === 'video' && size
          ? { ...plan.encoding, width: even(size.width), height: even(size.height) }
          : plan.encoding,
      outputs: { ...plan.outputs, ...(file ? { file } : {}) },
    };
    this.note(`track ${trackId} is ${kind}${kind === 'video' && size ? ` (${size.width}x${size.height})` : ''}`);
    if (file) this.emit('trackFile', file);
    return true;
  }

  /** Raw PCM to a websocket receiver, paced like the pipeline's audio. */
  private async startWebsocket(room: RoomTracks, url: string, began: number): Promise<boolean> {
    const ws = new WebsocketSink({ url, log: (l) => this.log('websocket', l) });
    this.websocket = ws;
    ws.onLost = (why) => this.fail(new EgressError('unavailable', why));
    await this.untilEnd(ws.open());
    if (this.endReason !== undefined) return false;
    const pacer = new MediaPacer({ fps: 1, sinks: { audio: (pcm) => ws.send(pcm) } });
    this.pacer = pacer;
    room.on('audioMuted', (_sid, muted) => ws.muted(muted));
    this.feed(room, pacer, undefined);
    this.startedAt = pacer.start();
    this.note(`active after ${Date.now() - began} ms (PCM to ${url})`);
    this.emit('active', this.startedAt);
    this.emit('progress');
    return true;
  }

  /** Room frames into the pacer. */
  private feed(room: RoomTracks, pacer: MediaPacer, fitter: I420Fitter | undefined): void {
    if (fitter) {
      const black = blackI420(fitter.width, fitter.height);
      room.on('video', (data, w, h, at) =>
        pacer.pushVideo(() => {
          try {
            return fitter.fit(data, w, h);
          } catch (err) {
            this.note(`a video frame shows as black: ${(err as Error).message}`);
            return black;
          }
        }, at),
      );
      room.on('videoGone', () => pacer.videoGone());
    }
    room.on('audio', (sid, samples, channel) => pacer.pushAudio(sid, samples, undefined, channel));
    room.on('audioGone', (sid) => pacer.forgetAudio(sid));
  }

  private lagNoted = false;

  private write(to: Writable | undefined, chunk: Buffer, what: string): void {
    if (!to || to.destroyed || this.stopping) return;
    to.write(chunk);
    if (what === 'video' && !this.lagNoted && to.writableLength > LAG_WARN_FRAMES * chunk.length) {
      this.lagNoted = true;
      this.note(`gst-launch falls behind: ${LAG_WARN_FRAMES} frames waiting`);
    }
  }

  private watchLimits(): void {
    const { limits } = this.plan;
    const { file, stream, segments, images } = this.plan.outputs;
    const ms = [
      ['file_output_max_duration', file ? limits?.fileMaxDurationMs : undefined],
      ['stream_output_max_duration', stream ? limits?.streamMaxDurationMs : undefined],
      ['segment_output_max_duration', segments ? limits?.segmentMaxDurationMs : undefined],
      ['image_output_max_duration', images?.length ? limits?.imageMaxDurationMs : undefined],
    ].filter((d): d is [string, number] => !!d[1]);
    const first = ms.sort((a, b) => a[1] - b[1])[0];
    if (!first) return;
    this.limitTimer = setTimeout(() => {
      if (this.endReason !== undefined) return;
      this.limitReached = `${first[0]} ${first[1]} ms`;
      this.stop(SESSION_LIMIT_REACHED);
    }, first[1]);
  }

  /** Waits for the end, then stops the feed so EOS goes through the pipeline. */
  private async finishPipeline(): Promise<void> {
    await this.endRequested;
    clearTimeout(this.limitTimer);
    if (this.hardAbort !== undefined) return;
    if (!this.failure) this.emit('ending', this.endReason ?? 'stopped');
    this.pacer?.stop();
    const gst = this.gst;
    if (!gst) return;
    this.stopping = true;
    // The end of the raw streams is the parsers' EOS; SIGINT (gst.stop) covers a source that does not see it.
    gst.input?.end();
    for (const input of gst.inputs) input.end();
    const exited = await Promise.race([gst.exited, delay(2000).then(() => undefined)]);
    const exit: GstExit = exited ?? (await gst.stop({ timeoutMs: this.eosTimeoutMs }));
    if (exit.eos) return;
    if (exit.error) this.fail(errors.internal(`pipeline error: ${formatGstError(exit.error)}`));
    else if (exit.killed) this.fail(errors.internal(`EOS not delivered within ${this.eosTimeoutMs} ms`));
    else this.fail(errors.internal(`gst-launch exited without EOS (${describeExit(exit)})`));
  }

  /** Leaves the room and kills what still runs; never throws. */
  private async teardown(): Promise<void> {
    this.tearingDown = true;
    clearTimeout(this.limitTimer);
    this.pacer?.stop();
    const quietly = async (what: string, step: Promise<unknown> | undefined) => {
      try {
        await step;
      } catch (err) {
        this.note(`teardown of ${what} failed: ${(err as Error).message}`);
      }
    };
    await Promise.all([
      quietly('gst-launch', this.gst?.kill()),
      quietly('room', this.room?.close()),
      quietly('websocket', this.websocket?.close()),
    ]);
  }

  private async finishOutputs(): Promise<OutputResults | undefined> {
    const outputs = this.outputs;
    if (!outputs) return this.websocket ? this.results() : undefined;
    try {
      if (this.startedAt === undefined || this.hardAbort !== undefined) return undefined;
      const { error, ...results } = await outputs.finish();
      if (error) this.fail(error);
      return results;
    } catch (err) {
      this.fail(errors.from(err));
      return outputs.results();
    } finally {
      await outputs.kill();
    }
  }

  private get capturePath(): string {
    return capturePath(this.plan.tmpDir, this.plan.outputs.file?.fileType);
  }

  private async deliverFile(): Promise<FileResult | undefined> {
    const f = this.plan.outputs.file;
    if (!f) return undefined;
    const startedAt = this.startedAt ?? Date.now();
    const endedAt = this.eosAt ?? this.gstExitedAt ?? Date.now();
    const { file, undelivered } = await deliverOrKeep({
      tmpDir: this.plan.tmpDir,
      fileType: f.fileType,
      destination: f.destination,
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
    const r = results ?? this.results();
    const stats = this.pacer?.stats;
    if (stats) {
      this.note(
        `paced ${stats.framesWritten} frames (${stats.framesShown} distinct), ${stats.samplesWritten} samples, ` +
          `${stats.audioResyncs} audio resyncs, ${stats.stalls} stalls of this process; first video at ` +
          `${stats.firstVideoMs?.toFixed(0) ?? '-'} ms, first audio at ${stats.firstAudioMs?.toFixed(0) ?? '-'} ms`,
      );
    }
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
      return {
        ...base,
        state: 'failed',
        details: 'End reason: Failure',
        error: this.failure.toJSON(),
        ...(this.lostProcess ? { restartable: true } : {}),
      };
    }
    if (this.startedAt === undefined) {
      return {
        ...base,
        state: 'aborted',
        details: `End reason: ${reason}`,
        error: errors.failedPrecondition('Stop called before pipeline could start').toJSON(),
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
