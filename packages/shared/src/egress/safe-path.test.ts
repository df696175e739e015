import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DirectFileOutput,
  EncodedFileOutput,
  ImageOutput,
  Output,
  ParticipantEgressRequest,
  RoomCompositeEgressRequest,
  SegmentedFileOutput,
  StartEgressRequest,
  TrackCompositeEgressRequest,
  TrackEgressRequest,
  WebEgressRequest,
  WebSource,
} from '@livekit/protocol';
import { EgressError } from '../errors.js';
import { fillTrackPath } from './filename.js';
import { planFromRequest, type PlanContext, type StartRequestLike } from './request-plan.js';
import { confinePath, NAME_MAX, safeObjectKey, sanitizeValue, truncateUtf8 } from './safe-path.js';

// tmp_dir and log_dir inside local_output_dir, as in the e2e stack, so the rule keeping outputs out of them bites.
const ctx: PlanContext = {
  tmpRoot: '/srv/out/tmp',
  localOutputDir: '/srv/out',
  logDir: '/srv/out/.logs',
  chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
  now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
  sdkRoom: { wsUrl: 'ws://127.0.0.1:7880', token: 'tok' },
  room: {
    apiKey: 'devkey',
    apiSecret: 'x'.repeat(32),
    wsUrl: 'ws://127.0.0.1:7880',
    templateBase: 'http://127.0.0.1/',
  },
};
const roots = { localOutputDir: '/srv/out', tmpDir: '/srv/out/tmp', logDir: '/srv/out/.logs' };
const VICTIM = '../../home/egress/tmp/lk-egress/EG_victim/capture';

const request = (r: StartRequestLike['request'], roomName = 'my-room'): StartRequestLike => ({
  egressId: 'EG_paths1',
  roomId: 'RM_1',
  roomName,
  request: r,
});
const web = (w: Partial<WebEgressRequest>, roomName?: string) =>
  request({ case: 'web', value: new WebEgressRequest({ url: 'http://127.0.0.1:8000/', ...w }) }, roomName);
const file = (filepath: string) => ({ fileOutputs: [new EncodedFileOutput({ filepath })] });

async function refused(req: StartRequestLike, field: string, value: string) {
  await assert.rejects(
    planFromRequest(req, ctx),
    (err: unknown) => {
      assert.ok(err instanceof EgressError, String(err));
      assert.equal(err.code, 'invalid_argument');
      assert.ok(err.message.startsWith(`${field}: `), `${err.message} names ${field}`);
      assert.ok(err.message.includes(JSON.stringify(value).slice(0, 60)), `${err.message} shows ${value}`);
      return true;
    },
    `${field} ${JSON.stringify(value)} is refused`,
  );
}

describe('output path confinement', () => {
  it('refuses "..", NUL, control characters and line breaks, naming the field and the value', async () => {
    const cases: [StartRequestLike, string, string][] = [
      [web(file('a/../../etc/x.mp4')), 'web.file_outputs[0].filepath', 'a/../../etc/x.mp4'],
      [web(file('../../x.mp4')), 'web.file_outputs[0].filepath', '../../x.mp4'],
      // The extension fix would turn it into "...mp4", which is no ".." segment.
      [web(file('..')), 'web.file_outputs[0].filepath', '..'],
      [web(file('a\\..\\..\\x.mp4')), 'web.file_outputs[0].filepath', 'a\\..\\..\\x.mp4'],
      [web(file('a/%2E%2e/%2e%2e/x.mp4')), 'web.file_outputs[0].filepath', 'a/%2E%2e/%2e%2e/x.mp4'],
      [web(file('x\0.mp4')), 'web.file_outputs[0].filepath', 'x\0.mp4'],
      [web(file('x\u2028y.mp4')), 'web.file_outputs[0].filepath', 'x\u2028y.mp4'],
      [web(file('.{room_name}./x.mp4'), ''), 'web.file_outputs[0].filepath', '.{room_name}./x.mp4'],
      [web(file('tmp/EG_victim/capture.mp4')), 'web.file_outputs[0].filepath', 'tmp/EG_victim/capture.mp4'],
      [web(file('/srv/out/.logs/EG_x.log')), 'web.file_outputs[0].filepath', '/srv/out/.logs/EG_x.log'],
      [
        web({ segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'hls/a\n#EXT-X-ENDLIST' })] }),
        'web.segment_outputs[0].filename_prefix',
        'hls/a\n#EXT-X-ENDLIST',
      ],
      [
        web({ segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'a', playlistName: 'p\r\n#x' })] }),
        'web.segment_outputs[0].playlist_name',
        'p\r\n#x',
      ],
      [
        web({ segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'a', livePlaylistName: '..\\live' })] }),
        'web.segment_outputs[0].live_playlist_name',
        '..\\live',
      ],
      [
        web({ imageOutputs: [new ImageOutput({ filenamePrefix: 'img/../../x' })] }),
        'web.image_outputs[0].filename_prefix',
        'img/../../x',
      ],
      [
        request({
          case: 'roomComposite',
          value: new RoomCompositeEgressRequest({ roomName: 'r', ...file('../x.mp4') }),
        }),
        'room_composite.file_outputs[0].filepath',
        '../x.mp4',
      ],
      [
        request({
          case: 'egress',
          value: new StartEgressRequest({
            source: { case: 'web', value: new WebSource({ url: 'http://127.0.0.1:8000/' }) },
            outputs: [new Output({ config: { case: 'file', value: new EncodedFileOutput({ filepath: '../x' }) } })],
          }),
        }),
        'egress.outputs[0].file.filepath',
        '../x',
      ],
      [
        request({
          case: 'participant',
          value: new ParticipantEgressRequest({ roomName: 'r', identity: 'p', ...file('a/../b') }),
        }),
        'participant.file_outputs[0].filepath',
        'a/../b',
      ],
      [
        request({
          case: 'trackComposite',
          value: new TrackCompositeEgressRequest({ roomName: 'r', audioTrackId: 'TR_a', ...file('../a') }),
        }),
        'track_composite.file_outputs[0].filepath',
        '../a',
      ],
      [
        request({
          case: 'track',
          value: new TrackEgressRequest({
            roomName: 'r',
            trackId: 'TR_v',
            output: { case: 'file', value: new DirectFileOutput({ filepath: 'x/../../{publisher_identity}' }) },
          }),
        }),
        'track.file.filepath',
        'x/../../{publisher_identity}',
      ],
    ];
    for (const [req, field, value] of cases) await refused(req, field, value);
  });

  it('keeps hostile names and absolute paths inside local_output_dir', async () => {
    const dest = async (req: StartRequestLike) => (await planFromRequest(req, ctx)).outputs.file?.destination;
    assert.equal(await dest(web(file('/home/egress/.profile'))), '/srv/out/home/egress/.profile.mp4');
    assert.equal(await dest(web(file('/srv/out/keep/x.mp4'))), '/srv/out/keep/x.mp4');
    assert.equal(
      (await planFromRequest(web(file('/srv/out/keep/x.mp4')), ctx)).outputs.file?.filename,
      '/srv/out/keep/x.mp4',
      'an absolute path inside the root is reported as requested',
    );
    assert.equal(await dest(web(file('/srv/outside/x.mp4'))), '/srv/out/srv/outside/x.mp4');
    assert.equal(
      await dest(web(file('rec/{room_name}.mp4'), VICTIM)),
      '/srv/out/rec/___.._home_egress_tmp_lk-egress_EG_victim_capture.mp4',
    );
    assert.equal(await dest(web(file('{room_name}/x.mp4'), '..')), '/srv/out/__/x.mp4');
    assert.equal(await dest(web(file(''), '../up')), '/srv/out/___up-2026-01-02T030405.mp4');
    const participant = await dest(
      request({
        case: 'participant',
        value: new ParticipantEgressRequest({
          roomName: 'r',
          identity: '../../etc/cron.d/x',
          ...file('{publisher_identity}'),
        }),
      }),
    );
    assert.equal(participant, '/srv/out/___.._etc_cron.d_x.mp4');
    const track = await planFromRequest(
      request({
        case: 'track',
        value: new TrackEgressRequest({
          roomName: 'r',
          trackId: '../../TR',
          output: { case: 'file', value: new DirectFileOutput({ filepath: 't/{track_id}' }) },
        }),
      }),
      ctx,
    );
    assert.equal(track.outputs.file?.destination, '/srv/out/t/___.._TR.ogg');
    const hls = await planFromRequest(
      web({ segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'hls/{room_name}' })] }, '../../x\ny'),
      ctx,
    );
    assert.deepEqual([hls.outputs.segments?.dir, hls.outputs.segments?.filenamePrefix], ['/srv/out/hls', '___.._x_y']);
  });

  it('caps every component at 255 bytes of UTF-8, on a character boundary, keeping the extension', async () => {
    const long = 'é'.repeat(200); // 400 bytes
    const plan = await planFromRequest(
      web(file(`${long}/{room_name}{room_name}{room_name}.mp4`), '😀'.repeat(100)),
      ctx,
    );
    const parts = plan.outputs.file!.destination.split('/');
    for (const p of parts) assert.ok(Buffer.byteLength(p) <= NAME_MAX, `${Buffer.byteLength(p)} bytes`);
    assert.equal(parts[3], 'é'.repeat(127));
    assert.match(parts[4]!, /^(😀)+\.mp4$/u);
    assert.equal(truncateUtf8('a😀', 4), 'a');
  });

  it('sanitises placeholder values: separators, control characters, leading dots, invalid UTF-16, length', () => {
    assert.equal(sanitizeValue('../a\\b/c'), '___a_b_c');
    assert.equal(sanitizeValue('.hidden'), '_hidden');
    assert.equal(sanitizeValue('%2e%2E.x'), '___x');
    assert.equal(sanitizeValue('a\nb\r\0\u0085\u2029'), 'a_b____');
    assert.equal(sanitizeValue('x\uD800y\uDC00'), 'x_y_');
    assert.equal(sanitizeValue('😀'), '😀');
    assert.equal(sanitizeValue('{publisher_identity}..'), '_publisher_identity_..', 'no placeholder for a later fill');
    assert.equal(Buffer.byteLength(sanitizeValue('a'.repeat(255))), 128);
  });

  it('the late fill of track names sanitises, and re-checks against the same roots', () => {
    const at = 'track.file.filepath';
    assert.deepEqual(
      fillTrackPath(
        't/{publisher_identity}-{track_source}.ogg',
        { publisherIdentity: '../../..', trackSource: 'camera' },
        roots,
        at,
      ),
      {
        filename: 't/___.._..-camera.ogg',
        key: 't/___.._..-camera.ogg',
        destination: '/srv/out/t/___.._..-camera.ogg',
      },
    );
    const huge = fillTrackPath(
      '{publisher_identity}{publisher_identity}.ogg',
      { publisherIdentity: 'x'.repeat(255) },
      roots,
      at,
    );
    assert.ok(Buffer.byteLength(huge.destination.split('/').pop()!) <= NAME_MAX);
    // The template was fine, but what the names make of it lands in tmp_dir: refused, never written.
    assert.throws(
      () => fillTrackPath('tmp{publisher_identity}/x.ogg', { publisherIdentity: '' }, roots, at),
      /tmp_dir/,
    );
  });

  it('object keys are relative and cannot leave their prefix', () => {
    assert.equal(safeObjectKey('/a//b/./c.mp4'), 'a/b/c.mp4');
    for (const bad of ['../x', 'a/../../x', 'a\\..\\x', 'a/%2e%2E/x', 'a\nb']) {
      assert.throws(
        () => safeObjectKey(bad),
        (err: unknown) => err instanceof EgressError && err.code === 'invalid_argument',
      );
    }
    assert.equal(confinePath('/srv/out/a.mp4', roots, 'f').key, 'srv/out/a.mp4');
  });
});
