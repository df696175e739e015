import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENCODING_720P30 } from '../testing/fixtures.js';
import { buildWebPipeline, type WebPipelineInput } from './web-argv.js';

const input = (over: Partial<WebPipelineInput> = {}): WebPipelineInput => ({
  source: { audioOnly: false, videoOnly: false },
  encoding: ENCODING_720P30,
  display: ':7',
  pulseMonitor: 'EG_a.monitor',
  outputs: { file: { fileType: 'mp4', path: '/tmp/x/capture.mp4' } },
  ...over,
});

/** The pipeline as gst-launch reads it. */
const text = (argv: string[]): string => argv.join(' ');

describe('buildWebPipeline', () => {
  it('captures the display and the pulse monitor into one fragmented MP4', () => {
    const t = text(buildWebPipeline(input()));
    assert.match(
      t,
      /tee name=a_aac mp4mux name=mux fragment-duration=500 ! filesink location=\/tmp\/x\/capture\.mp4 async=false buffer-mode=unbuffered venc\. ! queue ! h264parse ! mux\. a_aac\. ! queue ! mux\.$/,
    );
    assert.match(
      t,
      /ximagesrc display-name=:7 use-damage=false show-pointer=false ! video\/x-raw,framerate=30\/1 ! queue ! videoconvert ! videorate ! video\/x-raw,format=I420,framerate=30\/1 ! tee name=vraw /,
    );
    assert.match(
      t,
      /vraw\. ! queue ! x264enc speed-preset=veryfast tune=zerolatency bitrate=3000 key-int-max=60 ! video\/x-h264,profile=high ! h264parse ! tee name=venc /,
    );
    assert.match(
      t,
      /pulsesrc device=EG_a\.monitor provide-clock=false ! audio\/x-raw,rate=48000,channels=2 ! audiorate ! queue ! audioconvert ! tee name=araw araw\. ! queue ! audioresample ! audio\/x-raw,rate=48000,channels=2 ! avenc_aac bitrate=128000 ! aacparse ! tee name=a_aac /,
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
    assert.doesNotMatch(t, /ximagesrc|x264enc|venc\./);
    assert.match(t, /^pulsesrc .* avenc_aac .* tee name=a_aac mp4mux /);
  });

  it('leaves the audio branch out for video-only', () => {
    const t = text(buildWebPipeline(input({ source: { audioOnly: false, videoOnly: true } })));
    assert.doesNotMatch(t, /pulsesrc|avenc_aac|a_aac/);
    assert.match(t, /^ximagesrc .* x264enc .* tee name=venc mp4mux /);
  });

  it('writes audio only to Opus in OGG, or to CBR MP3 behind a Xing header', () => {
    const audioOnly = { audioOnly: true, videoOnly: false };
    const ogg = text(
      buildWebPipeline(input({ source: audioOnly, outputs: { file: { fileType: 'ogg', path: '/t/c.ogg' } } })),
    );
    assert.match(
      ogg,
      / oggmux name=mux ! filesink location=\/t\/c\.ogg async=false buffer-mode=unbuffered a_opus\. ! queue ! mux\.audio_%u$/,
    );
    assert.match(
      ogg,
      /audio\/x-raw,rate=48000,channels=2 ! opusenc bitrate=128000 ! opusparse ! tee name=a_opus oggmux/,
    );
    const mp3 = text(
      buildWebPipeline(input({ source: audioOnly, outputs: { file: { fileType: 'mp3', path: '/t/c.mp3' } } })),
    );
    assert.match(
      mp3,
      / xingmux name=mux ! filesink location=\/t\/c\.mp3 async=false buffer-mode=unbuffered a_mp3\. ! queue ! mux\.$/,
    );
    assert.match(mp3, / ! lamemp3enc target=bitrate cbr=true bitrate=128 ! mpegaudioparse ! tee name=a_mp3 xingmux/);
    assert.throws(
      () => buildWebPipeline(input({ outputs: { file: { fileType: 'ogg', path: '/t/c.ogg' } } })),
      /ogg holds audio only/,
    );
  });

  it('shares one H.264 and one AAC encode between file, segments and the stream feed', () => {
    const argv = buildWebPipeline(
      input({
        outputs: {
          file: { fileType: 'mp4', path: '/t/c.mp4' },
          segments: { pattern: '/t/seg_%05d.ts', durationSec: 6 },
          streamFeedFd: 3,
        },
      }),
    );
    const t = text(argv);
    assert.equal(argv.filter((a) => a === 'x264enc').length, 1);
    assert.equal(argv.filter((a) => a === 'avenc_aac').length, 1);
    assert.match(
      t,
      /splitmuxsink name=seg muxer-factory=mpegtsmux async-finalize=false max-size-time=6000000000 send-keyframe-requests=true location=\/t\/seg_%05d\.ts venc\. ! queue ! h264parse ! seg\.video a_aac\. ! queue ! seg\.audio_0/,
    );
    assert.match(
      t,
      /mpegtsmux name=tsfeed alignment=7 ! queue leaky=downstream .* ! fdsink fd=3 sync=false async=false venc\. ! queue ! h264parse config-interval=-1 ! tsfeed\. a_aac\. ! queue ! tsfeed\./,
    );
  });

  it('gives an OGG file its Opus encode and the stream feed its AAC encode', () => {
    const argv = buildWebPipeline(
      input({
        source: { audioOnly: true, videoOnly: false },
        outputs: { file: { fileType: 'ogg', path: '/t/c.ogg' }, streamFeedFd: 3 },
      }),
    );
    assert.ok(argv.includes('opusenc') && argv.includes('avenc_aac'));
    assert.ok(!argv.includes('x264enc'));
  });

  it('takes JPEG snapshots from the raw frames, without an H.264 encode when nothing needs one', () => {
    const t = text(
      buildWebPipeline(
        input({
          source: { audioOnly: false, videoOnly: true },
          outputs: { images: [{ pattern: '/t/img_%05d.jpeg', intervalSec: 5, width: 320, height: 180 }] },
        }),
      ),
    );
    assert.doesNotMatch(t, /x264enc/);
    assert.match(
      t,
      /vraw\. ! queue leaky=downstream max-size-buffers=2 ! videorate ! video\/x-raw,framerate=1\/5 ! videoscale ! videoconvert ! video\/x-raw,width=320,height=180,pixel-aspect-ratio=1\/1 ! jpegenc ! multifilesink name=img0 location=\/t\/img_%05d\.jpeg post-messages=true async=false/,
    );
    assert.throws(
      () =>
        buildWebPipeline(
          input({
            source: { audioOnly: true, videoOnly: false },
            outputs: { images: [{ pattern: 'x', intervalSec: 1, width: 16, height: 16 }] },
          }),
        ),
      /images need video/,
    );
  });

  it('rejects a source that is both audio-only and video-only, and a pipeline with no outputs', () => {
    assert.throws(
      () => buildWebPipeline(input({ source: { audioOnly: true, videoOnly: true } })),
      /both audio-only and video-only/,
    );
    assert.throws(() => buildWebPipeline(input({ outputs: {} })), /no outputs/);
  });

  it('keeps a path with spaces in one argument (gst-launch escapes each argument)', () => {
    const argv = buildWebPipeline(input({ outputs: { file: { fileType: 'mp4', path: '/tmp/a dir/capture.mp4' } } }));
    assert.ok(argv.includes('location=/tmp/a dir/capture.mp4'));
  });
});
