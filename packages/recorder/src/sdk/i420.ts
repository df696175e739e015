/**
 * I420 frames at the recording's size: a track's frames (any size, changing with simulcast layers) are scaled
 * to fit and centred on black, nearest-neighbour; the pipeline's raw parser takes one fixed size.
 */
import { i420Size } from '../pipeline/sdk-argv.js';

/** A black I420 frame (limited range: Y 16, U and V 128). */
export function blackI420(width: number, height: number): Buffer {
  const frame = Buffer.alloc(i420Size(width, height), 128);
  frame.fill(16, 0, width * height);
  return frame;
}

interface Plane {
  data: Uint8Array;
  width: number;
  height: number;
}

function planesOf(data: Uint8Array, width: number, height: number): [Plane, Plane, Plane] {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const y = width * height;
  return [
    { data: data.subarray(0, y), width, height },
    { data: data.subarray(y, y + cw * ch), width: cw, height: ch },
    { data: data.subarray(y + cw * ch, y + 2 * cw * ch), width: cw, height: ch },
  ];
}

const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/** Scales I420 frames of any size into `width` x `height`, keeping their aspect ratio. */
export class I420Fitter {
  private readonly black: Buffer;
  private maps: { key: string; x: Int32Array[]; y: Int32Array[]; box: [number, number, number, number] } | undefined;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.black = blackI420(width, height);
  }

  /** A new frame holding `src` (packed I420 of `sw` x `sh`) fitted onto black. */
  fit(src: Uint8Array, sw: number, sh: number): Buffer {
    if (src.length < i420Size(sw, sh)) throw new Error(`I420 frame of ${sw}x${sh} is only ${src.length} bytes`);
    const out = Buffer.allocUnsafe(this.black.length);
    if (sw === this.width && sh === this.height) {
      out.set(src.subarray(0, out.length));
      return out;
    }
    this.black.copy(out);
    const m = this.mapsFor(sw, sh);
    const [bx, by, bw, bh] = m.box;
    const from = planesOf(src, sw, sh);
    const to = planesOf(out, this.width, this.height);
    for (let p = 0; p < 3; p++) {
      const s = from[p]!;
      const d = to[p]!;
      const xs = m.x[p === 0 ? 0 : 1]!;
      const ys = m.y[p === 0 ? 0 : 1]!;
      const ox = p === 0 ? bx : bx / 2;
      const oy = p === 0 ? by : by / 2;
      const h = p === 0 ? bh : bh / 2;
      const w = p === 0 ? bw : bw / 2;
      for (let row = 0; row < h; row++) {
        const sRow = ys[row]! * s.width;
        const dRow = (oy + row) * d.width + ox;
        for (let col = 0; col < w; col++) d.data[dRow + col] = s.data[sRow + xs[col]!]!;
      }
    }
    return out;
  }

  /** Source index maps for a source size, cached: sizes change rarely. */
  private mapsFor(sw: number, sh: number) {
    const key = `${sw}x${sh}`;
    if (this.maps?.key === key) return this.maps;
    const scale = Math.min(this.width / sw, this.height / sh);
    const bw = Math.min(this.width, even(sw * scale));
    const bh = Math.min(this.height, even(sh * scale));
    // Even offsets keep the chroma planes aligned with luma.
    const bx = Math.floor((this.width - bw) / 4) * 2;
    const by = Math.floor((this.height - bh) / 4) * 2;
    const map = (n: number, srcN: number) =>
      Int32Array.from({ length: n }, (_, i) => Math.min(srcN - 1, Math.floor((i * srcN) / n)));
    this.maps = {
      key,
      x: [map(bw, sw), map(bw / 2, Math.ceil(sw / 2))],
      y: [map(bh, sh), map(bh / 2, Math.ceil(sh / 2))],
      box: [bx, by, bw, bh] as [number, number, number, number],
    };
    return this.maps;
  }
}
