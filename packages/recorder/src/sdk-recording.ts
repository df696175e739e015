/**
 * One recording of room tracks through the SDK (participant, track composite, track, audio-only room composite,
 * MediaSource): join the room as the hidden recorder -> gst-launch fed raw frames and samples at a constant rate
 * -> EOS -> delivery; or, for a track egress to a websocket, raw PCM straight to the receiver. The same contract as
 * WebRecording: whatever happens, gst-launch is killed and waited for, the room left and the scratch directory
 * removed before `ended` resolves.
 */
import type { Writable } from 'node:stream';
import {
  EgressError,
  errors,
  fillTrackPath,
  type RecordingPlan,
  type SdkSourcePlan,
  type UploadPlan,
} from '@egress/shared';
import type { GstExit } from './gst/launch.js';
import { delay, describeExit } from '@egress/shared/host/terminate';
import { buildSdkPipeline } from './pipeline/sdk-argv.js';
import {
  RecordingLifecycle,
  SOURCE_CLOSED,
  type RecordingLifecycleOptions,
  type RecordingResults,
} from './recording-lifecycle.js';
import { blackI420, I420Fitter } from './sdk/i420.js';
import { MediaPacer, type PacerStats } from './sdk/media-pacer.js';
import { RoomTracks } from './sdk/room-tracks.js';
import { WebsocketSink } from './sdk/websocket-sink.js';

/** Options for {@link SdkRecording}. */
export interface SdkRecordingOptions extends RecordingLifecycleOptions {
  /** How long a track egress waits for its track to be published (default 30000 ms). */
  trackWaitMs?: number;
}

/** The video of a pipeline is written this far ahead at most before the recording notes that gst-launch lags. */
const LAG_WARN_FRAMES = 60;

/** A recording of room tracks joined with the SDK. */
export class SdkRecording extends RecordingLifecycle {
  private readonly trackWaitMs: number;
  private room: RoomTracks | undefined;
  private pacer: MediaPacer | undefined;
  private websocket: WebsocketSink | undefined;

  /** `plan` is completed by what joining teaches (a track egress's kind, file and size). */
  constructor(plan: RecordingPlan, options: SdkRecordingOptions = {}) {
    super(plan, options, { eosKilledNote: '' });
    this.trackWaitMs = options.trackWaitMs ?? 30_000;
  }

  override results(): RecordingResults {
    const r = super.results();
    return this.websocket ? { ...r, streams: [this.websocket.result()] } : r;
  }

  /** Pacing counts so far (frames written and shown, samples): the bench reads them from the log at the end. */
  stats(): PacerStats | undefined {
    return this.pacer?.stats;
  }

  private get source(): SdkSourcePlan {
    const s = this.plan.source;
    if (s.kind !== 'sdk') throw errors.internal(`an SDK recording cannot record a ${s.kind} source`);
    return s;
  }

  protected override async startSequence(): Promise<boolean> {
    const source = this.source;
    const { file, segments, stream, images, websocket } = this.plan.outputs;
    if (!file && !segments && !stream && !images?.length && !websocket) {
      throw errors.invalidArgument('outputs', undefined, 'a recording needs at least one output');
    }
    const began = Date.now();
    // Buckets and credentials are checked while the room is joined, and before anything is recorded.
    const { uploads, storageChecked } = await this.prepareStorage();
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
    if (this.ending) return false;
    if (source.trackId !== undefined && !(await this.learnTrack(room, source.trackId))) return false;

    const { plan } = this;
    const { audioOnly, videoOnly } = this.source;
    if (websocket) return this.startWebsocket(room, websocket.url, began);

    await this.untilEnd(storageChecked);
    if (this.ending) return false;
    const outputs = await this.openOutputs(uploads);
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
    const gst = this.launchGst(
      pipeline,
      outputs,
      { feedFd: stream !== undefined, stdin: video, extraInputs: audio ? 1 : 0 },
      (exit) => this.lost(errors.internal(`gst-launch exited unexpectedly (${describeExit(exit)})`)),
    );
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
    const reached = await this.untilPlaying(gst);
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
    if (this.ending) return false;
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
    // Upstream fills {track_source} with the source's name in lower case (camera, screen_share).
    const track = { kind, ...(info ? { identity: info.identity, source: info.source } : {}) };
    const names = {
      trackType: kind,
      ...(info ? { publisherIdentity: info.identity, trackSource: info.source } : {}),
    };
    // Filled and confined again by the planner's own rules, to the roots it used.
    const roots = plan.outputRoots;
    const fill = (filename: string) => {
      if (!roots) throw errors.internal('the plan has no output roots to name the track file within');
      try {
        return fillTrackPath(filename, names, roots, 'track.file.filepath');
      } catch (err) {
        throw errors.failedPrecondition(`track ${trackId} cannot name its file: ${errors.from(err).message}`);
      }
    };
    const name = <T extends { filename: string; destination: string; upload?: UploadPlan }>(o: T): T => {
      const r = fill(o.filename);
      return {
        ...o,
        filename: r.filename,
        destination: r.destination,
        ...(o.upload ? { upload: { ...o.upload, key: r.key } } : {}),
      };
    };
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
    if (file) this.emit('trackFile', file, track);
    return true;
  }

  /** Raw PCM to a websocket receiver, paced like the pipeline's audio. */
  private async startWebsocket(room: RoomTracks, url: string, began: number): Promise<boolean> {
    const ws = new WebsocketSink({ url, log: (l) => this.log('websocket', l) });
    this.websocket = ws;
    ws.onLost = (why) => this.fail(new EgressError('unavailable', why));
    await this.untilEnd(ws.open());
    if (this.ending) return false;
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

  /** Stops the feed so EOS goes through the pipeline. */
  protected override async drainPipeline(): Promise<GstExit | undefined> {
    this.pacer?.stop();
    const gst = this.gst;
    if (!gst) return undefined;
    this.stopping = true;
    // The end of the raw streams is the parsers' EOS; SIGINT (gst.stop) covers a source that does not see it.
    gst.input?.end();
    for (const input of gst.inputs) input.end();
    const exited = await Promise.race([gst.exited, delay(2000).then(() => undefined)]);
    return exited ?? (await gst.stop({ timeoutMs: this.eosTimeoutMs }));
  }

  /** Leaves the room and kills what still runs. */
  protected override async stopSources(): Promise<void> {
    this.pacer?.stop();
    await Promise.all([
      this.quietly('gst-launch', this.gst?.kill()),
      this.quietly('room', this.room?.close()),
      this.quietly('websocket', this.websocket?.close()),
    ]);
  }

  protected override killNow(): void {
    void this.gst?.kill();
  }

  /** The pacing counts go to the log: the bench reads them there. */
  protected override noteEnd(): void {
    const stats = this.pacer?.stats;
    if (stats) {
      this.note(
        `paced ${stats.framesWritten} frames (${stats.framesShown} distinct), ${stats.samplesWritten} samples, ` +
          `${stats.audioResyncs} audio resyncs, ${stats.stalls} stalls of this process; first video at ` +
          `${stats.firstVideoMs?.toFixed(0) ?? '-'} ms, first audio at ${stats.firstAudioMs?.toFixed(0) ?? '-'} ms`,
      );
    }
  }
}
