import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AudioCodec,
  EncodedFileOutput,
  EncodedFileType,
  EncodingOptions,
  EncodingOptionsPreset,
  Output,
  FileOutput,
  ImageOutput,
  S3Upload,
  SegmentedFileOutput,
  SegmentedFileSuffix,
  StreamProtocol,
  StartEgressRequest,
  StreamOutput,
  VideoCodec,
  WebEgressRequest,
  WebSource,
} from '@livekit/protocol';
import { EgressError } from '../errors.js';
import { assertDestinationWritable, planFromRequest, type StartRequestLike } from './request-plan.js';

const ctx = {
  tmpRoot: '/tmp/egress-test',
  localOutputDir: '/srv/out',
  chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
  now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
};

const web = (w: Partial<WebEgressRequest>): StartRequestLike => ({
  egressId: 'EG_test1',
  roomId: '',
  roomName: '',
  request: { case: 'web', value: new WebEgressRequest({ url: 'http://127.0.0.1:8000/', ...w }) },
});

async function rejects(fn: () => Promise<unknown>, code: string, fieldText: string) {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof EgressError);
    assert.equal(err.code, code);
    assert.match(err.message, new RegExp(fieldText.replace(/[.[\]]/g, '\\$&')));
    return true;
  });
}

test('a web request with one MP4 file becomes a plan with defaults', async () => {
  const plan = await planFromRequest(
    web({ fileOutputs: [new EncodedFileOutput({ filepath: 'rec/{time}.mp4' })], awaitStartSignal: true }),
    ctx,
  );
  assert.deepEqual(plan.source, {
    kind: 'web',
    url: 'http://127.0.0.1:8000/',
    audioOnly: false,
    videoOnly: false,
    awaitStartSignal: true,
  });
  assert.equal(plan.outputs.file?.destination, '/srv/out/rec/2026-01-02T030405.mp4');
  assert.equal(plan.tmpDir, '/tmp/egress-test/EG_test1');
  assert.deepEqual(
    [plan.encoding.width, plan.encoding.height, plan.encoding.framerate, plan.encoding.x264Preset],
    [1280, 720, 30, 'veryfast'],
  );
});

test('the deprecated single output and presets are honoured', async () => {
  const plan = await planFromRequest(
    web({
      output: { case: 'file', value: new EncodedFileOutput({ filepath: '/abs/x.mp4' }) },
      options: { case: 'preset', value: EncodingOptionsPreset.H264_1080P_30 },
    }),
    ctx,
  );
  // An absolute path outside local_output_dir is taken relative to it, as upstream joins paths under its directory.
  assert.equal(plan.outputs.file?.destination, '/srv/out/abs/x.mp4');
  assert.deepEqual([plan.encoding.width, plan.encoding.x264Preset], [1920, 'superfast']);
});

test('the unified request with a WebSource maps to the same plan', async () => {
  const plan = await planFromRequest(
    {
      egressId: 'EG_u',
      roomId: '',
      roomName: '',
      request: {
        case: 'egress',
        value: new StartEgressRequest({
          source: { case: 'web', value: new WebSource({ url: 'https://example.test/' }) },
          outputs: [new Output({ config: { case: 'file', value: new FileOutput({ filepath: 'u.mp4' }) } })],
        }),
      },
    },
    ctx,
  );
  assert.equal(plan.outputs.file?.destination, '/srv/out/u.mp4');
});

test('the output lists win over the deprecated single output, as SDKs set both', async () => {
  const same = new EncodedFileOutput({ filepath: 'both.mp4' });
  const plan = await planFromRequest(web({ output: { case: 'file', value: same }, fileOutputs: [same] }), ctx);
  assert.equal(plan.outputs.file?.destination, '/srv/out/both.mp4');
});

test('bad requests are invalid_argument naming the field', async () => {
  await rejects(() => planFromRequest(web({}), ctx), 'invalid_argument', 'web.outputs');
  await rejects(
    () => planFromRequest(web({ url: 'file:///etc/passwd', fileOutputs: [new EncodedFileOutput()] }), ctx),
    'invalid_argument',
    'web.url',
  );
  await rejects(
    () => planFromRequest(web({ url: 'not a url', fileOutputs: [new EncodedFileOutput()] }), ctx),
    'invalid_argument',
    'web.url',
  );
  await rejects(
    () =>
      planFromRequest(
        web({
          fileOutputs: [new EncodedFileOutput()],
          options: { case: 'preset', value: 99 as EncodingOptionsPreset },
        }),
        ctx,
      ),
    'invalid_argument',
    'web.preset',
  );
  await rejects(
    () =>
      planFromRequest(
        web({
          fileOutputs: [new EncodedFileOutput()],
          options: { case: 'advanced', value: new EncodingOptions({ width: 1281 }) },
        }),
        ctx,
      ),
    'invalid_argument',
    'web.advanced.width',
  );
  await rejects(
    () =>
      planFromRequest(
        web({
          fileOutputs: [new EncodedFileOutput()],
          options: { case: 'advanced', value: new EncodingOptions({ videoCodec: VideoCodec.VP8 }) },
        }),
        ctx,
      ),
    'invalid_argument',
    'web.advanced.video_codec',
  );
  await rejects(
    () => planFromRequest({ ...web({ fileOutputs: [new EncodedFileOutput()] }), egressId: 'EG bad/../' }, ctx),
    'invalid_argument',
    'egress_id',
  );
});

test('only ids the sink and scratch dir names can carry (and the reaper recognises) are accepted', async () => {
  const file = { fileOutputs: [new EncodedFileOutput({ filepath: 'x.mp4' })] };
  for (const egressId of ['abc123', 'not-an-egress', 'EG_', `EG_${'x'.repeat(62)}`]) {
    await rejects(() => planFromRequest({ ...web(file), egressId }, ctx), 'invalid_argument', 'egress_id');
  }
  const longest = `EG_${'x'.repeat(61)}`;
  const plan = await planFromRequest({ ...web(file), egressId: longest }, ctx);
  assert.equal(plan.tmpDir, path.join(ctx.tmpRoot, longest));
});

test('what is not built yet is unimplemented, not silently dropped', async () => {
  await rejects(
    () => planFromRequest({ egressId: 'EG_x', roomId: '', roomName: '', request: { case: 'replay', value: {} } }, ctx),
    'unimplemented',
    'replay',
  );
});

test("uploads: the output's own, else the request's, else the config's storage; local disk needs none", async () => {
  const s3 = (bucket: string) => new S3Upload({ bucket, accessKey: 'k', secret: 's', region: 'r' });
  const segPlan = await planFromRequest(
    web({
      segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'hls/a', output: { case: 's3', value: s3('own') } })],
    }),
    ctx,
  );
  assert.equal(segPlan.outputs.segments?.upload?.storage.s3?.bucket, 'own');
  assert.equal(segPlan.outputs.segments?.upload?.key, 'hls');
  const v2 = await planFromRequest(
    {
      egressId: 'EG_v2',
      roomId: '',
      roomName: '',
      request: {
        case: 'egress',
        value: new StartEgressRequest({
          source: { case: 'web', value: new WebSource({ url: 'http://127.0.0.1:8000/' }) },
          storage: { provider: { case: 's3', value: s3('request') } },
          outputs: [
            new Output({ config: { case: 'file', value: new FileOutput({ filepath: 'a/b.mp4' }) } }),
            new Output({
              config: { case: 'images', value: new ImageOutput({ filenamePrefix: 'img/x' }) },
              storage: { provider: { case: 's3', value: s3('per-output') } },
            }),
          ],
        }),
      },
    },
    { ...ctx, backup: { prefix: '', generate_presigned_url: false } },
  );
  assert.deepEqual([v2.outputs.file?.upload?.storage.s3?.bucket, v2.outputs.file?.upload?.key], ['request', 'a/b.mp4']);
  assert.equal(v2.outputs.images?.[0]?.upload?.storage.s3?.bucket, 'per-output');
  assert.ok(v2.backup, 'the config backup goes with a plan that uploads');
  const local = await planFromRequest(web({ fileOutputs: [new EncodedFileOutput({ filepath: 'x.mp4' })] }), ctx);
  assert.equal(local.outputs.file?.upload, undefined);
  assert.equal(local.backup, undefined);
  await rejects(
    () =>
      planFromRequest(web({ fileOutputs: [new EncodedFileOutput({ filepath: 'x.mp4' })] }), {
        ...ctx,
        storage: { disallow_local_storage: true },
      }),
    'invalid_argument',
    'web.file_outputs[0]',
  );
});

test('stream, segment and image outputs become one plan sharing the encode', async () => {
  const plan = await planFromRequest(
    {
      ...web({
        fileOutputs: [new EncodedFileOutput({ filepath: 'rec/{room_name}.mp4' })],
        streamOutputs: [
          new StreamOutput({
            protocol: StreamProtocol.RTMP,
            urls: ['rtmp://127.0.0.1:1935/live/key1', 'mux://muxkey'],
          }),
        ],
        segmentOutputs: [
          new SegmentedFileOutput({
            filenamePrefix: 'hls/{room_name}',
            livePlaylistName: 'hls/live.m3u8',
            segmentDuration: 6,
            filenameSuffix: SegmentedFileSuffix.TIMESTAMP,
          }),
        ],
        imageOutputs: [new ImageOutput({ captureInterval: 5, filenamePrefix: 'img/snap', width: 320, height: 180 })],
      }),
      roomName: 'room1',
    },
    { ...ctx, limits: { streamMaxDurationMs: 5000, fileMaxBytes: 0 } },
  );
  assert.deepEqual(plan.outputs.stream, {
    protocol: 'rtmp',
    urls: ['rtmp://127.0.0.1:1935/live/key1', 'rtmps://global-live.mux.com:443/app/muxkey'],
  });
  assert.deepEqual(plan.outputs.segments, {
    dir: path.join(ctx.localOutputDir, 'hls'),
    storageDir: 'hls',
    filenamePrefix: 'room1',
    playlistName: 'room1.m3u8',
    livePlaylistName: 'live.m3u8',
    segmentDurationSec: 6,
    suffix: 'timestamp',
    manifest: true,
  });
  assert.deepEqual(plan.outputs.images, [
    {
      dir: path.join(ctx.localOutputDir, 'img'),
      storageDir: 'img',
      filenamePrefix: 'snap',
      captureIntervalSec: 5,
      width: 320,
      height: 180,
      suffix: 'index',
      manifest: true,
    },
  ]);
  assert.deepEqual(plan.limits, { streamMaxDurationMs: 5000 });
  // Defaults: 4 s segments, images every 10 s at the capture size.
  const defaults = await planFromRequest(
    web({ segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'a' })], imageOutputs: [new ImageOutput()] }),
    ctx,
  );
  assert.equal(defaults.outputs.segments?.segmentDurationSec, 4);
  assert.equal(defaults.outputs.images?.[0]?.captureIntervalSec, 10);
  assert.equal(defaults.outputs.images?.[0]?.width, defaults.encoding.width);
});

test('bad stream, segment and image outputs are invalid_argument naming the field, keys redacted', async () => {
  const streams = (urls: string[], protocol = StreamProtocol.DEFAULT_PROTOCOL) =>
    planFromRequest(web({ streamOutputs: [new StreamOutput({ protocol, urls })] }), ctx);
  await rejects(() => streams([]), 'invalid_argument', 'web.stream_outputs[0].urls');
  await rejects(() => streams(['http://x/a/b']), 'invalid_argument', 'web.stream_outputs[0].urls[0]');
  await rejects(() => streams(['rtmp://h/a/k', 'srt://h:1']), 'invalid_argument', 'web.stream_outputs[0].urls[1]');
  await rejects(() => streams(['rtmp://h/a/k', 'rtmp://h/a/k']), 'invalid_argument', 'listed twice');
  await rejects(
    () => streams(['ws://h/x'], StreamProtocol.WEBSOCKET),
    'invalid_argument',
    'web.stream_outputs[0].protocol',
  );
  await assert.rejects(
    () => streams(['rtmp://h/onlyonesecretsegment']),
    (e: unknown) => e instanceof Error && !e.message.includes('onlyonesecretsegment'),
  );
  await rejects(
    () =>
      planFromRequest(
        web({
          streamOutputs: [new StreamOutput({ urls: ['rtmp://h/a/k'] }), new StreamOutput({ urls: ['rtmp://h/a/j'] })],
        }),
        ctx,
      ),
    'invalid_argument',
    'web.stream_outputs[1]',
  );
  await rejects(
    () => planFromRequest(web({ segmentOutputs: [new SegmentedFileOutput({ segmentDuration: -1 })] }), ctx),
    'invalid_argument',
    'web.segment_outputs[0].segment_duration',
  );
  await rejects(
    () =>
      planFromRequest(
        web({ segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'a/x', livePlaylistName: 'b/live.m3u8' })] }),
        ctx,
      ),
    'invalid_argument',
    'web.segment_outputs[0].live_playlist_name',
  );
  await rejects(
    () => planFromRequest(web({ imageOutputs: [new ImageOutput({ width: 15 })] }), ctx),
    'invalid_argument',
    'web.image_outputs[0].width',
  );
  await rejects(
    () => planFromRequest(web({ audioOnly: true, imageOutputs: [new ImageOutput()] }), ctx),
    'invalid_argument',
    'image outputs need video',
  );
});

test('destination checks find unwritable places before anything starts', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dest-'));
  try {
    await assertDestinationWritable(path.join(dir, 'new/sub/x.mp4'), 'f');
    const file = path.join(dir, 'plain');
    await writeFile(file, '');
    await assert.rejects(
      assertDestinationWritable(path.join(file, 'x.mp4'), 'web.file_outputs[0].filepath'),
      /not a directory/,
    );
    await assert.rejects(assertDestinationWritable('/proc/1/x.mp4', 'f'), /not writable/);
    await assert.rejects(assertDestinationWritable(dir, 'f'), /is a directory/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('file types: audio only defaults to OGG/Opus at 48 kHz, MP3 on request, MP4 with video', async () => {
  const audio = await planFromRequest(
    web({ audioOnly: true, fileOutputs: [new EncodedFileOutput({ filepath: 'a.mp4' })] }),
    ctx,
  );
  assert.deepEqual(audio.outputs.file, {
    fileType: 'ogg',
    filename: 'a.ogg',
    destination: '/srv/out/a.ogg',
    manifest: true,
  });
  assert.deepEqual([audio.encoding.audioCodec, audio.encoding.audioFrequency], ['opus', 48000]);
  const mp3 = await planFromRequest(
    web({
      audioOnly: true,
      fileOutputs: [new EncodedFileOutput({ fileType: EncodedFileType.MP3, filepath: 'b', disableManifest: true })],
    }),
    ctx,
  );
  assert.deepEqual(mp3.outputs.file, {
    fileType: 'mp3',
    filename: 'b.mp3',
    destination: '/srv/out/b.mp3',
    manifest: false,
  });
  assert.deepEqual([mp3.encoding.audioCodec, mp3.encoding.audioFrequency], ['mp3', 44100]);
  const av = await planFromRequest(web({ fileOutputs: [new EncodedFileOutput({ filepath: 'c.ogg' })] }), ctx);
  assert.deepEqual(av.outputs.file, {
    fileType: 'mp4',
    filename: 'c.mp4',
    destination: '/srv/out/c.mp4',
    manifest: true,
  });
  assert.equal(av.encoding.audioCodec, 'aac');
  const audioMp4 = await planFromRequest(
    web({ audioOnly: true, fileOutputs: [new EncodedFileOutput({ fileType: EncodedFileType.MP4 })] }),
    ctx,
  );
  assert.equal(audioMp4.encoding.audioCodec, 'aac');
});

test('file types that cannot hold the request are invalid_argument naming the field', async () => {
  await rejects(
    () => planFromRequest(web({ fileOutputs: [new EncodedFileOutput({ fileType: EncodedFileType.OGG })] }), ctx),
    'invalid_argument',
    'web.file_outputs[0].file_type',
  );
  await rejects(
    () =>
      planFromRequest(
        web({
          audioOnly: true,
          fileOutputs: [new EncodedFileOutput({ fileType: EncodedFileType.OGG })],
          options: { case: 'advanced', value: new EncodingOptions({ audioCodec: AudioCodec.AAC }) },
        }),
        ctx,
      ),
    'invalid_argument',
    'web.advanced.audio_codec',
  );
  await rejects(
    () => planFromRequest(web({ fileOutputs: [new EncodedFileOutput({ fileType: 7 as EncodedFileType })] }), ctx),
    'invalid_argument',
    'web.file_outputs[0].file_type',
  );
});
