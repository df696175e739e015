import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  DirectFileOutput,
  EncodedFileOutput,
  ImageOutput,
  ParticipantEgressRequest,
  SegmentedFileOutput,
  TrackEgressRequest,
  WebEgressRequest,
} from '@livekit/protocol';
import { EgressError } from '../errors.js';
import { fillTrackPath } from './filename.js';
import type { RecordingPlan } from './plan.js';
import { planFromRequest, type PlanContext, type StartRequestLike } from './request-plan.js';
import { NAME_MAX } from './safe-path.js';

const ROOT = '/srv/out';
const TMP = '/srv/out/tmp';
const LOG = '/srv/out/.logs';
const ctx: PlanContext = {
  tmpRoot: TMP,
  localOutputDir: ROOT,
  logDir: LOG,
  chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
  now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
  sdkRoom: { wsUrl: 'ws://127.0.0.1:7880', token: 'tok' },
};

/** mulberry32: a small seeded generator, so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  '.',
  '..',
  '...',
  '/',
  '//',
  '../',
  '..\\',
  '\\',
  '%2e%2e',
  '\n',
  '\r\n',
  '\0',
  '\x7f',
  '\u0085',
  '\u2028',
  '{room_name}',
  '{publisher_identity}',
  'é',
  '😀',
  '\uD800',
  '\uDC00',
  'tmp',
  '.logs',
  ' ',
  '~',
  'EG_x',
  'capture.mp4',
];

/** A hostile value: pieces, random UTF-16 code units (lone surrogates included), random bytes, up to 4 KiB. */
function hostile(r: () => number): string {
  const n = Math.floor(r() * 12) + 1;
  let s = '';
  for (let i = 0; i < n && s.length < 4096; i++) {
    const kind = r();
    if (kind < 0.5) s += PIECES[Math.floor(r() * PIECES.length)]!;
    else if (kind < 0.75) s += String.fromCharCode(Math.floor(r() * 0x10000));
    else if (kind < 0.9)
      s += Buffer.from(Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256))).toString('latin1');
    else s += (r() < 0.5 ? '.' : '/').repeat(Math.floor(r() * 4096));
  }
  return s.slice(0, 4096);
}

const TEMPLATES = [
  '{room_name}',
  'rec/{room_name}.mp4',
  '{room_name}/{room_id}-{time}',
  '',
  'out/',
  '/srv/out/{room_name}/x',
  '/{room_name}',
];

function within(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !path.isAbsolute(rel));
}

/** The invariants of one local path a plan writes to. */
function checkPath(p: string, what: string): void {
  assert.ok(within(ROOT, p) && p !== ROOT, `${what} ${JSON.stringify(p)} is inside local_output_dir`);
  assert.ok(!within(TMP, p) && !within(LOG, p), `${what} ${JSON.stringify(p)} is outside tmp_dir and log_dir`);
  assert.equal(path.normalize(p), p, `${what} is normalised`);
  assert.doesNotMatch(p, /[\p{Cc}\u2028\u2029]|[\uD800-\uDFFF]/u, `${what} has no control characters`);
  for (const c of p.split('/'))
    assert.ok(Buffer.byteLength(c) <= NAME_MAX, `${what} component of ${Buffer.byteLength(c)} bytes`);
}

function checkPlan(plan: RecordingPlan): void {
  const o = plan.outputs;
  if (o.file) checkPath(o.file.destination, 'file');
  if (o.file?.upload) assert.ok(!o.file.upload.key.startsWith('/') && !o.file.upload.key.split('/').includes('..'));
  if (o.segments) {
    checkPath(path.join(o.segments.dir, `${o.segments.filenamePrefix}_20260102030405000.ts`), 'segment');
    checkPath(path.join(o.segments.dir, o.segments.playlistName), 'playlist');
  }
  for (const i of o.images ?? []) checkPath(path.join(i.dir, `${i.filenamePrefix}_20260102030405000.jpeg`), 'image');
}

/** Planned, or refused with invalid_argument: anything else (another error, a thrown TypeError) fails the test. */
async function planOrRefuse(req: StartRequestLike): Promise<RecordingPlan | undefined> {
  try {
    const plan = await planFromRequest(req, ctx);
    checkPlan(plan);
    return plan;
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof EgressError && err.code === 'invalid_argument', `refused with ${String(err)}`);
    return undefined;
  }
}

test('fuzzed room names, identities and track names never put an output outside local_output_dir', async () => {
  const r = rng(0x5eed);
  let planned = 0;
  const N = 3000;
  for (let i = 0; i < N; i++) {
    const room = hostile(r);
    const template = TEMPLATES[i % TEMPLATES.length]!;
    const web = await planOrRefuse({
      egressId: 'EG_fuzz',
      roomId: hostile(r),
      roomName: room,
      request: {
        case: 'web',
        value: new WebEgressRequest({
          url: 'http://127.0.0.1:8000/',
          fileOutputs: [new EncodedFileOutput({ filepath: template })],
          segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: `hls/${template}`, playlistName: '{room_name}' })],
          imageOutputs: [new ImageOutput({ filenamePrefix: template })],
        }),
      },
    });
    const participant = await planOrRefuse({
      egressId: 'EG_fuzz',
      roomId: 'RM_1',
      roomName: '',
      request: {
        case: 'participant',
        value: new ParticipantEgressRequest({
          roomName: room || 'r',
          identity: hostile(r) || 'p',
          fileOutputs: [new EncodedFileOutput({ filepath: `p/{publisher_identity}/${template}` })],
        }),
      },
    });
    const track = await planOrRefuse({
      egressId: 'EG_fuzz',
      roomId: 'RM_1',
      roomName: '',
      request: {
        case: 'track',
        value: new TrackEgressRequest({
          roomName: room || 'r',
          trackId: hostile(r) || 'TR',
          output: {
            case: 'file',
            value: new DirectFileOutput({ filepath: `t/{publisher_identity}/{track_type}-{track_source}-${template}` }),
          },
        }),
      },
    });
    if (track?.outputs.file && track.outputRoots) {
      // The recorder's late fill, with what a hostile publisher chooses.
      const late = fillTrackPath(
        track.outputs.file.filename,
        { publisherIdentity: hostile(r), trackType: 'video', trackSource: hostile(r) },
        track.outputRoots,
        'track.file.filepath',
      );
      checkPath(late.destination, 'late track file');
    }
    planned += [web, participant, track].filter(Boolean).length;
  }
  // Sanitising, not refusing, is what keeps placeholder values in: nearly every plan must go through.
  assert.ok(planned > N * 3 * 0.9, `${planned} of ${N * 3} planned`);
});
