import path from 'node:path';
import type { FileOutputPlan, UploadPlan } from '@egress/shared';

/**
 * Where part `n` of a restarted recording is delivered: part 1 keeps the requested name, so a recording
 * that never restarted looks exactly as asked; later parts get `-part<n>` before the extension.
 */
export function partDestination(destination: string, n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`part number must be an integer >= 1 (got ${n})`);
  if (n === 1) return destination;
  const ext = path.extname(destination);
  return `${destination.slice(0, destination.length - ext.length)}-part${n}${ext}`;
}

/**
 * Part `n` of a file output: its name, path and object key all numbered (an upload under the first part's key would
 * replace it), and so are a track egress's video variant's.
 */
export function partFile(file: FileOutputPlan, n: number): FileOutputPlan {
  const key = (u: UploadPlan | undefined) => (u ? { upload: { ...u, key: partDestination(u.key, n) } } : {});
  return {
    ...file,
    filename: partDestination(file.filename, n),
    destination: partDestination(file.destination, n),
    ...key(file.upload),
    ...(file.ifVideo
      ? {
          ifVideo: {
            ...file.ifVideo,
            filename: partDestination(file.ifVideo.filename, n),
            destination: partDestination(file.ifVideo.destination, n),
            ...key(file.ifVideo.upload),
          },
        }
      : {}),
  };
}
