/**
 * The HLS output of one recorder: splitmuxsink writes numbered TS files into the scratch dir and reports each on
 * the bus; every closed segment is moved to the output directory under its final name, announced (so a restarted
 * recorder can continue the playlist), and only then listed in the playlists, which are replaced atomically.
 */
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { utcStamp, type SegmentEntry, type SegmentsOutputPlan, type SegmentsResult } from '@egress/shared';
import type { ElementMessage } from '../../gst/bus-message.js';
import { moveFile } from '../move-file.js';
import type { Upload } from '../upload-targets.js';
import { eventPlaylist, livePlaylist } from './hls-playlist.js';

export interface SegmentOutputOptions {
  plan: SegmentsOutputPlan;
  tmpDir: string;
  /** Segments an earlier recorder of this egress delivered; the playlist continues after them. */
  resume?: SegmentEntry[];
  /** A segment was delivered (before it is listed). */
  onSegment?: (entry: SegmentEntry) => void;
  /** Upload segments and playlists instead of moving them to the plan's directory. */
  upload?: Upload;
  /** A file could not be uploaded; it stays at this local path. */
  onKept?: (localPath: string) => void;
  note?: (line: string) => void;
}

const pad5 = (n: number) => String(n).padStart(5, '0');

export class SegmentOutput {
  /** splitmuxsink's location pattern. */
  readonly pattern: string;
  private readonly entries: SegmentEntry[];
  private readonly resumed: number;
  /** Running time (ns) at which each open fragment began, by its scratch path. */
  private readonly openedAt = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private startedAt: number | undefined;
  private endedAt: number | undefined;
  private failure: Error | undefined;
  /** Where the playlists were last published (uploaded URLs, or local paths). */
  private published: { playlist?: string; live?: string } = {};

  constructor(private readonly o: SegmentOutputOptions) {
    this.pattern = path.join(o.tmpDir, 'segment_%05d.ts');
    this.entries = [...(o.resume ?? [])];
    this.resumed = this.entries.length;
  }

  /** Creates the output directory, before the pipeline runs. */
  async prepare(): Promise<void> {
    if (!this.o.upload) await mkdir(this.o.plan.dir, { recursive: true });
  }

  /** The pipeline's running time 0 in wall-clock ms (when it reached PLAYING). */
  start(startedAt: number): void {
    this.startedAt = startedAt;
  }

  /** Takes splitmuxsink's fragment messages; other messages are ignored. Never throws (failures surface in finish). */
  onMessage(m: ElementMessage): void {
    const location = String(m.fields.location ?? '');
    const runningTime = Number(m.fields['running-time'] ?? 0);
    if (m.name === 'splitmuxsink-fragment-opened') this.openedAt.set(location, runningTime);
    if (m.name !== 'splitmuxsink-fragment-closed') return;
    const began = this.openedAt.get(location) ?? runningTime;
    this.openedAt.delete(location);
    this.chain = this.chain
      .then(() => this.deliver(location, began, runningTime))
      .catch((err: Error) => {
        this.failure ??= err;
        this.o.note?.(`segment ${location}: ${err.message}`);
      });
  }

  private async deliver(location: string, beganNs: number, endedNs: number): Promise<void> {
    const size = (await stat(location).catch(() => undefined))?.size ?? 0;
    if (size === 0) return;
    const startedAt = (this.startedAt ?? Date.now()) + beganNs / 1e6;
    const index = this.entries.length;
    const { filenamePrefix: prefix, suffix } = this.o.plan;
    const filename = `${prefix}_${suffix === 'timestamp' ? utcStamp(new Date(startedAt)) : pad5(index)}.ts`;
    const upload = this.o.upload;
    if (upload) {
      try {
        await upload.target.deliver(location, path.posix.join(upload.key, filename), 'video/mp2t');
      } catch (err) {
        this.o.onKept?.(location);
        throw err;
      }
      await unlink(location);
    } else {
      await moveFile(location, path.join(this.o.plan.dir, filename));
    }
    const entry: SegmentEntry = {
      filename,
      durationSec: Math.max(0, (endedNs - beganNs) / 1e9),
      startedAt,
      size,
      ...(index === this.resumed && this.resumed > 0 ? { discontinuity: true } : {}),
    };
    this.entries.push(entry);
    this.endedAt = startedAt + entry.durationSec * 1000;
    this.o.onSegment?.(entry);
    await this.writePlaylists(false);
  }

  private async writePlaylists(ended: boolean): Promise<void> {
    this.published = await publishPlaylists(this.o.plan, this.entries, ended, this.o.tmpDir, this.o.upload);
  }

  /**
   * After the pipeline has exited: delivers what is pending and ends the playlists, unless `closePlaylists` is
   * false (a fresh recorder may continue them; players must not see them end in between).
   */
  async finish(closePlaylists = true): Promise<SegmentsResult | undefined> {
    await this.chain;
    if (this.entries.length === 0) return undefined;
    if (closePlaylists) await this.writePlaylists(true);
    if (this.failure) throw this.failure;
    return this.result();
  }

  /** What the playlists hold so far. */
  result(): SegmentsResult | undefined {
    if (this.entries.length === 0) return undefined;
    const { plan } = this.o;
    const first = this.entries[0]!;
    const local = playlistPaths(plan, plan.dir);
    const live = this.published.live ?? local.live;
    return {
      // Upstream's names: within the requested directory, wherever the playlists went.
      playlistName: path.posix.join(plan.storageDir, plan.playlistName),
      playlistLocation: this.published.playlist ?? local.playlist,
      ...(plan.livePlaylistName ? { livePlaylistName: path.posix.join(plan.storageDir, plan.livePlaylistName) } : {}),
      ...(live ? { livePlaylistLocation: live } : {}),
      durationMs: Math.round(this.entries.reduce((sum, e) => sum + e.durationSec, 0) * 1000),
      size: this.entries.reduce((sum, e) => sum + e.size, 0),
      segmentCount: this.entries.length,
      startedAt: first.startedAt,
      endedAt: this.endedAt ?? first.startedAt,
    };
  }
}

/** Readers see the old or the new playlist, never half of one. */
export async function replaceFile(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

/** The playlists' paths in `dir`. */
function playlistPaths(plan: SegmentsOutputPlan, dir: string): { playlist: string; live?: string } {
  return {
    playlist: path.join(dir, plan.playlistName),
    ...(plan.livePlaylistName ? { live: path.join(dir, plan.livePlaylistName) } : {}),
  };
}

/**
 * Writes the playlists: into the output directory, or (uploading) into `tmpDir` and then to storage, after the
 * segments they list. Returns where they are.
 */
async function publishPlaylists(
  plan: SegmentsOutputPlan,
  entries: SegmentEntry[],
  ended: boolean,
  tmpDir: string,
  upload: Upload | undefined,
): Promise<{ playlist: string; live?: string }> {
  const o = { targetSec: plan.segmentDurationSec, ended };
  const local = playlistPaths(plan, upload ? tmpDir : plan.dir);
  await replaceFile(local.playlist, eventPlaylist(entries, o));
  if (local.live) await replaceFile(local.live, livePlaylist(entries, o));
  if (!upload) return local;
  const put = async (file: string, name: string) =>
    (await upload.target.deliver(file, path.posix.join(upload.key, name), 'application/x-mpegURL')).location;
  return {
    playlist: await put(local.playlist, plan.playlistName),
    ...(local.live && plan.livePlaylistName ? { live: await put(local.live, plan.livePlaylistName) } : {}),
  };
}

/**
 * Ends the playlists of a recording whose recorder died: the supervisor lists what was delivered, then ENDLIST
 * (uploading them through `tmpDir` when the output goes to storage).
 */
export async function closePlaylists(
  plan: SegmentsOutputPlan,
  entries: SegmentEntry[],
  tmpDir: string,
  upload?: Upload,
): Promise<void> {
  if (upload) await mkdir(tmpDir, { recursive: true });
  await publishPlaylists(plan, entries, true, tmpDir, upload);
}
