import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DirectFileOutput,
  EncodedFileOutput,
  MediaSource,
  Output,
  ParticipantEgressRequest,
  RoomCompositeEgressRequest,
  StartEgressRequest,
  StreamOutput,
  TemplateSource,
  TrackCompositeEgressRequest,
  TrackEgressRequest,
  WebEgressRequest,
  WebSource,
} from '@livekit/protocol';
import { EgressError } from '../errors.js';
import { RpcStartEgressRequest, type RpcStartEgressRequestKind } from '../psrpc/messages.js';
import { planFromRequest } from './request-plan.js';
import {
  displayName,
  metricsType,
  outputField,
  REQUEST_TYPES,
  requestCost,
  requestField,
  requestRoomName,
  requestSource,
  type RequestOneof,
} from './request-kinds.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const ctx = {
  tmpRoot: '/tmp/egress-test',
  localOutputDir: '/srv/out',
  chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
  sdkRoom: { wsUrl: 'ws://127.0.0.1:7880', token: 'tok' },
  room: { apiKey: 'devkey', apiSecret: SECRET, wsUrl: 'ws://127.0.0.1:7880', templateBase: 'http://127.0.0.1:7980/' },
};

/** The planner's error for `request`; fails when it plans. */
async function planError(request: RpcStartEgressRequestKind): Promise<EgressError> {
  const err = await planFromRequest({ egressId: 'EG_kinds', roomId: 'RM_1', roomName: 'r', request }, ctx).then(
    () => assert.fail(`${request.case} was planned`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof EgressError, String(err));
  return err;
}

test('every case of the rpc request oneof is in the table, under its protobuf field name', () => {
  const oneof = RpcStartEgressRequest.fields.list().filter((f) => f.oneof?.name === 'request');
  assert.deepEqual(Object.keys(REQUEST_TYPES).sort(), oneof.map((f) => f.localName).sort());
  for (const f of oneof) assert.equal(REQUEST_TYPES[f.localName as keyof typeof REQUEST_TYPES].field, f.name);
});

test('every source of the unified request has a planner', () => {
  const sources = StartEgressRequest.fields.list().filter((f) => f.oneof?.name === 'source');
  const planners = sources.map((f) =>
    requestSource({
      case: 'egress',
      value: new StartEgressRequest({ source: { case: f.localName, value: {} } as never }),
    }),
  );
  assert.deepEqual(Object.fromEntries(sources.map((f, i) => [f.localName, planners[i]])), {
    template: 'template',
    web: 'web',
    media: 'sdk',
  });
  assert.equal(requestSource({ case: 'replay', value: {} }), undefined);
});

const bad = 'a/../../../etc/x.mp4';
const file = () => new EncodedFileOutput({ filepath: bad });
const unified = (source: StartEgressRequest['source'], outputs: Output['config'][]) =>
  new StartEgressRequest({ roomName: 'r', source, outputs: outputs.map((config) => new Output({ config })) });
const stream = new StreamOutput({ urls: ['rtmp://127.0.0.1/live/k'] });

/** One request of each kind and source whose file output (not always the first output) has a bad filepath. */
const badFiles: RpcStartEgressRequestKind[] = [
  { case: 'web', value: new WebEgressRequest({ url: 'http://127.0.0.1:9/', fileOutputs: [file()] }) },
  { case: 'web', value: new WebEgressRequest({ url: 'http://127.0.0.1:9/', output: { case: 'file', value: file() } }) },
  { case: 'roomComposite', value: new RoomCompositeEgressRequest({ layout: 'grid', fileOutputs: [file()] }) },
  { case: 'participant', value: new ParticipantEgressRequest({ identity: 'alice', fileOutputs: [file()] }) },
  { case: 'trackComposite', value: new TrackCompositeEgressRequest({ audioTrackId: 'TR_a', fileOutputs: [file()] }) },
  {
    case: 'track',
    value: new TrackEgressRequest({
      trackId: 'TR_a',
      output: { case: 'file', value: new DirectFileOutput({ filepath: bad }) },
    }),
  },
  {
    case: 'egress',
    value: unified({ case: 'web', value: new WebSource({ url: 'http://127.0.0.1:9/' }) }, [
      { case: 'stream', value: stream },
      { case: 'file', value: file() },
    ]),
  },
  {
    case: 'egress',
    value: unified({ case: 'template', value: new TemplateSource({ layout: 'grid' }) }, [
      { case: 'file', value: file() },
    ]),
  },
  {
    case: 'egress',
    value: unified({ case: 'media', value: new MediaSource({ video: { case: 'videoTrackId', value: 'TR_v' } }) }, [
      { case: 'stream', value: stream },
      { case: 'file', value: file() },
    ]),
  },
];

test("each kind's file output field is the one the planner names", async () => {
  const named = [];
  for (const request of badFiles) {
    const field = `${outputField(request, 'file')}.filepath`;
    const err = await planError(request);
    assert.ok(err.message.startsWith(`${field}: `), `${request.case}: "${err.message}" names ${field}`);
    named.push(field);
  }
  assert.deepEqual(named, [
    'web.file_outputs[0].filepath',
    'web.file.filepath',
    'room_composite.file_outputs[0].filepath',
    'participant.file_outputs[0].filepath',
    'track_composite.file_outputs[0].filepath',
    'track.file.filepath',
    'egress.outputs[1].file.filepath',
    'egress.outputs[0].file.filepath',
    'egress.outputs[1].file.filepath',
  ]);
});

test("each kind's stream output field is the one the planner names", async () => {
  const urls = ['http://127.0.0.1/live/k'];
  const requests: RpcStartEgressRequestKind[] = [
    { case: 'web', value: new WebEgressRequest({ url: 'http://127.0.0.1:9/', streamOutputs: [{ urls }] }) },
    {
      case: 'web',
      value: new WebEgressRequest({ url: 'http://127.0.0.1:9/', output: { case: 'stream', value: { urls } } }),
    },
    { case: 'roomComposite', value: new RoomCompositeEgressRequest({ layout: 'grid', streamOutputs: [{ urls }] }) },
    { case: 'participant', value: new ParticipantEgressRequest({ identity: 'alice', streamOutputs: [{ urls }] }) },
    {
      case: 'egress',
      value: unified({ case: 'web', value: new WebSource({ url: 'http://127.0.0.1:9/' }) }, [
        { case: 'file', value: new EncodedFileOutput({ filepath: 'x.mp4' }) },
        { case: 'stream', value: new StreamOutput({ urls }) },
      ]),
    },
  ];
  for (const request of requests) {
    const field = `${outputField(request, 'stream')}.urls[0]`;
    const err = await planError(request);
    assert.ok(err.message.startsWith(`${field}: `), `${request.case}: "${err.message}" names ${field}`);
  }
});

test("room names: the request's own, else the rpc request's", () => {
  assert.equal(requestRoomName({ case: 'web', value: new WebEgressRequest() }, 'rpc'), 'rpc');
  assert.equal(requestRoomName({ case: 'track', value: new TrackEgressRequest({ roomName: 'own' }) }, 'rpc'), 'own');
  assert.equal(requestRoomName({ case: 'egress', value: new StartEgressRequest({ roomName: '' }) }, 'rpc'), 'rpc');
  assert.equal(requestRoomName({ case: undefined }, 'rpc'), 'rpc');
});

const composite = (rc: Partial<RoomCompositeEgressRequest>): RequestOneof => ({
  case: 'roomComposite',
  value: new RoomCompositeEgressRequest(rc),
});
const template = (t: Partial<TemplateSource>): RequestOneof => ({
  case: 'egress',
  value: new StartEgressRequest({ source: { case: 'template', value: new TemplateSource(t) } }),
});

test('cost kinds as upstream prices them', () => {
  const costs = (list: RequestOneof[]) => list.map(requestCost);
  assert.deepEqual(
    costs([
      composite({ layout: 'grid' }),
      composite({ layout: 'grid', videoOnly: true }),
      composite({ layout: 'grid', audioOnly: true }),
      composite({ customBaseUrl: 'https://x/', audioOnly: true }),
      composite({ audioOnly: true }),
      template({ layout: 'speaker' }),
      template({ audioOnly: true, layout: 'grid' }),
      template({ audioOnly: true }),
    ]),
    [
      'room_composite',
      'room_composite',
      'audio_room_composite',
      'audio_room_composite',
      'sdk_audio_room_composite',
      'room_composite',
      'audio_room_composite',
      'sdk_audio_room_composite',
    ],
  );
  const web = new WebSource({ url: 'http://x/', audioOnly: true });
  assert.deepEqual(
    costs([
      { case: 'web', value: new WebEgressRequest() },
      { case: 'web', value: new WebEgressRequest({ audioOnly: true }) },
      { case: 'egress', value: new StartEgressRequest({ source: { case: 'web', value: web } }) },
      { case: 'egress', value: new StartEgressRequest({ source: { case: 'media', value: new MediaSource() } }) },
      { case: 'egress', value: new StartEgressRequest() },
      { case: 'participant', value: new ParticipantEgressRequest() },
      { case: 'trackComposite', value: new TrackCompositeEgressRequest() },
      { case: 'track', value: new TrackEgressRequest() },
      { case: 'replay', value: {} },
      { case: undefined },
    ]),
    ['web', 'audio_web', 'audio_web', 'participant', 'web', 'participant', 'track_composite', 'track', 'web', 'web'],
  );
});

test('names: CLI display, metrics label (the oneof case, unchanged) and field', () => {
  const cases = [...Object.keys(REQUEST_TYPES), undefined, 'hologram'];
  assert.deepEqual(cases.map(displayName), [
    'web',
    'room-composite',
    'participant',
    'track-composite',
    'track',
    'egress',
    'replay',
    'unknown',
    'hologram',
  ]);
  assert.deepEqual(
    cases.map((c) => metricsType({ case: c })),
    ['web', 'roomComposite', 'participant', 'trackComposite', 'track', 'egress', 'replay', 'unknown', 'hologram'],
  );
  assert.equal(requestField({ case: 'trackComposite' }), 'track_composite');
  assert.equal(requestField({ case: 'constructor' }), 'constructor');
  assert.equal(requestField({ case: undefined }), 'request');
});
