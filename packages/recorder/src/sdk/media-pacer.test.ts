import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MediaPacer } from './media-pacer.js';

/** A pacer on a hand-driven clock, recording what it writes. */
function pacer(lagMs = 100) {
  let now = 1_000_000;
  const frames: Buffer[] = [];
  const audio: Buffer[] = [];
  const black = Buffer.from('black');
  const p = new MediaPacer({
    fps: 10,
    black,
    lagMs,
    now: () => now,
    sinks: { video: (f) => frames.push(f), audio: (pcm) => audio.push(pcm) },
  });
  p.start({ timer: false });
  const at = (ms: number) => 1_000_000 + ms;
  let last = 0;
  // The timer ticks every 10 ms up to `ms`...
  const advance = (ms: number) => {
    for (let t = Math.min(last + 10, ms); ; t = Math.min(t + 10, ms)) {
      now = at(t);
      p.tick();
      if (t >= ms) break;
    }
    last = ms;
  };
  // ...unless this process stalls: the next tick comes late.
  const stallUntil = (ms: number) => {
    now = at(ms);
    p.tick();
    last = ms;
  };
  const samples = () => {
    const all = Buffer.concat(audio);
    return Array.from({ length: all.length / 2 }, (_, i) => all.readInt16LE(i * 2));
  };
  return { p, frames, black, at, advance, stallUntil, samples };
}

/** Ten ms of stereo samples of one value. */
const tenMs = (v: number) => new Int16Array(960).fill(v);

describe('MediaPacer', () => {
  it('writes exactly fps frames per second: black first, then each frame from its arrival, repeated', () => {
    const { p, frames, black, at, advance } = pacer();
    const a = Buffer.from('a');
    const b = Buffer.from('b');
    p.pushVideo(a, at(150));
    p.pushVideo(b, at(420));
    p.videoGone(at(630));
    advance(1100); // media up to 1000 ms: frames 0..10
    assert.equal(frames.length, 11);
    assert.deepEqual(
      frames.map((f) => (f === black ? '-' : f.toString())),
      ['-', '-', 'a', 'a', 'a', 'b', 'b', '-', '-', '-', '-'],
    );
    assert.equal(p.stats.framesShown, 2);
    assert.equal(p.stats.firstVideoMs, 150);
  });

  it('writes 48000 samples a second: sources laid end to end from their arrival and mixed, silence elsewhere', () => {
    const { p, at, advance, samples } = pacer();
    // Source x arrives at 20 ms and 30 ms (each frame ending at its arrival), y once at 30 ms.
    p.pushAudio('x', tenMs(100), at(20));
    p.pushAudio('x', tenMs(100), at(30));
    p.pushAudio('y', tenMs(1000), at(30));
    advance(150); // media up to 50 ms
    const s = samples();
    assert.equal(s.length, 50 * 48 * 2);
    const ms = (m: number) => s[m * 96]; // left sample at m ms
    assert.deepEqual([ms(5), ms(15), ms(25), ms(35), ms(45)], [0, 100, 1100, 0, 0]);
    assert.equal(p.stats.samplesWritten, 50 * 48);
    assert.equal(p.stats.firstAudioMs, 10); // the first frame's first sample
  });

  it('keeps a source contiguous through late frames, moves it back for early ones, restarts it after a pause', () => {
    const { p, at, advance, samples } = pacer();
    p.pushAudio('x', tenMs(1), at(40)); // anchored at 30 ms
    p.pushAudio('x', tenMs(2), at(45)); // would start at 35 ms: the anchor moves back 5 ms
    p.pushAudio('x', tenMs(4), at(120)); // 60 ms late: still right after the second frame
    // A stall: one frame 400 ms late, then the rest of the burst at once; all stay contiguous.
    p.pushAudio('x', tenMs(5), at(455));
    for (let i = 0; i < 38; i++) p.pushAudio('x', tenMs(6), at(456));
    advance(1500);
    // A pause: frames resume 1 s later and keep arriving in real time; after 100 ms of that they are placed there
    // (the first ones fall where the source left off, long written, and are lost).
    for (let i = 0; i < 12; i++) p.pushAudio('x', tenMs(8), at(1500 + 10 * i));
    advance(2000);
    const s = samples();
    const ms = (m: number) => s[m * 96];
    assert.deepEqual(
      [ms(25), ms(32), ms(37), ms(42), ms(47), ms(55), ms(65), ms(440), ms(450)],
      [0, 1, 3, 2, 4, 5, 6, 6, 0],
    );
    assert.deepEqual([ms(1585), ms(1595), ms(1605)], [0, 8, 8]);
    assert.equal(p.stats.audioResyncs, 1);
  });

  it('keeps the backlog this process hands over after its own stall contiguous, however slowly it comes', () => {
    const { p, at, advance, stallUntil, samples } = pacer(1000);
    p.pushAudio('x', tenMs(1), at(20)); // anchored at 10 ms
    advance(100);
    stallUntil(500); // nothing ran for 400 ms: the source's frames queued up meanwhile
    // The backlog comes one frame per tick, each ~400 ms late, for 400 ms: a pause would have been re-anchored.
    for (let i = 0; i < 40; i++) {
      p.pushAudio('x', tenMs(2), at(510 + 10 * i));
      advance(510 + 10 * i);
    }
    advance(2500);
    const ms = (m: number) => samples()[m * 96];
    assert.deepEqual([ms(15), ms(25), ms(415), ms(425)], [1, 2, 2, 0]);
    assert.deepEqual([p.stats.stalls, p.stats.audioResyncs], [1, 0]);
  });

  it('converts a frame only when it is shown, and places frames by their time, not their order', () => {
    const { p, frames, at, advance } = pacer();
    let made = 0;
    const lazy = (name: string) => () => {
      made++;
      return Buffer.from(name);
    };
    p.pushVideo(lazy('skipped'), at(10));
    p.pushVideo(lazy('shown'), at(50));
    p.pushVideo(lazy('early'), at(30)); // handed over last, captured before 'shown'
    advance(200); // media up to 100 ms: frames at 0 and 100 ms
    assert.deepEqual(
      frames.map((f) => f.toString()),
      ['black', 'shown'],
    );
    assert.equal(made, 1);
  });

  it('places a source on both channels, or mixed to mono ((L+R)/2) on the left or right only', () => {
    const { p, at, advance, samples } = pacer();
    /** Ten ms of stereo samples: `l` on the left, `r` on the right. */
    const stereo = (l: number, r: number) => new Int16Array(960).map((_, i) => (i % 2 === 0 ? l : r));
    p.pushAudio('both', stereo(1, 3), at(10));
    p.pushAudio('left', stereo(100, 300), at(10), 'left');
    p.pushAudio('right', stereo(1000, 3000), at(10), 'right');
    p.pushAudio('later', stereo(10000, 10000), at(20), 'right');
    advance(130); // media up to 30 ms
    const s = samples();
    const at5 = [s[5 * 96], s[5 * 96 + 1]];
    const at15 = [s[15 * 96], s[15 * 96 + 1]];
    assert.deepEqual(at5, [1 + 200, 3 + 2000], 'left and right each got one mono mix, both got its own channels');
    assert.deepEqual(at15, [0, 10000], 'nothing of a right-only source on the left');
  });

  it('clips the mix instead of wrapping', () => {
    const { p, at, advance, samples } = pacer();
    p.pushAudio('x', tenMs(30000), at(10));
    p.pushAudio('y', tenMs(30000), at(10));
    advance(200);
    assert.equal(samples()[5 * 96], 32767);
  });

  it('writes what is due up to the stop, without the lag', () => {
    const { p, frames, advance } = pacer(100);
    advance(500);
    assert.equal(frames.length, 5); // media up to 400 ms
    p.stop();
    assert.equal(frames.length, 6); // media up to 500 ms
  });
});
