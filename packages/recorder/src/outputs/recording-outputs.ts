/**
 * The non-file outputs of one recording (HLS segments, streams, images) behind one object: what the pipeline must
 * write, where its bus messages go, live stream changes, and the results. The source (web page or room) and the
 * file output stay with the recording; this is shared by every source.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import {
  EgressError,
  errors,
  type ImageEntry,
  type ImagesResult,
  type RecordingPlan,
  type SegmentEntry,
  type SegmentsResult,
  type StreamResult,
} from '@egress/shared';
import type { ElementMessage } from '../gst/bus-message.js';
import { ELEMENT, type PipelineOutputs } from '../pipeline/output-argv.js';
import { ImageOutput } from './images/image-output.js';
import { SegmentOutput } from './segments/segment-output.js';
import { StreamSet } from './streams/stream-set.js';
import { TsRelay } from './streams/ts-relay.js';
import type { RecordingUploads } from './upload-targets.js';

/** gst-launch's fd that carries the stream feed. */
export const STREAM_FEED_FD = 3;

export interface RecordingOutputsEvents {
  /** Stream, segment or image results changed. */
  progress: [];
  /** A segment was delivered. */
  segment: [SegmentEntry];
  /** An image of image output `output` was delivered. */
  image: [output: number, entry: ImageEntry];
  /** Every stream destination failed and streams are all this recording has: it cannot go on. */
  streamsFailed: [error: string];
  /** The last stream was removed and streams are all this recording has. */
  streamsRemoved: [];
}

export interface RecordingOutputsOptions {
  log?: (line: string) => void;
  /** Uploads of segments and images (outputs without one are delivered to local disk). */
  uploads?: Pick<RecordingUploads, 'segments' | 'images'>;
  /** A file could not be uploaded and stays at this local path. */
  onKept?: (localPath: string) => void;
  /** Stream reconnection window (default 30 s), for tests. */
  reconnectWindowMs?: number;
}

export class RecordingOutputs extends EventEmitter<RecordingOutputsEvents> {
  private readonly segments: SegmentOutput | undefined;
  private readonly images: ImageOutput[];
  private readonly relay: TsRelay | undefined;
  private readonly streams: StreamSet | undefined;
  private progressTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly plan: RecordingPlan,
    o: RecordingOutputsOptions = {},
  ) {
    super();
    const log = o.log ?? (() => {});
    const { outputs, tmpDir, resume } = plan;
    if (outputs.segments) {
      this.segments = new SegmentOutput({
        plan: outputs.segments,
        tmpDir,
        ...(resume?.segments ? { resume: resume.segments } : {}),
        ...(o.uploads?.segments ? { upload: o.uploads.segments } : {}),
        ...(o.onKept ? { onKept: o.onKept } : {}),
        onSegment: (entry) => {
          this.emit('segment', entry);
          this.changed();
        },
        note: log,
      });
    }
    this.images = (outputs.images ?? []).map(
      (img, index) =>
        new ImageOutput({
          plan: img,
          tmpDir,
          index,
          resumedCount: resume?.imageCounts?.[index] ?? 0,
          ...(o.uploads?.images[index] ? { upload: o.uploads.images[index] } : {}),
          ...(o.onKept ? { onKept: o.onKept } : {}),
          onImage: (entry) => {
            this.emit('image', index, entry);
            this.changed();
          },
          note: log,
        }),
    );
    if (outputs.stream) {
      this.relay = new TsRelay(!plan.source.audioOnly);
      this.streams = new StreamSet({
        plan: outputs.stream,
        relay: this.relay,
        video: !plan.source.audioOnly,
        audio: !plan.source.videoOnly,
        log,
        ...(o.reconnectWindowMs !== undefined ? { reconnectWindowMs: o.reconnectWindowMs } : {}),
        onChange: () => this.onStreamChange(),
      });
    }
  }

  /** Streams are the only output: their end is the recording's. */
  private get streamsOnly(): boolean {
    const o = this.plan.outputs;
    return !!o.stream && !o.file && !o.segments && !(o.images?.length ?? 0);
  }

  /** What the capture pipeline must write for these outputs. */
  pipelineOutputs(): Omit<PipelineOutputs, 'file'> {
    return {
      ...(this.segments
        ? { segments: { pattern: this.segments.pattern, durationSec: this.plan.outputs.segments!.segmentDurationSec } }
        : {}),
      ...(this.streams ? { streamFeedFd: STREAM_FEED_FD } : {}),
      ...(this.images.length
        ? {
            images: this.images.map((img, i) => ({
              pattern: img.pattern,
              intervalSec: this.plan.outputs.images![i]!.captureIntervalSec,
              width: this.plan.outputs.images![i]!.width,
              height: this.plan.outputs.images![i]!.height,
            })),
          }
        : {}),
    };
  }

  /** Creates the output directories, before the pipeline starts. */
  async prepare(): Promise<void> {
    await this.segments?.prepare();
    await Promise.all(this.images.map((i) => i.prepare()));
  }

  /** The pipeline is PLAYING (its running time 0 is `startedAt`) and writes the stream feed to `feed`. */
  start(startedAt: number, feed: Readable | undefined): void {
    this.segments?.start(startedAt);
    for (const img of this.images) img.start(startedAt);
    if (this.relay && feed) this.relay.attach(feed);
    this.streams?.start();
    this.changed();
  }

  /** Routes a bus message to the output whose element posted it. */
  onMessage(m: ElementMessage): void {
    if (m.element === ELEMENT.segments) this.segments?.onMessage(m);
    const image = /^img(\d+)$/.exec(m.element);
    if (image) this.images[Number(image[1])]?.onMessage(m);
  }

  /** UpdateStream: removals first, then additions; the first bad URL is the error and nothing after it applies. */
  async updateStream(add: string[], remove: string[]): Promise<StreamResult[]> {
    const streams = this.streams;
    if (!streams)
      throw errors.invalidArgument('egress_id', this.plan.egressId, 'egress has no stream output to update');
    for (const [i, url] of remove.entries()) await streams.remove(url, `remove_output_urls[${i}]`);
    for (const [i, url] of add.entries()) streams.add(url, `add_output_urls[${i}]`);
    return streams.results();
  }

  /** Stream URLs a fresh recorder must resume. */
  activeStreamUrls(): string[] {
    return this.streams?.activeUrls() ?? [];
  }

  private onStreamChange(): void {
    this.changed();
    const streams = this.streams!;
    if (!this.streamsOnly) return;
    if (streams.allFailed) {
      const first = streams.results().find((r) => r.error)?.error ?? 'unknown error';
      this.emit('streamsFailed', `every stream output failed: ${first}`);
    } else if (streams.noneActive) {
      this.emit('streamsRemoved');
    }
  }

  /** Coalesces bursts of changes into one progress report. */
  private changed(): void {
    if (this.progressTimer) return;
    this.progressTimer = setTimeout(() => {
      this.progressTimer = undefined;
      this.emit('progress');
    }, 100);
  }

  /** Results so far. */
  results(): { streams: StreamResult[]; segments: SegmentsResult[]; images: ImagesResult[] } {
    const segments = this.segments?.result();
    return {
      streams: this.streams?.results() ?? [],
      segments: segments ? [segments] : [],
      images: this.images.map((i) => i.result()).filter((r): r is ImagesResult => r !== undefined),
    };
  }

  /**
   * After EOS: ends every stream, delivers pending segments and images, and closes the playlists unless
   * `closePlaylists` is false (the recording was lost and may be continued by a fresh recorder).
   */
  async finish(closePlaylists = true): Promise<{
    streams: StreamResult[];
    segments: SegmentsResult[];
    images: ImagesResult[];
    error?: EgressError;
  }> {
    clearTimeout(this.progressTimer);
    let error: EgressError | undefined;
    const streams = (await this.streams?.close()) ?? [];
    let segments: SegmentsResult | undefined;
    try {
      segments = await this.segments?.finish(closePlaylists);
    } catch (err) {
      error ??= errors.internal(`segments: ${errors.from(err).message}`);
      segments = this.segments?.result();
    }
    const images: ImagesResult[] = [];
    for (const img of this.images) {
      try {
        const r = await img.finish();
        if (r) images.push(r);
      } catch (err) {
        error ??= errors.internal(`images: ${errors.from(err).message}`);
      }
    }
    return { streams, segments: segments ? [segments] : [], images, ...(error ? { error } : {}) };
  }

  /** Tear-down: kills every stream sender now. */
  async kill(): Promise<void> {
    clearTimeout(this.progressTimer);
    await this.streams?.kill();
  }
}
