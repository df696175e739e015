import fs from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { EgressError } from '@egress/shared';
import { egressLogPath, END_MARKER, rotatedPath } from './egress-log-file.js';

/** The reading side of EgressLogFile: `egress logs` and anything else that shows an egress's log. */

const CHUNK_BYTES = 64 * 1024;
export const DEFAULT_POLL_MS = 250;

export interface FollowOptions {
  signal?: AbortSignal;
  /** How often to look for more text; default 250 ms. */
  pollMs?: number;
}

/** `onText` may return a promise (e.g. waiting for stdout to drain); reading waits for it. */
export type TextSink = (text: string) => void | Promise<void>;

/** The not_found error for an egress with no log: `no log for EG_x in /dir`. */
export function noLogError(dir: string, egressId: string): EgressError {
  return new EgressError('not_found', `no log for ${egressId} in ${dir}`);
}

/** The whole log of an egress: the rotated `.1` part, then the current file. Throws not_found if neither exists. */
export async function readEgressLog(dir: string, egressId: string): Promise<string> {
  const parts: string[] = [];
  const { older, current } = await openLog(dir, egressId);
  try {
    const collect = (text: string) => void parts.push(text);
    if (older) await drain(older, collect);
    if (current) await drain(current, collect);
  } finally {
    await older?.close();
    await current?.close();
  }
  return parts.join('');
}

/**
 * Passes an egress's log to `onText`: first what is there, then whatever is appended, until the end
 * marker line has been passed on ('ended') or `signal` aborts ('aborted'). Polls the file every `pollMs`
 * (stat, then read from the last offset) and follows a rotation: when `<id>.log` is replaced (or shrinks),
 * the rest of the old file is read, then the new one from its start. Throws not_found for a missing log.
 */
export async function followEgressLog(
  dir: string,
  egressId: string,
  onText: TextSink,
  opts: FollowOptions = {},
): Promise<'ended' | 'aborted'> {
  const { signal } = opts;
  const pollMs = Math.max(10, opts.pollMs ?? DEFAULT_POLL_MS);
  const file = egressLogPath(dir, egressId);
  const scanner = new EndScanner();
  const sink = async (text: string) => {
    await onText(text);
    scanner.push(text);
  };
  // Stop reading a file once the marker is through, or once asked to.
  const stop = () => scanner.ended || signal?.aborted === true;
  const result = () => (scanner.ended ? 'ended' : 'aborted');
  /** Waits one poll interval; false when aborted meanwhile. */
  const pause = async () => {
    try {
      await sleep(pollMs, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  };

  const opened = await openLog(dir, egressId);
  let current = opened.current;
  try {
    if (opened.older) {
      await drain(opened.older, sink, stop).finally(() => opened.older?.close());
      if (stop()) return result();
    }
    for (;;) {
      if (current) await drain(current, sink, stop);
      if (stop()) return result();
      const st = await statIfExists(file);
      if (!st) {
        // Between a rotation's rename and the new file's creation (or removed): look again later.
        if (!(await pause())) return 'aborted';
        continue;
      }
      if (current && st.ino === current.ino) {
        if (st.size < current.offset) {
          current.offset = 0; // truncated in place: start over
          continue;
        }
        if (st.size > current.offset) continue; // more arrived since the read
        if (!(await pause())) return 'aborted';
        continue;
      }
      // Rotated: the old file is complete once renamed (the writer flushes it first); finish it, then switch.
      if (current) {
        await drain(current, sink, stop);
        await current.close();
        current = undefined;
        if (stop()) return result();
      }
      current = await openIfExists(file);
    }
  } finally {
    await current?.close();
  }
}

/** An open log file and how far it has been read. */
class LogReader {
  offset = 0;
  private readonly decoder = new StringDecoder('utf8');
  private readonly buf = Buffer.allocUnsafe(CHUNK_BYTES);

  constructor(
    private readonly fh: fs.FileHandle,
    readonly ino: number,
  ) {}

  /** Reads up to one chunk from the offset; 0 bytes at the end of the file. */
  async read(): Promise<{ text: string; bytes: number }> {
    const { bytesRead } = await this.fh.read(this.buf, 0, this.buf.length, this.offset);
    this.offset += bytesRead;
    return { text: this.decoder.write(this.buf.subarray(0, bytesRead)), bytes: bytesRead };
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/** Reads a file from its offset to its current end, chunk by chunk, unless `stop` says otherwise. */
async function drain(r: LogReader, sink: TextSink, stop: () => boolean = () => false): Promise<void> {
  while (!stop()) {
    const { text, bytes } = await r.read();
    if (text) await sink(text);
    if (bytes === 0) return;
  }
}

/**
 * Opens both parts of a log. The current file is opened first: if a rotation turns it into `.1` before
 * `.1` is opened, both are the same file, and the older part (now replaced) is not read twice.
 */
async function openLog(dir: string, egressId: string): Promise<{ older?: LogReader; current?: LogReader }> {
  const file = egressLogPath(dir, egressId);
  const current = await openIfExists(file);
  let older = await openIfExists(rotatedPath(file));
  if (older && current && older.ino === current.ino) {
    await older.close();
    older = undefined;
  }
  if (!older && !current) throw noLogError(dir, egressId);
  return { ...(older ? { older } : {}), ...(current ? { current } : {}) };
}

async function openIfExists(file: string): Promise<LogReader | undefined> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return new LogReader(fh, (await fh.stat()).ino);
  } catch (err) {
    await fh.close();
    throw err;
  }
}

async function statIfExists(file: string): Promise<{ ino: number; size: number } | undefined> {
  try {
    return await fs.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Watches text go by for a complete line that starts with the end marker. */
class EndScanner {
  ended = false;
  /** The first characters of the line being read, enough to compare with the marker. */
  private head = '';

  push(text: string): void {
    const parts = text.split('\n');
    for (let i = 0; i < parts.length && !this.ended; i++) {
      if (this.head.length < END_MARKER.length)
        this.head += (parts[i] ?? '').slice(0, END_MARKER.length - this.head.length);
      if (i < parts.length - 1) {
        if (this.head === END_MARKER) this.ended = true;
        this.head = '';
      }
    }
  }
}
