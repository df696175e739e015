/**
 * Line-wise output of the external processes a recording runs (Xvfb, Chromium, gst-launch, ffmpeg). Waiting
 * for and ending them is `@egress/shared/host/terminate`.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Calls `onLine` for every non-empty line of a stream. */
export function forEachLine(stream: Readable | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() !== '') onLine(line);
  });
}

/**
 * Sends every output line of a child to `log` and keeps its last `keep` lines, so a failure report can
 * quote what the process said last.
 */
export function tailOutput(child: ChildProcess, log: (line: string) => void, keep = 20): string[] {
  const tail: string[] = [];
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > keep) tail.shift();
    log(line);
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);
  return tail;
}
