/**
 * The HLS output of one recorder: splitmuxsink writes numbered TS files into the scratch dir and reports each on
 * the bus; every closed segment is moved to the output directory under its final name, announced (so a restarted
 * recorder can continue the playlist), and only then listed in the playlists, which are replaced atomically.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { utcStamp, type SegmentEntry, type SegmentsOutputPlan, type SegmentsResult } from '@egress/shared';
import type { ElementMessage } from '../../gst/bus-message.js';
import { moveFile } from '../move-file.js';
import { eventPlaylist, livePlaylist } from './hls-playlist.js';

export interface SegmentOutputOptions {
  plan: SegmentsOutputPlan;
  tmpDir: string;
  /** Segments an earlier recorder of this egress delivered; the playlist continues after them. */
  resume?: SegmentEntry[];
  /** A segment was delivered (before it is listed). */
  onSegment?: (entry: SegmentEntry) => void;
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

  constructor(private readonly o: SegmentOutputOptions) {
    this.pattern = path.join(o.tmpDir, 'segment_%05d.ts');
    this.entries = [...(o.resume ?? [])];
    this.resumed = this.entries.length;
  }

  get playlistPath(): string {
    return path.join(this.o.plan.dir, this.o.plan.playlistName);
  }

  get livePlaylistPath(): string | undefined {
    const live = this.o.plan.livePlaylistName;
    return live ? path.join(this.o.plan.dir, live) : undefined;
  }

  /** Creates the output directory, before the pipeline runs. */
  async prepare(): Promise<void> {
    await mkdir(this.o.plan.dir, { recursive: true });
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
    await moveFile(location, path.join(this.o.plan.dir, filename));
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
    await writePlaylists(this.o.plan, this.entries, ended);
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
    return {
      playlistName: plan.playlistName,
      playlistLocation: this.playlistPath,
      ...(plan.livePlaylistName ? { livePlaylistName: plan.livePlaylistName } : {}),
      ...(this.livePlaylistPath ? { livePlaylistLocation: this.livePlaylistPath } : {}),
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

async function writePlaylists(plan: SegmentsOutputPlan, entries: SegmentEntry[], ended: boolean): Promise<void> {
  const o = { targetSec: plan.segmentDurationSec, ended };
  await replaceFile(path.join(plan.dir, plan.playlistName), eventPlaylist(entries, o));
  if (plan.livePlaylistName) await replaceFile(path.join(plan.dir, plan.livePlaylistName), livePlaylist(entries, o));
}

/** Ends the playlists of a recording whose recorder died: the supervisor lists what was delivered, then ENDLIST. */
export async function closePlaylists(plan: SegmentsOutputPlan, entries: SegmentEntry[]): Promise<void> {
  await writePlaylists(plan, entries, true);
}
