import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EgressInfo } from '@livekit/protocol';
import {
  assertStreamUrlCount,
  DEFAULT_MAX_STREAM_URLS,
  capErrorText,
  EgressError,
  errors,
  normalizeStreamUrl,
  redactStreamUrl,
  TERMINAL_STATES,
  type ChildEvent,
  type EndInfo,
  type FileOutputPlan,
  type FileResult,
  type ImageEntry,
  type ImagesResult,
  type LifecycleState,
  type Logger,
  type OutputResults,
  type RecordedTrack,
  type RecordingPlan,
  type SegmentEntry,
  type SegmentsResult,
  type StreamResult,
} from '@egress/shared';
import { capturePath, deliverCapture } from '@egress/recorder/outputs/file-delivery';
import { closePlaylists } from '@egress/recorder/outputs/segments/segment-output';
import { uploadFor } from '@egress/recorder/outputs/upload-targets';
import { DeliveryError } from '@egress/recorder/storage/delivery-error';
import { describeExit, RecorderProcess, type ExitInfo } from '../pool/recorder-process.js';
import { releaseOwned } from '../pool/owned-resources.js';
import type { IoReporter } from '../rpc/io-reporter.js';
import { applyResults, endedInfo, msToNs, STATUS_OF } from './egress-info.js';
import { manifestTracks, writeManifest } from './manifest.js';
import { partFile } from './parts.js';

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
  /** Stream URLs UpdateStream may bring the egress to (config max_stream_urls). */
  maxStreamUrls?: number;
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
  /** Stream URLs as UpdateStream left them (secrets included; never logged). */
  private streamUrls: string[];
  /** StreamInfo by redacted URL, across recorders. */
  private readonly streams = new Map<string, StreamResult>();
  /** What earlier recorders contributed to each stream (a restart is one more retry). */
  private readonly streamBase = new Map<string, Pick<StreamResult, 'startedAt' | 'retries' | 'lastRetryAt'>>();
  /** Every delivered HLS segment, so a fresh recorder continues the playlist. */
  private readonly segmentEntries: SegmentEntry[] = [];
  private segments: SegmentsResult | undefined;
  /** Images delivered by earlier recorders, per image output. */
  private imageCountsBefore: number[] = [];
  private imageFirstStart: (number | undefined)[] = [];
  private images: ImagesResult[] = [];
  /** Every delivered image, for the manifest. */
  private readonly imageEntries: ImageEntry[] = [];
  /** A track egress's track and file as its recorder found and named them, for the manifest. */
  private recordedTrack: RecordedTrack | undefined;
  private trackFile: FileOutputPlan | undefined;
  private readonly pendingUpdates = new Map<
    string,
    (ev: Extract<ChildEvent, { type: 'update_stream_result' }>) => void
  >();

  constructor(
    readonly plan: RecordingPlan,
    public info: EgressInfo,
    private readonly deps: ActiveEgressDeps,
  ) {
    super();
    this.attemptPlan = plan;
    this.streamUrls = [...(plan.outputs.stream?.urls ?? [])];
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

  /**
   * UpdateStream: the recorder adds and removes the URLs; the answer is the info with the new StreamInfos.
   * Throws invalid_argument for an egress without streams, failed_precondition when it is not recording.
   */
  async updateStream(add: string[], remove: string[], timeoutMs = 10_000): Promise<EgressInfo> {
    const stream = this.plan.outputs.stream;
    if (!stream) throw errors.invalidArgument('egress_id', this.egressId, 'egress has no stream output to update');
    if (this.state !== 'active' || this.restarting || !this.proc) {
      throw errors.failedPrecondition(`egress is ${this.restarting ? 'restarting its recorder' : this.state}`);
    }
    // Checked here too, so a bad URL is answered even if the recorder is busy.
    const added = add.map((u, i) => normalizeStreamUrl(u, stream.protocol, `add_output_urls[${i}]`));
    const removed = new Set(remove.map((u) => this.streamUrlKey(u)));
    const after = new Set([...this.liveStreamUrls().filter((u) => !removed.has(this.streamUrlKey(u))), ...added]);
    assertStreamUrlCount(after.size, this.deps.maxStreamUrls ?? DEFAULT_MAX_STREAM_URLS, 'add_output_urls');
    const requestId = randomUUID();
    const answer = await new Promise<Extract<ChildEvent, { type: 'update_stream_result' }> | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pendingUpdates.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.pendingUpdates.set(requestId, (ev) => {
        clearTimeout(timer);
        this.pendingUpdates.delete(requestId);
        resolve(ev);
      });
      if (!this.proc?.send({ type: 'update_stream', requestId, add, remove })) {
        clearTimeout(timer);
        this.pendingUpdates.delete(requestId);
        resolve(undefined);
      }
    });
    if (!answer) throw errors.unavailable('the recorder did not answer the stream update');
    this.mergeStreams(answer.streams);
    if (answer.error) {
      this.publishResults();
      throw new EgressError(answer.error.code, answer.error.message);
    }
    this.streamUrls = [...this.streamUrls.filter((u) => !removed.has(this.streamUrlKey(u))), ...added];
    this.deps.log.info('stream outputs updated', {
      added: added.map(redactStreamUrl),
      removed: remove.map(redactStreamUrl),
    });
    this.publishResults();
    return this.info.clone();
  }

  private streamUrlKey(url: string): string {
    try {
      return normalizeStreamUrl(url, this.plan.outputs.stream!.protocol, 'url');
    } catch {
      return url;
    }
  }

  /** Takes a recorder's StreamInfos, adding what earlier recorders of this egress did on the same URL. */
  private mergeStreams(list: StreamResult[]): void {
    for (const r of list) {
      const base = this.streamBase.get(r.url);
      this.streams.set(
        r.url,
        base
          ? {
              ...r,
              retries: base.retries + r.retries,
              ...((base.startedAt ?? r.startedAt) !== undefined ? { startedAt: (base.startedAt ?? r.startedAt)! } : {}),
              ...((r.lastRetryAt ?? base.lastRetryAt) !== undefined
                ? { lastRetryAt: (r.lastRetryAt ?? base.lastRetryAt)! }
                : {}),
            }
          : r,
      );
    }
  }

  /** Stream, segment and image results across every recorder of this egress. */
  private outputResults(): Omit<OutputResults, 'files'> {
    const images = this.images.map((img, i) => ({
      ...img,
      imageCount: img.imageCount + (this.imageCountsBefore[i] ?? 0),
      startedAt: this.imageFirstStart[i] ?? img.startedAt,
    }));
    return { streams: [...this.streams.values()], segments: this.segments ? [this.segments] : [], images };
  }

  private publishResults(): void {
    applyResults(this.info, this.outputResults());
    this.info.updatedAt = msToNs(Date.now());
    this.deps.io.update(this.info).catch(() => undefined);
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
      case 'progress':
        this.mergeStreams(ev.streams);
        if (ev.segments[0]) this.segments = ev.segments[0];
        this.images = ev.images;
        this.publishResults();
        break;
      case 'segment':
        this.segmentEntries.push(ev.entry);
        break;
      case 'image': {
        // The manifest names images within the requested directory, as upstream.
        const dir = this.plan.outputs.images?.[ev.output]?.storageDir ?? '.';
        this.imageEntries.push({ ...ev.entry, filename: path.posix.join(dir, ev.entry.filename) });
        break;
      }
      case 'track_file':
        this.chooseTrackFile(ev);
        break;
      case 'update_stream_result':
        this.pendingUpdates.get(ev.requestId)?.(ev);
        break;
      case 'ended':
        this.mergeStreams(ev.info.streams ?? []);
        if (ev.info.segments?.[0]) this.segments = ev.info.segments[0];
        if (ev.info.images) this.images = ev.info.images;
        // Files no storage took are in the scratch dir: it must outlive the recorder.
        if (ev.info.kept?.length) this.keepTmpDir = true;
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
    this.info.details = capErrorText(this.restartNotes.join('; '));
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
    const { file, stream } = this.plan.outputs;
    this.attemptPlan = {
      ...this.plan,
      outputs: {
        ...this.plan.outputs,
        ...(file ? { file: partFile(file, n + 1) } : {}),
        // Streams resume to the URLs that were live; failed and removed ones stay ended.
        ...(stream ? { stream: { ...stream, urls: this.liveStreamUrls() } } : {}),
      },
      resume: {
        ...(this.plan.outputs.segments ? { segments: [...this.segmentEntries] } : {}),
        ...(this.plan.outputs.images?.length
          ? { imageCounts: this.outputResults().images.map((i) => i.imageCount) }
          : {}),
      },
    };
    this.carryOver();
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

  /**
   * Stream URLs a fresh recorder resumes: those UpdateStream did not remove and that did not fail (the lost
   * recorder's own end marks the rest FINISHED).
   */
  private liveStreamUrls(): string[] {
    return this.streamUrls.filter((u) => this.streams.get(redactStreamUrl(u))?.status !== 'failed');
  }

  /** Before a fresh recorder reports: what the lost one did becomes the base its reports add to. */
  private carryOver(): void {
    const now = Date.now();
    for (const live of this.liveStreamUrls()) {
      const url = redactStreamUrl(live);
      const r = this.streams.get(url);
      if (!r) continue;
      this.streamBase.set(url, {
        retries: r.retries + 1,
        lastRetryAt: now,
        ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
      });
    }
    const merged = this.outputResults().images;
    this.imageCountsBefore = merged.map((i) => i.imageCount);
    this.imageFirstStart = merged.map((i) => i.startedAt);
    this.images = this.images.map((i) => ({ ...i, imageCount: 0 }));
  }

  /** Frees what the replaced recorder held; a scratch dir with undelivered media moves aside, kept. */
  private async releaseAttempt(n: number): Promise<void> {
    let tmpDir: string | undefined = this.plan.tmpDir;
    if (this.keepTmpDir) {
      const aside = `${this.plan.tmpDir}.part${n}`;
      await rename(this.plan.tmpDir, aside).catch(() => undefined);
      const kept = capturePath(aside, this.attemptPlan.outputs.file?.fileType);
      this.restartNotes[this.restartNotes.length - 1] += `; partial capture kept at ${kept}`;
      this.info.details = capErrorText(this.restartNotes.join('; '));
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

  /**
   * A track egress's recorder picked its file (by the track's kind) and named it: a salvage finalizes that one,
   * uploaded with the storage planned for its container.
   */
  private chooseTrackFile(ev: Extract<ChildEvent, { type: 'track_file' }>): void {
    const planned = this.attemptPlan.outputs.file;
    if (!planned) return;
    const variant = ev.fileType === planned.fileType ? planned : planned.ifVideo;
    const upload = variant?.upload && ev.key !== undefined ? { ...variant.upload, key: ev.key } : undefined;
    this.recordedTrack = ev.track;
    this.trackFile = {
      fileType: ev.fileType,
      filename: ev.filename,
      destination: ev.destination,
      manifest: planned.manifest,
      ...(upload ? { upload } : {}),
    };
    this.attemptPlan = { ...this.attemptPlan, outputs: { ...this.attemptPlan.outputs, file: this.trackFile } };
  }

  /** Nothing is lost: what a dead recorder captured is finalized and delivered by the supervisor. */
  private async salvage(): Promise<{ files: FileResult[]; kept?: string }> {
    await this.closeSegments();
    const planned = this.attemptPlan.outputs.file;
    if (!planned || this.activeAt === undefined) return { files: [] };
    const { filename, destination } = planned;
    const upload = await uploadFor(planned.upload, this.plan.backup);
    try {
      const file = await deliverCapture({
        tmpDir: this.plan.tmpDir,
        fileType: planned.fileType,
        filename,
        destination,
        startedAt: this.activeAt,
        endedAt: Date.now(),
        note: (line) => this.deps.log.info(`salvage: ${line}`),
        ...(upload ? { upload } : {}),
      });
      return { files: file ? [file] : [] };
    } catch (err) {
      if (err instanceof DeliveryError) {
        // Finalized but refused by every storage: it stays in the scratch dir, reported where it is.
        this.keepTmpDir = true;
        this.deps.log.error('could not upload the salvaged recording', { error: err.message });
        return { files: [], kept: err.localPath };
      }
      // The raw capture stays on disk (the reaper never deletes media), and the report says where.
      this.keepTmpDir = true;
      this.deps.log.error('could not salvage the partial recording', { error: errors.from(err).message });
      return { files: [], kept: capturePath(this.plan.tmpDir, this.attemptPlan.outputs.file?.fileType) };
    }
  }

  /** The page recorded (the manifest redacts its token); SDK sources have none. */
  private sourceUrl(): string {
    return this.plan.source.kind === 'web' ? this.plan.source.url : '';
  }

  /** A recorder that died left its playlists open; unless a fresh one continues them, they end here. */
  private async closeSegments(): Promise<void> {
    const segments = this.plan.outputs.segments;
    if (!segments || this.segmentEntries.length === 0 || this.mayRestart()) return;
    const upload = await uploadFor(segments.upload, this.plan.backup);
    await closePlaylists(segments, this.segmentEntries, this.plan.tmpDir, upload).catch((err: Error) =>
      this.deps.log.warn('could not close the playlists', { error: err.message }),
    );
  }

  /**
   * Upstream's `<egressId>.json` next to the outputs (the file's, else the playlist's, else the images'), whatever
   * the end, unless every output disabled it; its path goes in the report.
   */
  private async writeManifest(): Promise<void> {
    const { segments, images = [] } = this.plan.outputs;
    // As the recorder named it: a track egress's placeholders may name its directory too.
    const file = this.trackFile ?? this.plan.outputs.file;
    if (!file?.manifest && !segments?.manifest && !images.some((i) => i.manifest)) return;
    const dir = file ? path.dirname(file.destination) : (segments?.dir ?? images[0]?.dir);
    if (!dir) return;
    const playlists = segments
      ? [
          {
            location: this.info.segmentResults[0]?.playlistLocation || path.join(segments.dir, segments.playlistName),
            segments: this.segmentEntries.map((e) => ({
              filename: path.posix.join(segments.storageDir, e.filename),
              location: segments.upload
                ? path.posix.join(segments.upload.key, e.filename)
                : path.join(segments.dir, e.filename),
            })),
          },
        ]
      : [];
    const extras = {
      playlists,
      images: this.imageEntries,
      tracks: manifestTracks(this.plan.source, this.recordedTrack),
    };
    // Next to the outputs: in the same storage (by key) when they were uploaded, else on disk.
    const upload = file ? file.upload : (segments?.upload ?? images[0]?.upload);
    try {
      if (upload) {
        const keyDir = file ? path.posix.dirname(upload.key) : upload.key;
        const staged = await writeManifest(os.tmpdir(), this.info, this.sourceUrl(), extras);
        try {
          const target = (await uploadFor(upload, this.plan.backup))!;
          const name = path.basename(staged);
          this.info.manifestLocation = (
            await target.target.deliver(staged, path.posix.join(keyDir, name), 'application/json')
          ).location;
        } finally {
          await rm(staged, { force: true });
        }
        return;
      }
      this.info.manifestLocation = await writeManifest(dir, this.info, this.sourceUrl(), extras);
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
    // The recorder's end report carried its last results; the merged view across recorders is what counts.
    const results = this.outputResults();
    this.info = endedInfo(this.info, {
      ...end,
      ...results,
      files,
      details: `${end.details}${restarted}`,
      ...(startedAt !== undefined ? { startedAt } : {}),
    });
    // A recorder lost to one of its processes left the playlists open for a successor; there is none.
    if (end.restartable) await this.closeSegments();
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
