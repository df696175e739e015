import path from 'node:path';

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
