import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GstLaunch } from '../gst/launch.js';
import { probeMedia } from '../media/probe.js';
import { ENCODING_720P30 } from '../testing/fixtures.js';
import { buildSdkPipeline, i420Size } from './sdk-argv.js';

const encoding = { ...ENCODING_720P30, width: 320, height: 180 };

/** Runs the pipeline fed `seconds` of raw media as fast as it takes it, and probes the file. */
async function record(fileType: 'mp4' | 'ogg' | 'webm', video: boolean, audio: boolean, seconds: number, dir: string) {
  const path = join(dir, `capture.${fileType}`);
  const argv = buildSdkPipeline({
    encoding: { ...encoding, audioCodec: fileType === 'mp4' ? 'aac' : 'opus' },
    video,
    audio,
    outputs: { file: { fileType, path } },
  });
  const gst = new GstLaunch(argv, { stdin: video, extraInputs: audio ? 1 : 0 });
  const frame = Buffer.alloc(i420Size(encoding.width, encoding.height), 90);
  for (let i = 0; i < seconds * encoding.framerate && video; i++) gst.input!.write(frame);
  if (audio) gst.inputs[0]!.write(Buffer.alloc(48_000 * 4 * seconds));
  gst.input?.end();
  for (const input of gst.inputs) input.end();
  const exit = await gst.exited;
  assert.ok(exit.eos, `EOS reached (${exit.error?.message ?? exit.code})`);
  return probeMedia(path);
}

describe('buildSdkPipeline', () => {
  let dir: string;
  after(() => rm(dir, { recursive: true, force: true }));

  it('turns raw I420 on stdin and S16LE on fd 4 into H.264/AAC, timed by the bytes written', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdk-argv-'));
    const p = await record('mp4', true, true, 2, dir);
    const v = p.streams.find((s) => s.codecType === 'video');
    const a = p.streams.find((s) => s.codecType === 'audio');
    assert.deepEqual([v?.codecName, v?.width, v?.height, a?.codecName], ['h264', 320, 180, 'aac']);
    assert.ok(Math.abs(p.durationMs - 2000) < 100, `${p.durationMs} ms for 2 s written`);
  });

  it('writes audio alone to OGG/Opus and video alone to MP4', async () => {
    const ogg = await record('ogg', false, true, 2, dir);
    assert.deepEqual(
      ogg.streams.map((s) => s.codecName),
      ['opus'],
    );
    assert.ok(Math.abs(ogg.durationMs - 2000) < 100, `${ogg.durationMs} ms`);
    const mp4 = await record('mp4', true, false, 2, dir);
    assert.deepEqual(
      mp4.streams.map((s) => s.codecName),
      ['h264'],
    );
  });

  it('writes VP8/Opus to WebM when the file asks for it, without an H.264 encode', async () => {
    const argv = buildSdkPipeline({
      encoding,
      video: true,
      audio: true,
      outputs: { file: { fileType: 'webm', path: 'x' } },
    });
    assert.ok(argv.includes('vp8enc') && !argv.includes('x264enc'));
    const webm = await record('webm', true, true, 2, dir);
    const v = webm.streams.find((s) => s.codecType === 'video');
    assert.deepEqual([v?.codecName, v?.width, v?.height], ['vp8', 320, 180]);
    assert.deepEqual(
      webm.streams.filter((s) => s.codecType === 'audio').map((s) => s.codecName),
      ['opus'],
    );
    assert.ok(Math.abs(webm.durationMs - 2000) < 150, `${webm.durationMs} ms`);
  });

  it('refuses a pipeline with neither audio nor video', () => {
    assert.throws(
      () =>
        buildSdkPipeline({ encoding, video: false, audio: false, outputs: { file: { fileType: 'mp4', path: '/x' } } }),
      /needs audio, video or both/,
    );
  });
});
