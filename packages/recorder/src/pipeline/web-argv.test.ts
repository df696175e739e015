import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENCODING_720P30 } from '../testing/fixtures.js';
import { buildWebPipeline, type WebPipelineInput } from './web-argv.js';

const input = (over: Partial<WebPipelineInput> = {}): WebPipelineInput => ({
  source: { audioOnly: false, videoOnly: false },
  encoding: ENCODING_720P30,
  display: ':7',
  pulseMonitor: 'EG_a.monitor',
  outputPath: '/tmp/x/capture.mp4',
  ...over,
});

/** The pipeline as gst-launch reads it. */
const text = (argv: string[]): string => argv.join(' ');

describe('buildWebPipeline', () => {
  it('captures the display and the pulse monitor into one fragmented MP4', () => {
    const t = text(buildWebPipeline(input()));
    assert.match(t, /^mp4mux name=mux fragment-duration=1000 ! filesink location=\/tmp\/x\/capture\.mp4 async=false /);
    assert.match(
      t,
      /ximagesrc display-name=:7 use-damage=false show-pointer=false ! video\/x-raw,framerate=30\/1 ! queue ! videoconvert ! videorate ! video\/x-raw,format=I420,framerate=30\/1 ! x264enc /,
    );
    assert.match(
      t,
      /x264enc speed-preset=veryfast tune=zerolatency bitrate=3000 key-int-max=60 ! video\/x-h264,profile=high ! h264parse ! queue ! mux\./,
    );
    assert.match(
      t,
      /pulsesrc device=EG_a\.monitor provide-clock=false ! audio\/x-raw,rate=48000,channels=2 ! audiorate ! queue ! audioconvert ! audioresample ! audio\/x-raw,rate=48000,channels=2 ! avenc_aac bitrate=128000 ! aacparse ! queue ! mux\.$/,
    );
  });

  it('derives the key frame interval from seconds and frame rate', () => {
    const kf = (keyFrameInterval: number, framerate: number): string | undefined =>
      buildWebPipeline(input({ encoding: { ...ENCODING_720P30, keyFrameInterval, framerate } })).find((a) =>
        a.startsWith('key-int-max='),
      );
    assert.equal(kf(0, 30), 'key-int-max=60');
    assert.equal(kf(4, 25), 'key-int-max=100');
    assert.equal(kf(0.5, 30), 'key-int-max=15');
  });

  it('passes encoder settings through with the right units', () => {
    const argv = buildWebPipeline(
      input({
        encoding: {
          ...ENCODING_720P30,
          x264Preset: 'superfast',
          videoBitrate: 4500,
          videoProfile: 'main',
          audioBitrate: 96,
          audioFrequency: 44100,
          framerate: 60,
        },
      }),
    );
    for (const expected of [
      'speed-preset=superfast',
      'bitrate=4500',
      'video/x-h264,profile=main',
      'bitrate=96000',
      'audio/x-raw,rate=44100,channels=2',
      'video/x-raw,framerate=60/1',
    ]) {
      assert.ok(argv.includes(expected), `missing ${expected}`);
    }
  });

  it('leaves the video branch out for audio-only', () => {
    const t = text(buildWebPipeline(input({ source: { audioOnly: true, videoOnly: false } })));
    assert.doesNotMatch(t, /ximagesrc|x264enc/);
    assert.match(t, /pulsesrc .* avenc_aac .* mux\.$/);
  });

  it('leaves the audio branch out for video-only', () => {
    const t = text(buildWebPipeline(input({ source: { audioOnly: false, videoOnly: true } })));
    assert.doesNotMatch(t, /pulsesrc|avenc_aac/);
    assert.match(t, /ximagesrc .* x264enc .* mux\.$/);
  });

  it('writes audio only to Opus in OGG, or to CBR MP3 behind a Xing header', () => {
    const audioOnly = { audioOnly: true, videoOnly: false };
    const ogg = text(
      buildWebPipeline(
        input({
          source: audioOnly,
          fileType: 'ogg',
          outputPath: '/t/c.ogg',
          encoding: { ...ENCODING_720P30, audioCodec: 'opus' },
        }),
      ),
    );
    assert.match(ogg, /^oggmux name=mux ! filesink location=\/t\/c\.ogg async=false pulsesrc /);
    assert.match(ogg, / ! opusenc bitrate=128000 ! opusparse ! queue ! mux\.$/);
    const mp3 = text(
      buildWebPipeline(
        input({
          source: audioOnly,
          fileType: 'mp3',
          outputPath: '/t/c.mp3',
          encoding: { ...ENCODING_720P30, audioCodec: 'mp3' },
        }),
      ),
    );
    assert.match(mp3, /^xingmux name=mux ! filesink location=\/t\/c\.mp3 async=false pulsesrc /);
    assert.match(mp3, / ! lamemp3enc target=bitrate cbr=true bitrate=128 ! mpegaudioparse ! queue ! mux\.$/);
    assert.throws(() => buildWebPipeline(input({ fileType: 'ogg' })), /ogg holds audio only/);
  });

  it('rejects a source that is both audio-only and video-only', () => {
    assert.throws(
      () => buildWebPipeline(input({ source: { audioOnly: true, videoOnly: true } })),
      /both audio-only and video-only/,
    );
  });

  it('keeps a path with spaces in one argument (gst-launch escapes each argument)', () => {
    const argv = buildWebPipeline(input({ outputPath: '/tmp/a dir/capture.mp4' }));
    assert.ok(argv.includes('location=/tmp/a dir/capture.mp4'));
  });
});
