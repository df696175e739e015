import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { errors } from '@egress/shared';
import { EGRESS_ID_RULE, isEgressId } from '@egress/shared/host/resource-names';

/** Where per-egress logs go unless `log_dir` (service) / `--dir` or EGRESS_LOG_DIR (CLI) says otherwise. */
export const DEFAULT_LOG_DIR = path.join(os.tmpdir(), 'lk-egress-logs');
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** The smallest cap accepted, so that a rotation always leaves room for at least a few lines. */
export const MIN_MAX_BYTES = 1024;
/** Every log ends with a line starting with this; ordinary lines start with a timestamp, so cannot fake it. */
export const END_MARKER = '--- egress ended:';

/** No single line may take more than this (or the cap, if smaller); longer ones are cut. */
const MAX_LINE_BYTES = 64 * 1024;
const TRUNCATED = ' ...[truncated]';

/** Throws invalid_argument unless `egressId` is an egress id: it becomes a file name. */
export function assertEgressId(egressId: string): void {
  if (!isEgressId(egressId)) throw errors.invalidArgument('egressID', egressId, EGRESS_ID_RULE);
}

/** `<dir>/<egressId>.log`, after validating the id. */
export function egressLogPath(dir: string, egressId: string): string {
  assertEgressId(egressId);
  return path.join(dir, `${egressId}.log`);
}

/** The previous part of a rotated log. */
export function rotatedPath(logPath: string): string {
  return `${logPath}.1`;
}

export interface EgressLogFileOptions {
  /** Size cap of one file; at the cap it is rotated once to `.1`, so at most 2× this per egress. */
  maxBytes?: number;
  /** Called (once) when the file cannot be written; writing stops, the egress goes on. */
  onError?: (err: Error) => void;
}

// O_NOFOLLOW: a symlink planted at `<id>.log` must not redirect our writes to some other file.
const APPEND = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW;
const TRUNCATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;

/**
 * One egress's log on disk: `<dir>/<egressId>.log`, each line prefixed with an ISO timestamp (and the stream),
 * size-capped with one rotation to `<egressId>.log.1`, and closed by an `--- egress ended: ...` line.
 *
 * Writes go through a WriteStream (buffered, in order, no sync I/O per line). A rotation waits until the
 * old file is fully flushed before renaming it, queueing lines in memory meanwhile, so a `.1` file is
 * always complete: readers can rely on that.
 */
export class EgressLogFile {
  private stream: fs.WriteStream;
  /** Bytes in the current file, counting those queued in the stream. */
  private bytes: number;
  /** Lines waiting for a rotation to finish. */
  private queue: string[] = [];
  private rotating: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private failed = false;

  private constructor(
    readonly path: string,
    readonly egressId: string,
    private readonly maxBytes: number,
    initialBytes: number,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {
    this.bytes = initialBytes;
    this.stream = this.openStream(APPEND);
  }

  /**
   * Creates `dir` if needed and opens (appending to) the egress's log. Throws on an invalid egress id,
   * an invalid `maxBytes`, or a directory or file that cannot be created; later failures go to `onError`.
   */
  static open(dir: string, egressId: string, opts: EgressLogFileOptions = {}): EgressLogFile {
    const file = egressLogPath(dir, egressId);
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < MIN_MAX_BYTES) {
      throw errors.invalidArgument('maxBytes', maxBytes, `must be an integer of at least ${MIN_MAX_BYTES}`);
    }
    // Logs may hold URLs with access tokens: keep them to ourselves.
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    let size = 0;
    try {
      size = fs.lstatSync(file).size;
    } catch {
      // a new log
    }
    return new EgressLogFile(file, egressId, maxBytes, size, opts.onError);
  }

  /** Appends one line (or several, if it holds newlines), each timestamped. Never throws. */
  write(line: string, stream?: 'stdout' | 'stderr'): void {
    if (this.closing || this.failed) return;
    try {
      const ts = new Date().toISOString();
      const prefix = stream ? `${ts} ${stream} ` : `${ts} `;
      for (const part of String(line).split(/\r?\n/)) this.append(this.fit(prefix + part));
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Appends `--- egress ended: <summary>`, flushes and closes. Idempotent; never rejects (a failure goes to
   * `onError`). Later writes are dropped.
   */
  end(summary: string): Promise<void> {
    this.closing ??= (async () => {
      if (!this.failed) this.append(this.fit(`${END_MARKER} ${String(summary).replace(/\s+/g, ' ').trim()}`));
      while (this.rotating) await this.rotating;
      if (this.failed) return;
      this.stream.end();
      await finished(this.stream).catch((err: unknown) => this.fail(err));
    })();
    return this.closing;
  }

  /** Cuts a line so that, with its newline, it fits in one file. */
  private fit(line: string): string {
    const limit = Math.min(MAX_LINE_BYTES, this.maxBytes);
    if (Buffer.byteLength(line) + 1 <= limit) return `${line}\n`;
    const budget = limit - Buffer.byteLength(TRUNCATED) - 1;
    // Cutting mid-character leaves a replacement character at the end: drop it.
    const cut = Buffer.from(line)
      .subarray(0, budget)
      .toString()
      .replace(/\uFFFD+$/, '');
    return `${cut}${TRUNCATED}\n`;
  }

  private append(text: string): void {
    if (this.failed) return;
    if (this.rotating) {
      this.queue.push(text);
      return;
    }
    const size = Buffer.byteLength(text);
    if (this.bytes > 0 && this.bytes + size > this.maxBytes) {
      this.queue.push(text);
      this.rotate();
      return;
    }
    this.bytes += size;
    this.stream.write(text);
  }

  /** `<id>.log` -> `<id>.log.1` once the old file is flushed; then a fresh `<id>.log` takes the queue. */
  private rotate(): void {
    const old = this.stream;
    this.rotating = (async () => {
      old.end();
      await finished(old);
      await fs.promises.rename(this.path, rotatedPath(this.path)).catch((err: NodeJS.ErrnoException) => {
        // Someone removed the log under us: just start a new one.
        if (err.code !== 'ENOENT') throw err;
      });
    })().then(
      () => {
        this.rotating = undefined;
        try {
          // A fresh file; truncating also keeps the cap if the rename somehow did not happen.
          this.stream = this.openStream(TRUNCATE);
        } catch (err) {
          this.fail(err);
          return;
        }
        this.bytes = 0;
        const queued = this.queue;
        this.queue = [];
        // In order; a line that needs yet another rotation re-queues itself and those after it.
        for (const text of queued) this.append(text);
      },
      (err: unknown) => {
        this.rotating = undefined;
        this.queue = [];
        this.fail(err);
      },
    );
  }

  /** Opens synchronously (at open and once per rotation only), so a failure is known at once. */
  private openStream(flags: number): fs.WriteStream {
    const fd = fs.openSync(this.path, flags, 0o600);
    const s = fs.createWriteStream(this.path, { fd });
    s.on('error', (err) => this.fail(err));
    return s;
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.queue = [];
    this.stream.destroy();
    const e = err instanceof Error ? err : new Error(String(err));
    try {
      this.onError?.(new Error(`egress log ${this.path}: ${e.message}`));
    } catch {
      // a reporter's own failure must not escape write()
    }
  }
}
