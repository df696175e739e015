import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EgressClient,
  EncodedFileType,
  EncodingOptionsPreset,
  ParticipantEgressRequest,
  RoomCompositeEgressRequest,
  StartEgressRequest,
  TrackCompositeEgressRequest,
  TrackEgressRequest,
  WebEgressRequest,
} from 'livekit-server-sdk';
import { EgressError } from '@egress/shared';
import { buildStartRequest, parseStartType, sendStart, START_TYPES, type BuiltRequest } from './egress-requests.js';

interface Message {
  equals(other: unknown): boolean;
  getType(): { typeName: string };
  toJsonString(): string;
}

/** The built request is of the expected message type and equal to it, field by field. */
function same(actual: BuiltRequest['request'], expected: Message): void {
  const a = actual as unknown as Message;
  assert.equal(a.getType().typeName, expected.getType().typeName);
  assert.ok(a.equals(expected), `got ${a.toJsonString()}\nwant ${expected.toJsonString()}`);
}

const invalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof EgressError && err.code === 'invalid_argument' && pattern.test(err.message);

describe('building start requests from flags', () => {
  test('web', () => {
    const b = buildStartRequest('web', {
      page: 'https://example.com/page',
      file: 'out/{time}.mp4',
      'await-start-signal': true,
      preset: 'h264_1080p_30',
    });
    assert.equal(b.type, 'web');
    same(
      b.request,
      new WebEgressRequest({
        url: 'https://example.com/page',
        awaitStartSignal: true,
        fileOutputs: [{ filepath: 'out/{time}.mp4' }],
        options: { case: 'preset', value: EncodingOptionsPreset.H264_1080P_30 },
      }),
    );
  });

  test('room composite, with every output kind and advanced encoding', () => {
    const b = buildStartRequest('room-composite', {
      room: 'my-room',
      layout: 'speaker',
      'audio-only': true,
      file: 'a.ogg',
      'file-type': 'ogg',
      'disable-manifest': true,
      stream: ['rtmp://a.example/live/k1,rtmps://b.example/live/k2', 'srt://c.example:9000'],
      segments: 'hls/seg',
      playlist: 'index.m3u8',
      'segment-duration': '4',
      images: 'thumbs/img',
      'image-interval': '10',
      width: '1920',
      height: '1080',
      framerate: '30',
      'video-bitrate': '4500',
      'audio-bitrate': '128',
    });
    same(
      b.request,
      new RoomCompositeEgressRequest({
        roomName: 'my-room',
        layout: 'speaker',
        audioOnly: true,
        fileOutputs: [{ filepath: 'a.ogg', fileType: EncodedFileType.OGG, disableManifest: true }],
        streamOutputs: [{ urls: ['rtmp://a.example/live/k1', 'rtmps://b.example/live/k2', 'srt://c.example:9000'] }],
        segmentOutputs: [{ filenamePrefix: 'hls/seg', playlistName: 'index.m3u8', segmentDuration: 4 }],
        imageOutputs: [{ filenamePrefix: 'thumbs/img', captureInterval: 10 }],
        options: {
          case: 'advanced',
          value: { width: 1920, height: 1080, framerate: 30, videoBitrate: 4500, audioBitrate: 128 },
        },
      }),
    );
  });

  test("stream URLs pass the service's own check: mux://<key> is taken as the service takes it", () => {
    const b = buildStartRequest('web', { page: 'https://x', stream: ['mux://abc123,rtmp://a.example/live/k1'] });
    same(
      b.request,
      new WebEgressRequest({
        url: 'https://x',
        streamOutputs: [{ urls: ['mux://abc123', 'rtmp://a.example/live/k1'] }],
      }),
    );
  });

  test('participant, track composite and track', () => {
    const p = buildStartRequest('participant', { room: 'r', identity: 'alice', 'screen-share': true, file: 'p.mp4' });
    same(
      p.request,
      new ParticipantEgressRequest({
        roomName: 'r',
        identity: 'alice',
        screenShare: true,
        fileOutputs: [{ filepath: 'p.mp4' }],
      }),
    );
    const tc = buildStartRequest('track-composite', {
      room: 'r',
      'audio-track': 'TR_a',
      'video-track': 'TR_v',
      segments: 's',
    });
    same(
      tc.request,
      new TrackCompositeEgressRequest({
        roomName: 'r',
        audioTrackId: 'TR_a',
        videoTrackId: 'TR_v',
        segmentOutputs: [{ filenamePrefix: 's' }],
      }),
    );
    const tf = buildStartRequest('track', { room: 'r', track: 'TR_a', file: 'track.ogg' });
    same(
      tf.request,
      new TrackEgressRequest({
        roomName: 'r',
        trackId: 'TR_a',
        output: { case: 'file', value: { filepath: 'track.ogg' } },
      }),
    );
    const tw = buildStartRequest('track', { room: 'r', track: 'TR_a', websocket: 'wss://sink.example/audio' });
    assert.deepEqual((tw.request as TrackEgressRequest).output, {
      case: 'websocketUrl',
      value: 'wss://sink.example/audio',
    });
  });

  test('every type but start can be built from flags alone', () => {
    for (const type of START_TYPES.filter((t) => t !== 'start')) {
      assert.equal(parseStartType(type), type);
    }
  });
});

describe('building start requests from JSON', () => {
  test('upstream field names (snake_case), flags win over the JSON', () => {
    const json = {
      room_name: 'from-json',
      layout: 'grid',
      file_outputs: [{ filepath: 'json.mp4' }],
      preset: 'H264_720P_60',
    };
    const b = buildStartRequest('room-composite', { layout: 'speaker' }, json);
    same(
      b.request,
      new RoomCompositeEgressRequest({
        roomName: 'from-json',
        layout: 'speaker',
        fileOutputs: [{ filepath: 'json.mp4' }],
        options: { case: 'preset', value: EncodingOptionsPreset.H264_720P_60 },
      }),
    );
  });

  test('a legacy single output becomes the list form', () => {
    const b = buildStartRequest('web', {}, { url: 'https://example.com', file: { filepath: 'legacy.mp4' } });
    assert.equal(b.type, 'web');
    const r = b.request as WebEgressRequest;
    assert.equal(r.output.case, undefined);
    assert.deepEqual(
      r.fileOutputs.map((f) => f.filepath),
      ['legacy.mp4'],
    );
  });

  test('the unified StartEgressRequest (--type start)', () => {
    const json = { web: { url: 'https://example.com' }, outputs: [{ file: { filepath: 'v2.mp4' } }] };
    const b = buildStartRequest('start', {}, json);
    same(b.request, StartEgressRequest.fromJson(json));
    assert.equal((b.request as StartEgressRequest).source.case, 'web');
  });

  test('a JSON request that is not of the type names the type and the field', () => {
    assert.throws(
      () => buildStartRequest('web', {}, { url: 'https://x', room_name: 'r' }),
      invalid(/not a WebEgressRequest \(--type web\).*room_name/),
    );
  });
});

describe('invalid requests: invalid_argument naming the flag and value', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['no type', () => parseStartType(undefined), /--type is required/],
    ['unknown type', () => parseStartType('room'), /--type "room" is not one of web, room-composite/],
    ['web without url', () => buildStartRequest('web', { file: 'a.mp4' }), /needs --page URL/],
    [
      'web url scheme',
      () => buildStartRequest('web', { page: 'ftp://x', file: 'a' }),
      /--page: must be an http\(s\) URL \(got "ftp:\/\/x"\)/,
    ],
    ['no output', () => buildStartRequest('web', { page: 'https://x' }), /needs an output: --file/],
    [
      'flag of another type',
      () => buildStartRequest('web', { page: 'https://x', layout: 'grid' }),
      /--layout does not apply to --type web/,
    ],
    [
      'bad preset',
      () => buildStartRequest('web', { page: 'https://x', file: 'a', preset: 'HD' }),
      /--preset "HD" is not one of .*H264_720P_30/,
    ],
    [
      'preset and width',
      () => buildStartRequest('web', { page: 'https://x', file: 'a', preset: 'H264_720P_30', width: '5' }),
      /--preset or --width, not both/,
    ],
    [
      'bad number',
      () => buildStartRequest('web', { page: 'https://x', file: 'a', width: '12.5' }),
      /--width must be a positive whole number, got "12.5"/,
    ],
    [
      'stream scheme',
      () => buildStartRequest('web', { page: 'https://x', stream: ['http://a'] }),
      /--stream: must be an rtmp:\/\/, rtmps:\/\/, mux:\/\/ or srt:\/\/ URL/,
    ],
    [
      'mux without a key',
      () => buildStartRequest('web', { page: 'https://x', stream: ['mux://'] }),
      /--stream: mux:\/\/ needs a stream key/,
    ],
    [
      'playlist alone',
      () => buildStartRequest('web', { page: 'https://x', file: 'a', playlist: 'p' }),
      /--playlist and --segment-duration need --segments/,
    ],
    [
      'participant without identity',
      () => buildStartRequest('participant', { room: 'r', file: 'a' }),
      /needs --identity/,
    ],
    [
      'track composite without tracks',
      () => buildStartRequest('track-composite', { room: 'r', file: 'a' }),
      /--audio-track or --video-track/,
    ],
    [
      'track with both',
      () => buildStartRequest('track', { room: 'r', track: 't', file: 'a', websocket: 'ws://x' }),
      /not both/,
    ],
    [
      'track stream',
      () => buildStartRequest('track', { room: 'r', track: 't', stream: ['rtmp://x'] }),
      /--stream does not apply to --type track/,
    ],
    ['start with flags', () => buildStartRequest('start', { page: 'https://x' }, {}), /takes a JSON request only/],
    [
      'start without source',
      () => buildStartRequest('start', {}, { outputs: [{ file: { filepath: 'a' } }] }),
      /no source/,
    ],
    [
      'two file outputs',
      () => buildStartRequest('web', {}, { url: 'https://x', file_outputs: [{ filepath: 'a' }, { filepath: 'b' }] }),
      /file_outputs: at most one per request \(2 given\)/,
    ],
  ];
  for (const [name, fn, pattern] of cases) test(name, () => assert.throws(fn, invalid(pattern)));
});

/**
 * What livekit-server-sdk puts on the wire for each built request. A loopback Twirp endpoint records the
 * request bodies: the real livekit-server cannot show what it received, and only web egress runs here.
 */
describe('sendStart sends exactly the built request through livekit-server-sdk', () => {
  const received: { path: string; body: unknown }[] = [];
  let server: http.Server;
  let client: EgressClient;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: JSON.parse(body) as unknown });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ egress_id: 'EG_captured', status: 'EGRESS_STARTING' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new EgressClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'key', 'secret');
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const built: [string, BuiltRequest][] = [
    [
      'StartWebEgress',
      buildStartRequest('web', {
        page: 'https://example.com',
        file: 'w.mp4',
        stream: ['rtmp://x/live/k'],
        'video-only': true,
        width: '640',
        height: '360',
      }),
    ],
    [
      'StartRoomCompositeEgress',
      buildStartRequest('room-composite', {
        room: 'r',
        layout: 'grid',
        'custom-base-url': 'https://t.example/',
        segments: 's',
        preset: 'H264_1080P_60',
      }),
    ],
    ['StartParticipantEgress', buildStartRequest('participant', { room: 'r', identity: 'bob', images: 'i' })],
    [
      'StartTrackCompositeEgress',
      buildStartRequest('track-composite', { room: 'r', 'video-track': 'TR_v', file: 'tc.mp4' }),
    ],
    ['StartTrackEgress', buildStartRequest('track', { room: 'r', track: 'TR_a', websocket: 'ws://sink' })],
    ['StartTrackEgress', buildStartRequest('track', { room: 'r', track: 'TR_a', file: 't.ogg' })],
    [
      'StartEgress',
      buildStartRequest(
        'start',
        {},
        { web: { url: 'https://example.com' }, outputs: [{ file: { filepath: 'v2.mp4' } }] },
      ),
    ],
  ];
  const classes = {
    web: WebEgressRequest,
    'room-composite': RoomCompositeEgressRequest,
    participant: ParticipantEgressRequest,
    'track-composite': TrackCompositeEgressRequest,
    track: TrackEgressRequest,
    start: StartEgressRequest,
  } as const;

  for (const [method, b] of built) {
    test(`${b.type} -> ${method}`, async () => {
      received.length = 0;
      const info = await sendStart(client, b);
      assert.equal(info.egressId, 'EG_captured');
      assert.equal(received.length, 1);
      assert.equal(received[0]!.path, `/twirp/livekit.Egress/${method}`);
      same(b.request, classes[b.type].fromJson(received[0]!.body as never));
    });
  }
});
