import type { RecordingPlan, WebSourcePlan } from './plan.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AudioMixing,
  EncodedFileOutput,
  EncodingOptionsPreset,
  FileOutput,
  ImageOutput,
  Output,
  RoomCompositeEgressRequest,
  SegmentedFileOutput,
  StartEgressRequest,
  TemplateSource,
} from '@livekit/protocol';
import { TokenVerifier } from 'livekit-server-sdk';
import { EgressError } from '../errors.js';
import { planFromRequest, roomNameOf, type PlanContext, type StartRequestLike } from './request-plan.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const ctx: PlanContext = {
  tmpRoot: '/tmp/egress-test',
  localOutputDir: '/srv/out',
  chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
  now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
  room: { apiKey: 'devkey', apiSecret: SECRET, wsUrl: 'ws://127.0.0.1:7880', templateBase: 'http://127.0.0.1:7980/' },
};

const composite = (rc: Partial<RoomCompositeEgressRequest>, rpc: Partial<StartRequestLike> = {}): StartRequestLike => ({
  egressId: 'EG_room1',
  roomId: 'RM_1',
  roomName: '',
  ...rpc,
  request: {
    case: 'roomComposite',
    value: new RoomCompositeEgressRequest({
      roomName: 'my-room',
      layout: 'grid',
      fileOutputs: [new EncodedFileOutput({ filepath: 'rec/{room_name}-{room_id}.mp4' })],
      ...rc,
    }),
  },
});

const template = (t: Partial<TemplateSource>, outputs: Output[]): StartRequestLike => ({
  egressId: 'EG_tpl1',
  roomId: '',
  roomName: '',
  request: {
    case: 'egress',
    value: new StartEgressRequest({
      roomName: 'v2-room',
      source: { case: 'template', value: new TemplateSource({ layout: 'speaker', ...t }) },
      outputs,
    }),
  },
});

const fileOut = (filepath: string) => new Output({ config: { case: 'file', value: new FileOutput({ filepath }) } });

async function rejects(p: Promise<unknown>, code: string, text: string | RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof EgressError, String(err));
    assert.equal(err.code, code);
    if (typeof text === 'string') assert.ok(err.message.includes(text), err.message);
    else assert.match(err.message, text);
    return true;
  });
}

/** The plan's web source: a room composite is recorded as a page. */
function webOf(plan: RecordingPlan): WebSourcePlan {
  assert.equal(plan.source.kind, 'web');
  return plan.source as WebSourcePlan;
}

test('a room composite records the template page, joined as the hidden recorder, with web outputs', async () => {
  const plan = await planFromRequest(
    composite({
      options: { case: 'preset', value: EncodingOptionsPreset.H264_1080P_30 },
      segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'hls/{room_name}' })],
    }),
    ctx,
  );
  assert.equal(plan.source.kind, 'web');
  assert.deepEqual([plan.source.awaitStartSignal, plan.source.audioOnly, plan.source.videoOnly], [true, false, false]);
  const url = new URL(webOf(plan).url);
  assert.equal(`${url.origin}${url.pathname}`, 'http://127.0.0.1:7980/');
  assert.equal(url.searchParams.get('layout'), 'grid');
  assert.equal(url.searchParams.get('url'), 'ws://127.0.0.1:7880');
  const claims = await new TokenVerifier('devkey', SECRET).verify(url.searchParams.get('token') ?? '');
  assert.equal(claims.sub, 'EG_room1');
  assert.equal(claims.video?.room, 'my-room');
  assert.equal(claims.video?.recorder, true);
  assert.equal(plan.outputs.file?.destination, '/srv/out/rec/my-room-RM_1.mp4');
  assert.equal(plan.outputs.segments?.filenamePrefix, 'my-room');
  assert.deepEqual([plan.encoding.width, plan.encoding.height], [1920, 1080]);
});

test('a room composite honours custom_base_url, the rpc token and ws_url, audio_only and video_only', async () => {
  const custom = await planFromRequest(
    composite(
      { customBaseUrl: 'https://pages.example.test/rec/?theme=dark', layout: '' },
      { token: 'server-token', wsUrl: 'wss://lk.example.test' },
    ),
    ctx,
  );
  const url = new URL(webOf(custom).url);
  assert.equal(`${url.origin}${url.pathname}`, 'https://pages.example.test/rec/');
  assert.deepEqual(
    ['theme', 'token', 'url', 'layout'].map((k) => url.searchParams.get(k)),
    ['dark', 'server-token', 'wss://lk.example.test', ''],
  );

  const audio = await planFromRequest(composite({ audioOnly: true, fileOutputs: [new EncodedFileOutput()] }), ctx);
  assert.equal(audio.source.audioOnly, true);
  assert.equal(audio.outputs.file?.fileType, 'ogg');
  assert.equal(audio.outputs.file?.destination, '/srv/out/my-room-2026-01-02T030405.ogg');

  const video = await planFromRequest(composite({ videoOnly: true }), ctx);
  assert.deepEqual([video.source.videoOnly, video.outputs.file?.fileType], [true, 'mp4']);
});

test('the unified request with a TemplateSource plans the same page', async () => {
  const plan = await planFromRequest(template({ videoOnly: true }, [fileOut('{room_name}.mp4')]), ctx);
  const url = new URL(webOf(plan).url);
  assert.equal(url.searchParams.get('layout'), 'speaker');
  const claims = await new TokenVerifier('devkey', SECRET).verify(url.searchParams.get('token') ?? '');
  assert.deepEqual([claims.sub, claims.video?.room], ['EG_tpl1', 'v2-room']);
  assert.deepEqual([webOf(plan).awaitStartSignal, webOf(plan).videoOnly], [true, true]);
  assert.equal(plan.outputs.file?.destination, '/srv/out/v2-room.mp4');
});

test('bad room composites are invalid_argument naming the field', async () => {
  await rejects(planFromRequest(composite({ roomName: '' }), ctx), 'invalid_argument', 'room_composite.room_name');
  await rejects(
    planFromRequest(composite({ audioOnly: true, videoOnly: true }), ctx),
    'invalid_argument',
    'room_composite.audio_only',
  );
  await rejects(
    planFromRequest(composite({ customBaseUrl: 'file:///etc/passwd' }), ctx),
    'invalid_argument',
    'room_composite.custom_base_url',
  );
  await rejects(planFromRequest(composite({ fileOutputs: [] }), ctx), 'invalid_argument', 'room_composite.outputs');
  await rejects(
    planFromRequest(composite({ options: { case: 'preset', value: 99 as EncodingOptionsPreset } }), ctx),
    'invalid_argument',
    'room_composite.preset',
  );
  await rejects(
    planFromRequest(composite({ audioOnly: true, imageOutputs: [new ImageOutput()] }), ctx),
    'invalid_argument',
    'image outputs need video',
  );
  await rejects(
    planFromRequest(template({ audioOnly: true, videoOnly: true }, [fileOut('x.mp4')]), ctx),
    'invalid_argument',
    'egress.template.audio_only',
  );
  await rejects(planFromRequest(template({}, []), ctx), 'invalid_argument', 'egress.outputs');
});

test('the audio-only room composite without layout or custom page is recorded without a browser', async () => {
  const plan = await planFromRequest(composite({ audioOnly: true, layout: '' }), ctx);
  assert.equal(plan.source.kind, 'sdk');
  assert.ok(plan.source.kind === 'sdk');
  assert.deepEqual(
    [plan.source.requestType, plan.source.audio?.all, plan.source.audioOnly],
    ['room_composite', true, true],
  );
  assert.equal(plan.outputs.file?.fileType, 'ogg');
  const v2 = await planFromRequest(template({ audioOnly: true, layout: '' }, [fileOut('a.ogg')]), ctx);
  assert.equal(v2.source.kind, 'sdk');
});

test('the SDK path places tracks by audio_mixing; the browser path ignores it, as upstream does', async () => {
  const mixing = async (audioMixing: AudioMixing) => {
    const plan = await planFromRequest(composite({ audioOnly: true, layout: '', audioMixing }), ctx);
    assert.ok(plan.source.kind === 'sdk');
    return plan.source.audio?.mixing;
  };
  assert.equal(await mixing(AudioMixing.DEFAULT_MIXING), 'default');
  assert.equal(await mixing(AudioMixing.DUAL_CHANNEL_AGENT), 'dual_channel_agent');
  assert.equal(await mixing(AudioMixing.DUAL_CHANNEL_ALTERNATE), 'dual_channel_alternate');
  const unknown = 3 as AudioMixing; // a value this build's protocol does not define, as a newer server may send
  await rejects(
    planFromRequest(composite({ audioOnly: true, layout: '', audioMixing: unknown }), ctx),
    'invalid_argument',
    /^room_composite\.audio_mixing: .*\(got 3\)/,
  );
  const web = await planFromRequest(composite({ audioOnly: true, audioMixing: unknown }), ctx);
  assert.equal(web.source.kind, 'web');
});

test('a node without room credentials refuses room composites', async () => {
  const { room: _room, ...noRoom } = ctx;
  await rejects(planFromRequest(composite({}), noRoom), 'internal', 'api_key');
});

test('roomNameOf prefers the request room_name over the rpc one', () => {
  assert.equal(roomNameOf(composite({})), 'my-room');
  assert.equal(roomNameOf(composite({ roomName: '' }, { roomName: 'rpc-room' })), 'rpc-room');
  assert.equal(roomNameOf(template({}, [])), 'v2-room');
});
