/**
 * One image output: multifilesink writes numbered JPEGs into the scratch dir and reports each on the bus; each is
 * moved to the output directory under its final name (index, timestamp, or one file overwritten).
 */
import { mkdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { utcStamp, type ImageEntry, type ImageOutputPlan, type ImagesResult } from '@egress/shared';
import type { ElementMessage } from '../../gst/bus-message.js';
import { moveFile } from '../move-file.js';
import type { Upload } from '../upload-targets.js';

export interface ImageOutputOptions {
  plan: ImageOutputPlan;
  tmpDir: string;
  /** Which image output of the recording this is (names its element and scratch files). */
  index: number;
  /** Images an earlier recorder of this egress delivered; the numbering continues after them. */
  resumedCount?: number;
  /** An image was delivered. */
  onImage?: (entry: ImageEntry) => void;
  /** Upload images instead of moving them to the plan's directory. */
  upload?: Upload;
  /** A file could not be uploaded; it stays at this local path. */
  onKept?: (localPath: string) => void;
  note?: (line: string) => void;
}

export class ImageOutput {
  readonly pattern: string;
  private count = 0;
  private chain: Promise<void> = Promise.resolve();
  private startedAt: number | undefined;
  private endedAt: number | undefined;
  private failure: Error | undefined;

  constructor(private readonly o: ImageOutputOptions) {
    this.pattern = path.join(o.tmpDir, `image${o.index}_%05d.jpeg`);
  }

  /** Creates the output directory, before the pipeline runs. */
  async prepare(): Promise<void> {
    if (!this.o.upload) await mkdir(this.o.plan.dir, { recursive: true });
  }

  /** The pipeline's running time 0 in wall-clock ms (when it reached PLAYING). */
  start(startedAt: number): void {
    this.startedAt = startedAt;
  }

  /** Takes multifilesink's per-file messages. Never throws (failures surface in finish). */
  onMessage(m: ElementMessage): void {
    if (m.name !== 'GstMultiFileSink') return;
    const file = String(m.fields.filename ?? '');
    const at = (this.startedAt ?? Date.now()) + Number(m.fields['running-time'] ?? 0) / 1e6;
    this.chain = this.chain
      .then(() => this.deliver(file, at))
      .catch((err: Error) => {
        this.failure ??= err;
        this.o.note?.(`image ${file}: ${err.message}`);
      });
  }

  private async deliver(file: string, at: number): Promise<void> {
    if (!(await stat(file).catch(() => undefined))?.size) return;
    const { filenamePrefix: prefix, suffix } = this.o.plan;
    const n = (this.o.resumedCount ?? 0) + this.count;
    const name =
      suffix === 'overwrite'
        ? `${prefix}.jpeg`
        : `${prefix}_${suffix === 'timestamp' ? utcStamp(new Date(at)) : String(n).padStart(5, '0')}.jpeg`;
    let location = path.join(this.o.plan.dir, name);
    const upload = this.o.upload;
    if (upload) {
      try {
        location = (await upload.target.deliver(file, path.posix.join(upload.key, name), 'image/jpeg')).location;
      } catch (err) {
        this.o.onKept?.(file);
        throw err;
      }
      await unlink(file);
    } else {
      await moveFile(file, location);
    }
    this.count++;
    this.endedAt = at;
    this.o.onImage?.({ filename: name, location, timestamp: at });
  }

  /** After the pipeline has exited: delivers what is pending. */
  async finish(): Promise<ImagesResult | undefined> {
    await this.chain;
    if (this.failure) throw this.failure;
    return this.result();
  }

  /** Images delivered by this recorder so far. */
  result(): ImagesResult | undefined {
    if (this.startedAt === undefined) return undefined;
    return {
      // Upstream's: the requested prefix with its placeholders filled, wherever the images went.
      filenamePrefix: path.posix.join(this.o.plan.storageDir, this.o.plan.filenamePrefix),
      imageCount: this.count,
      startedAt: this.startedAt,
      endedAt: this.endedAt ?? this.startedAt,
    };
  }
}
