/**
 * Delivery of a file output: a fragmented MP4 capture is remuxed into an ordinary MP4 (OGG and MP3 need
 * no remux), moved to its destination and read back for FileInfo. Used by the recorder on every end, and by the supervisor to
 * salvage what a recorder that died had written.
 */
import { mkdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FileResult, FileType } from '@egress/shared';
import { probeMedia } from '../media/probe.js';
import { remuxToMp4 } from '../media/remux.js';
import { contentTypeFor } from '../storage/content-type.js';
import { DeliveryError } from '../storage/delivery-error.js';
import { moveFile } from './move-file.js';
import type { Upload } from './upload-targets.js';

/** The scratch file the capture pipeline writes inside the egress's tmp dir. */
export function capturePath(tmpDir: string, fileType: FileType = 'mp4'): string {
  return join(tmpDir, `capture.${fileType}`);
}

export interface DeliverOptions {
  tmpDir: string;
  fileType?: FileType;
  /** FileInfo.filename (the requested path, as upstream reports it), wherever the file ends up. */
  filename: string;
  destination: string;
  startedAt: number;
  endedAt: number;
  signal?: AbortSignal;
  /** Receives a line per step, with timings. */
  note?: (line: string) => void;
  /** Upload instead of moving to `destination`; a failed upload keeps the file in `tmpDir` (DeliveryError). */
  upload?: Upload;
}

/** Delivers the capture in `tmpDir`; undefined when nothing was captured. Throws when the media is unusable. */
export async function deliverCapture(o: DeliverOptions): Promise<FileResult | undefined> {
  const fileType = o.fileType ?? 'mp4';
  const capture = capturePath(o.tmpDir, fileType);
  const captured = await stat(capture).catch(() => undefined);
  if (!captured || captured.size === 0) return undefined;
  let finished = capture;
  if (fileType === 'mp4') {
    finished = join(o.tmpDir, 'final.mp4');
    const t0 = Date.now();
    await remuxToMp4(capture, finished, o.signal ? { cancelSignal: o.signal } : {});
    o.note?.(`remuxed ${captured.size} bytes in ${Date.now() - t0} ms`);
  }
  if (o.upload) {
    const probe = await probeMedia(finished, o.signal ? { cancelSignal: o.signal } : {});
    const t0 = Date.now();
    const d = await o.upload.target.deliver(finished, o.upload.key, contentTypeFor(finished), o.signal);
    o.note?.(`uploaded ${d.size} bytes in ${Date.now() - t0} ms: ${d.key}${d.backupUsed ? ' (backup storage)' : ''}`);
    await unlink(finished);
    return {
      filename: o.filename,
      location: d.location,
      size: d.size,
      durationMs: probe.durationMs,
      startedAt: o.startedAt,
      endedAt: o.endedAt,
      ...(d.backupUsed ? { backupUsed: true } : {}),
    };
  }
  await mkdir(dirname(o.destination), { recursive: true });
  await moveFile(finished, o.destination);
  const probe = await probeMedia(o.destination, o.signal ? { cancelSignal: o.signal } : {});
  o.note?.(`delivered ${o.destination}: ${probe.durationMs} ms, ${probe.size} bytes`);
  return {
    filename: o.filename,
    location: o.destination,
    size: probe.size,
    durationMs: probe.durationMs,
    startedAt: o.startedAt,
    endedAt: o.endedAt,
  };
}

/**
 * deliverCapture for a recording's end: when every storage refuses the file, it is reported where it stays (in
 * the scratch dir) together with the error, instead of being lost to the throw.
 */
export async function deliverOrKeep(o: DeliverOptions): Promise<{ file?: FileResult; undelivered?: DeliveryError }> {
  try {
    const file = await deliverCapture(o);
    return file ? { file } : {};
  } catch (err) {
    if (!(err instanceof DeliveryError)) throw err;
    const { size } = await stat(err.localPath);
    const file: FileResult = {
      filename: o.filename,
      location: err.localPath,
      size,
      durationMs: o.endedAt - o.startedAt,
      startedAt: o.startedAt,
      endedAt: o.endedAt,
    };
    return { file, undelivered: err };
  }
}
