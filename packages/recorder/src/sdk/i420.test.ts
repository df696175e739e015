import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { i420Size } from '../pipeline/sdk-argv.js';
import { blackI420, I420Fitter } from './i420.js';

/** A packed I420 frame with every luma sample `y` and chroma `u`, `v`. */
function solid(w: number, h: number, y: number, u: number, v: number): Uint8Array {
  const f = new Uint8Array(i420Size(w, h));
  const c = Math.ceil(w / 2) * Math.ceil(h / 2);
  f.fill(y, 0, w * h);
  f.fill(u, w * h, w * h + c);
  f.fill(v, w * h + c);
  return f;
}

describe('I420Fitter', () => {
  it('passes a frame of the output size through', () => {
    const src = solid(8, 4, 200, 10, 20);
    assert.deepEqual(new I420Fitter(8, 4).fit(src, 8, 4), Buffer.from(src));
  });

  it('scales a smaller frame of another shape into the middle, on black', () => {
    const out = new I420Fitter(16, 8).fit(solid(4, 4, 200, 10, 20), 4, 4);
    assert.equal(out.length, i420Size(16, 8));
    const y = (x: number, row: number) => out[row * 16 + x];
    // 4x4 fits 16x8 as 8x8, centred: columns 4..11 are the picture, the rest is black.
    assert.deepEqual([y(0, 0), y(3, 7), y(4, 0), y(11, 7), y(12, 3)], [16, 16, 200, 200, 16]);
    const u = (x: number, row: number) => out[16 * 8 + row * 8 + x];
    assert.deepEqual([u(0, 0), u(2, 1), u(5, 3), u(6, 0)], [128, 10, 10, 128]);
  });

  it('refuses a buffer too short for its size, and black is limited-range black', () => {
    assert.throws(() => new I420Fitter(8, 4).fit(new Uint8Array(10), 8, 4), /8x4 is only 10 bytes/);
    const b = blackI420(4, 2);
    assert.deepEqual([...b], [16, 16, 16, 16, 16, 16, 16, 16, 128, 128, 128, 128]);
  });
});
