/**
 * The whole IPC vocabulary between the supervisor and one recorder child (Node's fork channel, JSON).
 * Every message is validated on receipt with the parsers below: a child is a separate process and may
 * be buggy or half-dead, so nothing it says is trusted by shape alone.
 */
import {
  FILE_TYPE_NAMES,
  type FileResult,
  type FileType,
  type ImageEntry,
  type ImagesResult,
  type RecordingPlan,
  type SegmentEntry,
  type SegmentsResult,
  type StreamResult,
} from '../egress/plan.js';
import { errors, isErrorCode, type ErrorCode } from '../errors.js';

/** The track a track egress records, as the room lists it (the manifest names it). */
export interface RecordedTrack {
  kind: 'audio' | 'video';
  /** Its publisher, and its source in upstream's words (camera, microphone, screen_share...), when listed. */
  identity?: string;
  source?: string;
}

/** Lifecycle states of one egress, as the recorder and supervisor name them. */
export type LifecycleState =
  | 'starting'
  | 'active'
  | 'ending'
  | 'complete'
  | 'failed'
  | 'aborted'
  /** A session limit (duration or size) ended it; its outputs are finalized like a stop's. */
  | 'limit_reached';

export const TERMINAL_STATES: readonly LifecycleState[] = ['complete', 'failed', 'aborted', 'limit_reached'];

/** Supervisor -> recorder. */
export type ParentCommand =
  | { type: 'start'; plan: RecordingPlan }
  | { type: 'stop'; reason: string }
  | { type: 'ping' }
  /** Asks for the recorder's own Prometheus metrics, answered by a `metrics` event. */
  | { type: 'metrics' }
  /** UpdateStream: add and remove stream URLs; answered by an `update_stream_result` event with the same id. */
  | { type: 'update_stream'; requestId: string; add: string[]; remove: string[] };

/** Why the recording stopped, in upstream's "End reason" words when it ends normally. */
export interface EndInfo {
  state: Extract<LifecycleState, 'complete' | 'failed' | 'aborted' | 'limit_reached'>;
  /** Human text: "End reason: StopEgress API", or the failure. */
  details: string;
  error?: { code: ErrorCode; message: string };
  files: FileResult[];
  streams?: StreamResult[];
  segments?: SegmentsResult[];
  images?: ImagesResult[];
  /** Local paths of files no storage took: the scratch dir that holds them must be kept. */
  kept?: string[];
  startedAt?: number;
  endedAt: number;
  /**
   * The failure was one of the recorder's own processes dying (Chromium, gst-launch, Xvfb), not the
   * request: a fresh recorder can carry on.
   */
  restartable?: boolean;
}

/** Recorder -> supervisor. */
export type ChildEvent =
  | { type: 'ready'; pid: number }
  | { type: 'active'; startedAt: number }
  | { type: 'ending'; reason: string }
  | { type: 'ended'; info: EndInfo }
  | { type: 'pong' }
  /** The recorder's registry in Prometheus text exposition. */
  | { type: 'metrics'; text: string }
  /** Results of stream, segment and image outputs changed (a stream connected or failed, a segment closed...). */
  | { type: 'progress'; streams: StreamResult[]; segments: SegmentsResult[]; images: ImagesResult[] }
  /** A segment was delivered; a restarted recorder continues the playlist after it. */
  | { type: 'segment'; entry: SegmentEntry }
  /** An image of image output `output` was delivered (for the manifest). */
  | { type: 'image'; output: number; entry: ImageEntry }
  /**
   * A track egress found its track: the file it writes (container picked by the track's kind, placeholders
   * filled) and its upload key. The supervisor salvages that file if the recorder dies.
   */
  | {
      type: 'track_file';
      fileType: FileType;
      filename: string;
      destination: string;
      key?: string;
      track: RecordedTrack;
    }
  | {
      type: 'update_stream_result';
      requestId: string;
      error?: { code: ErrorCode; message: string };
      streams: StreamResult[];
    };

/** A child's metrics text beyond this is refused: a scrape must not be a way to exhaust the supervisor. */
export const MAX_METRICS_TEXT = 256 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const str = (v: unknown): v is string => typeof v === 'string';

function parseFileResult(v: unknown, at: string): FileResult {
  if (!isObject(v)) throw errors.malformedRequest(`${at}: not an object`);
  for (const k of ['filename', 'location'] as const) {
    if (!str(v[k])) throw errors.malformedRequest(`${at}.${k}: not a string`);
  }
  for (const k of ['size', 'durationMs', 'startedAt', 'endedAt'] as const) {
    if (!num(v[k])) throw errors.malformedRequest(`${at}.${k}: not a number`);
  }
  if (v.backupUsed !== undefined && typeof v.backupUsed !== 'boolean') {
    throw errors.malformedRequest(`${at}.backupUsed: not a boolean`);
  }
  return v as unknown as FileResult;
}

const STREAM_STATUSES = ['active', 'finished', 'failed'];

function parseStreamResult(v: unknown, at: string): StreamResult {
  if (!isObject(v) || !str(v.url)) throw errors.malformedRequest(`${at}.url: not a string`);
  if (!str(v.status) || !STREAM_STATUSES.includes(v.status)) throw errors.malformedRequest(`${at}.status: unknown`);
  if (!num(v.retries)) throw errors.malformedRequest(`${at}.retries: not a number`);
  for (const k of ['startedAt', 'endedAt', 'lastRetryAt'] as const) {
    if (v[k] !== undefined && !num(v[k])) throw errors.malformedRequest(`${at}.${k}: not a number`);
  }
  if (v.error !== undefined && !str(v.error)) throw errors.malformedRequest(`${at}.error: not a string`);
  return v as unknown as StreamResult;
}

function parseSegmentsResult(v: unknown, at: string): SegmentsResult {
  if (!isObject(v)) throw errors.malformedRequest(`${at}: not an object`);
  for (const k of ['playlistName', 'playlistLocation'] as const) {
    if (!str(v[k])) throw errors.malformedRequest(`${at}.${k}: not a string`);
  }
  for (const k of ['durationMs', 'size', 'segmentCount', 'startedAt', 'endedAt'] as const) {
    if (!num(v[k])) throw errors.malformedRequest(`${at}.${k}: not a number`);
  }
  return v as unknown as SegmentsResult;
}

function parseImagesResult(v: unknown, at: string): ImagesResult {
  if (!isObject(v) || !str(v.filenamePrefix)) throw errors.malformedRequest(`${at}.filenamePrefix: not a string`);
  for (const k of ['imageCount', 'startedAt', 'endedAt'] as const) {
    if (!num(v[k])) throw errors.malformedRequest(`${at}.${k}: not a number`);
  }
  return v as unknown as ImagesResult;
}

function parseList<T>(v: unknown, at: string, item: (x: unknown, at: string) => T): T[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw errors.malformedRequest(`${at}: not an array`);
  return v.map((x, i) => item(x, `${at}[${i}]`));
}

function parseError(v: unknown, at: string): { code: ErrorCode; message: string } {
  if (!isObject(v) || !isErrorCode(v.code) || !str(v.message)) {
    throw errors.malformedRequest(`${at}: needs a known code and a message`);
  }
  return { code: v.code, message: v.message };
}

/** Validates a message from a child; throws malformed_request naming the bad field. */
export function parseChildEvent(v: unknown): ChildEvent {
  if (!isObject(v) || !str(v.type)) throw errors.malformedRequest('child message: missing type');
  switch (v.type) {
    case 'ready':
      if (!num(v.pid)) throw errors.malformedRequest('ready.pid: not a number');
      return { type: 'ready', pid: v.pid };
    case 'active':
      if (!num(v.startedAt)) throw errors.malformedRequest('active.startedAt: not a number');
      return { type: 'active', startedAt: v.startedAt };
    case 'ending':
      if (!str(v.reason)) throw errors.malformedRequest('ending.reason: not a string');
      return { type: 'ending', reason: v.reason };
    case 'pong':
      return { type: 'pong' };
    case 'metrics':
      if (!str(v.text)) throw errors.malformedRequest('metrics.text: not a string');
      if (v.text.length > MAX_METRICS_TEXT) {
        throw errors.malformedRequest(`metrics.text: ${v.text.length} characters, over ${MAX_METRICS_TEXT}`);
      }
      return { type: 'metrics', text: v.text };
    case 'progress':
      return {
        type: 'progress',
        streams: parseList(v.streams, 'progress.streams', parseStreamResult),
        segments: parseList(v.segments, 'progress.segments', parseSegmentsResult),
        images: parseList(v.images, 'progress.images', parseImagesResult),
      };
    case 'segment': {
      const e = v.entry;
      if (!isObject(e) || !str(e.filename) || !num(e.durationSec) || !num(e.startedAt) || !num(e.size)) {
        throw errors.malformedRequest('segment.entry: needs filename, durationSec, startedAt and size');
      }
      return {
        type: 'segment',
        entry: {
          filename: e.filename,
          durationSec: e.durationSec,
          startedAt: e.startedAt,
          size: e.size,
          ...(e.discontinuity === true ? { discontinuity: true } : {}),
        },
      };
    }
    case 'track_file': {
      if (!str(v.fileType) || !(FILE_TYPE_NAMES as readonly string[]).includes(v.fileType)) {
        throw errors.malformedRequest(
          `track_file.fileType: ${JSON.stringify(v.fileType)} is not one of ${FILE_TYPE_NAMES.join(', ')}`,
        );
      }
      if (!str(v.filename) || v.filename === '') {
        throw errors.malformedRequest(`track_file.filename: ${JSON.stringify(v.filename)} is not a file name`);
      }
      if (!str(v.destination) || !v.destination.startsWith('/')) {
        throw errors.malformedRequest(
          `track_file.destination: ${JSON.stringify(v.destination)} is not an absolute path`,
        );
      }
      if (v.key !== undefined && !str(v.key)) throw errors.malformedRequest('track_file.key: not a string');
      const t = v.track;
      if (!isObject(t) || (t.kind !== 'audio' && t.kind !== 'video')) {
        throw errors.malformedRequest(
          `track_file.track.kind: ${JSON.stringify(isObject(t) ? t.kind : t)} is not audio or video`,
        );
      }
      for (const f of ['identity', 'source'] as const) {
        if (t[f] !== undefined && !str(t[f])) throw errors.malformedRequest(`track_file.track.${f}: not a string`);
      }
      return {
        type: 'track_file',
        fileType: v.fileType as FileType,
        filename: v.filename,
        destination: v.destination,
        ...(v.key !== undefined ? { key: v.key } : {}),
        track: {
          kind: t.kind,
          ...(t.identity !== undefined ? { identity: t.identity as string } : {}),
          ...(t.source !== undefined ? { source: t.source as string } : {}),
        },
      };
    }
    case 'image': {
      const e = v.entry;
      if (!num(v.output) || !isObject(e) || !str(e.filename) || !str(e.location) || !num(e.timestamp)) {
        throw errors.malformedRequest('image: needs output, and an entry with filename, location and timestamp');
      }
      return {
        type: 'image',
        output: v.output,
        entry: { filename: e.filename, location: e.location, timestamp: e.timestamp },
      };
    }
    case 'update_stream_result':
      if (!str(v.requestId)) throw errors.malformedRequest('update_stream_result.requestId: not a string');
      return {
        type: 'update_stream_result',
        requestId: v.requestId,
        streams: parseList(v.streams, 'update_stream_result.streams', parseStreamResult),
        ...(v.error !== undefined ? { error: parseError(v.error, 'update_stream_result.error') } : {}),
      };
    case 'ended': {
      const info = v.info;
      if (!isObject(info)) throw errors.malformedRequest('ended.info: not an object');
      if (!str(info.state) || !['complete', 'failed', 'aborted', 'limit_reached'].includes(info.state)) {
        throw errors.malformedRequest(`ended.info.state: unknown state ${JSON.stringify(info.state)}`);
      }
      if (!str(info.details)) throw errors.malformedRequest('ended.info.details: not a string');
      if (!num(info.endedAt)) throw errors.malformedRequest('ended.info.endedAt: not a number');
      if (info.restartable !== undefined && typeof info.restartable !== 'boolean') {
        throw errors.malformedRequest('ended.info.restartable: not a boolean');
      }
      if (info.startedAt !== undefined && !num(info.startedAt)) {
        throw errors.malformedRequest('ended.info.startedAt: not a number');
      }
      if (!Array.isArray(info.files)) throw errors.malformedRequest('ended.info.files: not an array');
      const files = info.files.map((f, i) => parseFileResult(f, `ended.info.files[${i}]`));
      const streams = parseList(info.streams, 'ended.info.streams', parseStreamResult);
      const segments = parseList(info.segments, 'ended.info.segments', parseSegmentsResult);
      const images = parseList(info.images, 'ended.info.images', parseImagesResult);
      const error = info.error !== undefined ? parseError(info.error, 'ended.info.error') : undefined;
      const kept = parseList(info.kept, 'ended.info.kept', (x, at) => {
        if (!str(x)) throw errors.malformedRequest(`${at}: not a string`);
        return x;
      });
      return {
        type: 'ended',
        info: {
          state: info.state as EndInfo['state'],
          details: info.details,
          files,
          ...(streams.length ? { streams } : {}),
          ...(segments.length ? { segments } : {}),
          ...(images.length ? { images } : {}),
          ...(kept.length ? { kept } : {}),
          endedAt: info.endedAt,
          ...(info.startedAt !== undefined ? { startedAt: info.startedAt as number } : {}),
          ...(error ? { error } : {}),
          ...(info.restartable === true ? { restartable: true } : {}),
        },
      };
    }
    default:
      throw errors.malformedRequest(`child message: unknown type ${JSON.stringify(v.type)}`);
  }
}

/** Validates a command from the supervisor (the plan itself was validated where it was built). */
export function parseParentCommand(v: unknown): ParentCommand {
  if (!isObject(v) || !str(v.type)) throw errors.malformedRequest('parent message: missing type');
  switch (v.type) {
    case 'start':
      if (!isObject(v.plan) || !str(v.plan.egressId)) throw errors.malformedRequest('start.plan: missing egressId');
      return { type: 'start', plan: v.plan as unknown as RecordingPlan };
    case 'stop':
      if (!str(v.reason)) throw errors.malformedRequest('stop.reason: not a string');
      return { type: 'stop', reason: v.reason };
    case 'ping':
      return { type: 'ping' };
    case 'metrics':
      return { type: 'metrics' };
    case 'update_stream': {
      const urls = (x: unknown, at: string): string[] => {
        if (!Array.isArray(x) || !x.every(str)) throw errors.malformedRequest(`${at}: not a list of strings`);
        return x;
      };
      if (!str(v.requestId)) throw errors.malformedRequest('update_stream.requestId: not a string');
      return {
        type: 'update_stream',
        requestId: v.requestId,
        add: urls(v.add, 'update_stream.add'),
        remove: urls(v.remove, 'update_stream.remove'),
      };
    }
    default:
      throw errors.malformedRequest(`parent message: unknown type ${JSON.stringify(v.type)}`);
  }
}
