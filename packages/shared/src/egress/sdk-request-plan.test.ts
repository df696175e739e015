import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AudioChannel,
  AudioConfig,
  AudioRoute,
  DirectFileOutput,
  EncodedFileOutput,
  ImageOutput,
  MediaSource,
  Output,
  ParticipantEgressRequest,
  ParticipantInfo_Kind,
  S3Upload,
  StartEgressRequest,
  TrackCompositeEgressRequest,
  TrackEgressRequest,
} from '@livekit/protocol';
import { TokenVerifier } from 'livekit-server-sdk';
import type { StorageConfig } from '../config/schema.js';
import { EgressError } from '../errors.js';
import { planFromRequest, type StartRequestLike } from './request-plan.js';
import { sdkRoomAudioSourcePlan, sdkRoomContext, sdkRoomName } from './sdk-request-plan.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const ctx = {
  tmpRoot: '/tmp/egress-test',
  localOutputDir: '/srv/out',
  chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
  now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
  sdkRoom: { wsUrl: 'ws://127.0.0.1:7880', token: 'tok' },
};

const req = (request: StartRequestLike['request']): StartRequestLike => ({
  egressId: 'EG_sdk1',
  roomId: 'RM_1',
  roomName: '',
  request,
});

async function rejects(fn: () => Promise<unknown>, code: string, text: string) {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof EgressError);
    assert.equal(err.code, code);
    assert.ok(err.message.includes(text), `${err.message} names ${text}`);
    return true;
  });
}

/** A unified request recording a MediaSource with video track TR_v and `audio`, to one file. */
const media = (audio: AudioConfig) =>
  req({
    case: 'egress',
    value: new StartEgressRequest({
      roomName: 'r2',
      source: { case: 'media', value: new MediaSource({ video: { case: 'videoTrackId', value: 'TR_v' }, audio }) },
      outputs: [new Output({ config: { case: 'file', value: new EncodedFileOutput({ filepath: 'm.mp4' }) } })],
    }),
  });

describe('SDK request plans', () => {
  it('mints the recorder token for SDK requests only', async () => {
    const participant = req({ case: 'participant', value: new ParticipantEgressRequest({ roomName: 'r1' }) });
    const room = await sdkRoomContext(participant, { apiKey: 'devkey', apiSecret: SECRET, wsUrl: 'ws://x:7880' });
    assert.equal(room?.wsUrl, 'ws://x:7880');
    const claims = await new TokenVerifier('devkey', SECRET).verify(room!.token);
    assert.equal(claims.sub, 'EG_sdk1');
    assert.deepEqual([claims.video?.room, claims.video?.hidden, claims.video?.recorder], ['r1', true, true]);
    const web = req({ case: 'web', value: {} });
    assert.equal(await sdkRoomContext(web, { apiKey: 'devkey', apiSecret: SECRET, wsUrl: 'ws://x' }), undefined);
    assert.equal(sdkRoomName(web), undefined);
  });

  it('plans a participant egress: its video (screen share preferred when asked) and its audio', async () => {
    const plan = await planFromRequest(
      req({
        case: 'participant',
        value: new ParticipantEgressRequest({
          roomName: 'r1',
          identity: 'alice',
          screenShare: true,
          fileOutputs: [new EncodedFileOutput({ filepath: '{room_name}/a.mp4' })],
          imageOutputs: [new ImageOutput({ captureInterval: 5 })],
        }),
      }),
      ctx,
    );
    assert.deepEqual(plan.source, {
      kind: 'sdk',
      requestType: 'participant',
      roomName: 'r1',
      wsUrl: 'ws://127.0.0.1:7880',
      token: 'tok',
      video: { identity: 'alice', preferScreenShare: true },
      audio: { all: false, routes: [{ match: { identity: 'alice' }, channel: 'both' }], mixing: 'default' },
      audioOnly: false,
      videoOnly: false,
    });
    assert.equal(plan.outputs.file?.destination, '/srv/out/r1/a.mp4');
    assert.equal(plan.outputs.file?.filename, 'r1/a.mp4', 'FileInfo.filename: the requested path, as upstream');
    assert.deepEqual([plan.outputs.images?.[0]?.width, plan.outputs.images?.[0]?.height], [1280, 720]);
    await rejects(
      () => planFromRequest(req({ case: 'participant', value: new ParticipantEgressRequest({ roomName: 'r1' }) }), ctx),
      'invalid_argument',
      'participant.identity',
    );
  });

  it('plans a track composite from its track ids; audio only takes OGG', async () => {
    const plan = await planFromRequest(
      req({
        case: 'trackComposite',
        value: new TrackCompositeEgressRequest({
          roomName: 'r1',
          audioTrackId: 'TR_a',
          output: { case: 'file', value: new EncodedFileOutput({ filepath: 'x' }) },
        }),
      }),
      ctx,
    );
    assert.ok(plan.source.kind === 'sdk');
    assert.deepEqual(
      [plan.source.audioOnly, plan.source.audio],
      [true, { all: false, routes: [{ match: { trackId: 'TR_a' }, channel: 'both' }], mixing: 'default' }],
    );
    assert.equal(plan.outputs.file?.fileType, 'ogg');
    assert.equal(plan.outputs.file?.destination, '/srv/out/x.ogg');
    await rejects(
      () =>
        planFromRequest(
          req({ case: 'trackComposite', value: new TrackCompositeEgressRequest({ roomName: 'r1' }) }),
          ctx,
        ),
      'invalid_argument',
      'track_composite.video_track_id',
    );
  });

  it('plans a track egress to a file whose type follows the track, or to a websocket', async () => {
    const plan = await planFromRequest(
      req({
        case: 'track',
        value: new TrackEgressRequest({
          roomName: 'r1',
          trackId: 'TR_v',
          output: { case: 'file', value: new DirectFileOutput({ filepath: 'tracks/{track_id}' }) },
        }),
      }),
      ctx,
    );
    assert.deepEqual(plan.outputs.file, {
      fileType: 'ogg',
      filename: 'tracks/TR_v.ogg',
      destination: '/srv/out/tracks/TR_v.ogg',
      manifest: true,
      ifVideo: { fileType: 'mp4', filename: 'tracks/TR_v.mp4', destination: '/srv/out/tracks/TR_v.mp4' },
    });
    const ws = await planFromRequest(
      req({
        case: 'track',
        value: new TrackEgressRequest({
          roomName: 'r1',
          trackId: 'TR_a',
          output: { case: 'websocketUrl', value: 'ws://h/x' },
        }),
      }),
      ctx,
    );
    assert.deepEqual(ws.outputs, { websocket: { url: 'ws://h/x' } });
    await rejects(
      () =>
        planFromRequest(
          req({
            case: 'track',
            value: new TrackEgressRequest({
              roomName: 'r1',
              trackId: 'TR_a',
              output: { case: 'websocketUrl', value: 'http://h' },
            }),
          }),
          ctx,
        ),
      'invalid_argument',
      'track.websocket_url',
    );
    await rejects(
      () => planFromRequest(req({ case: 'track', value: new TrackEgressRequest({ roomName: 'r1' }) }), ctx),
      'invalid_argument',
      'track.track_id',
    );
  });

  it("uploads a track egress's file to its own storage, else the config's, under the key of the file it picks", async () => {
    const track = (output?: DirectFileOutput['output']) =>
      req({
        case: 'track',
        value: new TrackEgressRequest({
          roomName: 'r1',
          trackId: 'TR_v',
          output: { case: 'file', value: new DirectFileOutput({ filepath: 'tracks/{track_id}.webm', output }) },
        }),
      });
    const own = await planFromRequest(
      track({ case: 's3', value: new S3Upload({ bucket: 'own', accessKey: 'k', secret: 's', region: 'r' }) }),
      ctx,
    );
    assert.equal(own.outputs.file?.upload?.storage.s3?.bucket, 'own');
    assert.equal(own.outputs.file?.upload?.key, 'tracks/TR_v.ogg');
    assert.equal(own.outputs.file?.ifVideo?.upload?.key, 'tracks/TR_v.webm');
    const s3Config = { access_key: 'k', secret: 's', session_token: '', assume_role_arn: '', region: 'r' };
    const config: StorageConfig = {
      prefix: 'p/',
      generate_presigned_url: false,
      s3: {
        ...s3Config,
        ...{ assume_role_external_id: '', endpoint: '', bucket: 'conf', force_path_style: false, metadata: {} },
        ...{ max_retries: 3, max_retry_delay: 5000, min_retry_delay: 100, tagging: '', content_disposition: '' },
      },
    };
    const fromConfig = await planFromRequest(track(), {
      ...ctx,
      storage: { storage: config, disallow_local_storage: false },
    });
    assert.equal(fromConfig.outputs.file?.ifVideo?.upload?.storage.s3?.bucket, 'conf');
    assert.equal((await planFromRequest(track(), ctx)).outputs.file?.upload, undefined, 'no storage: local disk');
    await rejects(
      () => planFromRequest(track(), { ...ctx, storage: { disallow_local_storage: true } }),
      'invalid_argument',
      'track.file',
    );
  });

  it('maps the unified request with a MediaSource', async () => {
    const plan = await planFromRequest(
      media(
        new AudioConfig({
          routes: [
            new AudioRoute({ match: { case: 'trackId', value: 'TR_a' } }),
            new AudioRoute({ match: { case: 'participantIdentity', value: 'bob' } }),
          ],
        }),
      ),
      ctx,
    );
    assert.ok(plan.source.kind === 'sdk');
    assert.deepEqual(
      [plan.source.requestType, plan.source.roomName, plan.source.video],
      ['media', 'r2', { trackId: 'TR_v' }],
    );
    assert.deepEqual(plan.source.audio, {
      all: false,
      routes: [
        { match: { trackId: 'TR_a' }, channel: 'both' },
        { match: { identity: 'bob' }, channel: 'both' },
      ],
      mixing: 'default',
    });
  });

  it('maps MediaSource audio routes by track, identity and kind (by name), each with its channel', async () => {
    const plan = await planFromRequest(
      media(
        new AudioConfig({
          captureAll: true,
          routes: [
            new AudioRoute({ match: { case: 'trackId', value: 'TR_a' }, channel: AudioChannel.RIGHT }),
            new AudioRoute({ match: { case: 'participantIdentity', value: 'bob' }, channel: AudioChannel.LEFT }),
            new AudioRoute({
              match: { case: 'participantKind', value: ParticipantInfo_Kind.CONNECTOR },
              channel: AudioChannel.LEFT,
            }),
            new AudioRoute({ match: { case: 'participantKind', value: ParticipantInfo_Kind.AGENT } }),
          ],
        }),
      ),
      ctx,
    );
    assert.ok(plan.source.kind === 'sdk');
    assert.deepEqual(plan.source.audio, {
      all: true,
      routes: [
        { match: { trackId: 'TR_a' }, channel: 'right' },
        { match: { identity: 'bob' }, channel: 'left' },
        { match: { participantKind: 'connector' }, channel: 'left' },
        { match: { participantKind: 'agent' }, channel: 'both' },
      ],
      mixing: 'default',
    });
  });

  it('rejects bad MediaSource audio routes naming the route field and the value', async () => {
    const bad = async (route: AudioRoute, field: string, value: string) => {
      await assert.rejects(planFromRequest(media(new AudioConfig({ routes: [route] })), ctx), (err: unknown) => {
        assert.ok(err instanceof EgressError);
        assert.equal(err.code, 'invalid_argument');
        assert.ok(err.message.startsWith(`${field}: `), err.message);
        assert.ok(err.message.includes(`(got ${value})`), err.message);
        return true;
      });
    };
    const at = 'egress.media.audio.routes[0]';
    // Values this build's protocol does not define, as a newer server may send; 5 is rtc-node's CONNECTOR.
    const kind = (v: number) => v as ParticipantInfo_Kind;
    await bad(
      new AudioRoute({ match: { case: 'trackId', value: 'a' }, channel: 3 as AudioChannel }),
      `${at}.channel`,
      '3',
    );
    await bad(new AudioRoute({ match: { case: 'participantKind', value: kind(5) } }), `${at}.participant_kind`, '5');
    await bad(new AudioRoute({ match: { case: 'participantKind', value: kind(42) } }), `${at}.participant_kind`, '42');
    await bad(new AudioRoute({ match: { case: 'trackId', value: '' } }), `${at}.track_id`, '""');
    await bad(
      new AudioRoute({ match: { case: 'participantIdentity', value: '' } }),
      `${at}.participant_identity`,
      '""',
    );
    await bad(new AudioRoute({}), `${at}.match`, '"(none)"');
  });

  it('builds the audio-only room composite source that mixes every track by its audio_mixing', async () => {
    const s = sdkRoomAudioSourcePlan('r3', { kind: 'sdk-audio', wsUrl: 'ws://h', token: 't', mixing: 'default' });
    assert.deepEqual(
      [s.requestType, s.audio, s.audioOnly],
      ['room_composite', { all: true, routes: [], mixing: 'default' }, true],
    );
    const alt = sdkRoomAudioSourcePlan('r3', {
      kind: 'sdk-audio',
      wsUrl: 'ws://h',
      token: 't',
      mixing: 'dual_channel_alternate',
    });
    assert.deepEqual(alt.audio, { all: true, routes: [], mixing: 'dual_channel_alternate' });
  });
});
