import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { TS_PACKET, TsRelay, type RelaySink } from './ts-relay.js';

const run = promisify(execFile);
let dir: string;
let feed: Buffer;

/** Collects what the relay writes, like a sender's stdin that keeps up. */
class Collector implements RelaySink {
  chunks: Buffer[] = [];
  writableLength = 0;
  write(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Decode errors ffmpeg reports for a TS (none for a clean one). */
async function decodeErrors(ts: Buffer): Promise<string> {
  const file = path.join(dir, `probe-${Math.random()}.ts`);
  await writeFile(file, ts);
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr.trim();
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ts-relay-'));
  const file = path.join(dir, 'feed.ts');
  // 6 s of H.264 (a key frame every second) + AAC, muxed as the capture pipeline's stream feed is.
  await run('gst-launch-1.0', [
    '-q',
    'videotestsrc',
    'num-buffers=180',
    'pattern=ball',
    '!',
    'video/x-raw,width=320,height=240,framerate=30/1',
    '!',
    'x264enc',
    'key-int-max=30',
    'speed-preset=ultrafast',
    '!',
    'h264parse',
    'config-interval=-1',
    '!',
    'queue',
    '!',
    'mpegtsmux',
    'name=m',
    'alignment=7',
    '!',
    'filesink',
    `location=${file}`,
    'audiotestsrc',
    'num-buffers=280',
    '!',
    'audioconvert',
    '!',
    'avenc_aac',
    '!',
    'aacparse',
    '!',
    'queue',
    '!',
    'm.',
  ]);
  feed = await readFile(file);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Pushes the feed in odd-sized pieces, as a pipe delivers it. */
function pushAll(relay: TsRelay, bytes: Buffer, from = 0, to = bytes.length): void {
  for (let at = from; at < to; at += 1000) relay.push(bytes.subarray(at, Math.min(to, at + 1000)));
}

test('a sender joining mid-stream starts with PAT, PMT and a key frame, and decodes cleanly', async () => {
  const relay = new TsRelay(true);
  const early = new Collector();
  relay.subscribe(early);
  const half = Math.floor(feed.length / 2) + 77; // mid-packet, mid-GOP
  pushAll(relay, feed, 0, half);
  const late = new Collector();
  relay.subscribe(late);
  pushAll(relay, feed, half);
  assert.equal(early.bytes.length % TS_PACKET, 0);
  assert.ok(late.bytes.length > 0 && late.bytes.length < feed.length / 2 + TS_PACKET * 2);
  assert.equal(late.bytes[0], 0x47);
  assert.equal(((late.bytes[1]! & 0x1f) << 8) | late.bytes[2]!, 0, 'first packet is the PAT');
  assert.equal(await decodeErrors(late.bytes), '');
  // Without the relay's care a raw cut does not decode cleanly: the test can tell the difference.
  const raw = feed.subarray(half - (half % TS_PACKET) + TS_PACKET * 3);
  assert.notEqual(await decodeErrors(raw), '');
});

test('finish() ends a sender at a frame boundary; a sender that falls behind is resynchronised', async () => {
  const relay = new TsRelay(true);
  const sink = new Collector();
  const sub = relay.subscribe(sink);
  const third = Math.floor(feed.length / 3);
  pushAll(relay, feed, 0, third);
  const finished = sub.finish();
  pushAll(relay, feed, third);
  await finished;
  assert.ok(sink.bytes.length < feed.length * 0.4);
  assert.equal(await decodeErrors(sink.bytes), '', 'the last frame is whole');

  const slow = new Collector();
  const slowSub = relay.subscribe(slow);
  const relay2 = new TsRelay(true);
  relay2.subscribe(slow);
  pushAll(relay2, feed, 0, third);
  slow.writableLength = 9 * 1024 * 1024; // a stalled reader
  pushAll(relay2, feed, third, 2 * third);
  slow.writableLength = 0;
  pushAll(relay2, feed, 2 * third);
  slowSub.close();
  assert.equal(await decodeErrors(slow.bytes), '');
});
