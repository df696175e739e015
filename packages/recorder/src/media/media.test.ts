import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GstLaunch } from '../gst/launch.js';
import { delay } from '@egress/shared/host/terminate';
import { probeMedia } from './probe.js';
import { remuxToMp4 } from './remux.js';

const run = promisify(execFile);

/** A fragmented MP4 like the capture pipeline writes: 2 s of 320x240@25 H.264 + 44.1 kHz AAC. */
const FRAGMENTED = (out: string): string[] =>
  [
    'mp4mux name=mux fragment-duration=1000 ! filesink',
    `location=${out}`,
    'videotestsrc num-buffers=50 ! video/x-raw,width=320,height=240,framerate=25/1 ! x264enc ! h264parse ! queue ! mux.',
    'audiotestsrc num-buffers=86 ! audio/x-raw,rate=44100,channels=2 ! avenc_aac ! aacparse ! queue ! mux.',
  ].flatMap((part) => (part.startsWith('location=') ? [part] : part.split(' ')));

describe('probeMedia and remuxToMp4', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'media-test-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('probes streams and remuxes a fragmented MP4 into an ordinary one', async () => {
    const frag = join(dir, 'frag.mp4');
    const exit = await new GstLaunch(FRAGMENTED(frag)).exited;
    assert.equal(exit.eos, true);
    const out = join(dir, 'out.mp4');
    await remuxToMp4(frag, out);
    const probe = await probeMedia(out);
    assert.ok(Math.abs(probe.durationMs - 2000) < 100, `duration ${probe.durationMs}`);
    assert.ok(probe.size > 0);
    const [video, audio] = probe.streams;
    assert.deepEqual(
      {
        type: video?.codecType,
        codec: video?.codecName,
        w: video?.width,
        h: video?.height,
        fps: video?.avgFrameRate,
        frames: video?.frames,
      },
      { type: 'video', codec: 'h264', w: 320, h: 240, fps: 25, frames: 50 },
    );
    assert.deepEqual(
      { type: audio?.codecType, codec: audio?.codecName, rate: audio?.sampleRate, ch: audio?.channels },
      { type: 'audio', codec: 'aac', rate: 44100, ch: 2 },
    );
    // An ordinary MP4: one moov before the media, no fragments.
    const { stderr } = await run('ffprobe', ['-v', 'trace', out], { maxBuffer: 64 << 20 });
    const boxes = [...stderr.matchAll(/type:'(moov|moof|mdat)' parent:'root'/g)].map((m) => m[1]);
    assert.deepEqual(boxes, ['moov', 'mdat']);
  });

  it('recovers a fragmented capture that was SIGKILLed', async () => {
    const frag = join(dir, 'killed.mp4');
    const gst = new GstLaunch([
      'mp4mux',
      'name=mux',
      'fragment-duration=500',
      '!',
      'filesink',
      `location=${frag}`,
      'videotestsrc',
      'is-live=true',
      '!',
      'video/x-raw,width=320,height=240,framerate=25/1',
      '!',
      'x264enc',
      'tune=zerolatency',
      '!',
      'h264parse',
      '!',
      'mux.',
    ]);
    await new Promise<void>((resolve) => gst.once('playing', resolve));
    await delay(2500);
    await gst.kill();
    const out = join(dir, 'recovered.mp4');
    await remuxToMp4(frag, out);
    const probe = await probeMedia(out);
    assert.ok(probe.durationMs >= 1000, `recovered ${probe.durationMs} ms`);
  });

  it("rejects unreadable input with the tool's own words", async () => {
    const junk = join(dir, 'junk.mp4');
    await writeFile(junk, 'not a movie');
    await assert.rejects(probeMedia(junk), /ffprobe .*junk\.mp4: .*(Invalid data|moov atom not found)/);
    await assert.rejects(
      remuxToMp4(junk, join(dir, 'x.mp4')),
      /ffmpeg remux of .*junk\.mp4: .*(Invalid data|moov atom not found)/,
    );
  });
});
