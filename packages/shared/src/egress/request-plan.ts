import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StartEgressRequest, WebEgressRequest } from '@livekit/protocol';
import { EgressError, errors } from '../errors.js';
import { encodingFromRequest } from './encoding.js';
import { planOutputs, rejectUploads, type RequestOutput } from './outputs-plan.js';
import type { ChromePlan, EncodingPlan, OutputsPlan, RecordingPlan, SessionLimitsPlan, WebSourcePlan } from './plan.js';
import { planSdkRequest, sdkRoomName, type SdkRoomContext } from './sdk-request-plan.js';

/** The parts of rpc.StartEgressRequest that decide what to record. */
export interface StartRequestLike {
  egressId: string;
  roomId: string;
  roomName: string;
  request:
    | { case: 'web'; value: WebEgressRequest }
    | { case: 'egress'; value: StartEgressRequest }
    | { case: string | undefined; value?: unknown };
}

/** What the node contributes to a plan. */
export interface PlanContext {
  tmpRoot: string;
  localOutputDir: string;
  chrome: ChromePlan;
  now?: Date;
  /** Config session_limits (ms and bytes; 0 = none). */
  limits?: SessionLimitsPlan;
  /** The room and recorder token for requests the SDK records (sdkRoomContext mints it). */
  room?: SdkRoomContext;
}

const EGRESS_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Validates a StartEgress request and builds the recorder's plan; throws invalid_argument naming the field. */
export function planFromRequest(req: StartRequestLike, ctx: PlanContext): RecordingPlan {
  if (!EGRESS_ID.test(req.egressId)) {
    throw errors.invalidArgument('egress_id', req.egressId, 'must be 1-64 letters, digits, "_" or "-"');
  }
  const now = ctx.now ?? new Date();
  // Only the limits that are set: 0 means none.
  const limits = Object.fromEntries(
    Object.entries(ctx.limits ?? {}).filter(([, v]) => typeof v === 'number' && v > 0),
  ) as SessionLimitsPlan;
  const base = {
    egressId: req.egressId,
    tmpDir: path.join(ctx.tmpRoot, req.egressId),
    chrome: ctx.chrome,
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
  const filename = { roomName: req.roomName, roomId: req.roomId, identifier: req.roomName || 'web', now };
  const r = req.request;
  if (sdkRoomName(req) !== undefined) {
    return planSdkRequest(req, { base, filename, localOutputDir: ctx.localOutputDir, room: ctx.room });
  }
  if (r.case === 'web') {
    const web = r.value as WebEgressRequest;
    const source = webSource(web.url, web.audioOnly, web.videoOnly, web.awaitStartSignal, 'web');
    const outputs = planOutputs(webOutputs(web), source, 'web.outputs', { ...ctx, filename });
    const encoding = encodingFromRequest(web.options, 'web', outputs.file?.fileType);
    return { ...base, source, encoding, outputs: fitImages(outputs, encoding) };
  }
  if (r.case === 'egress') {
    const eg = r.value as StartEgressRequest;
    if (eg.source.case !== 'web') {
      throw new EgressError(
        'unimplemented',
        `egress.source: ${eg.source.case ?? '(none)'} sources are not supported yet; only web is`,
      );
    }
    const w = eg.source.value;
    const source = webSource(w.url, w.audioOnly, w.videoOnly, w.awaitStartSignal, 'egress.web');
    const list: RequestOutput[] = eg.outputs.map((o, i) => {
      const at = `egress.outputs[${i}]`;
      rejectUploads(o.storage, `${at}.storage`);
      switch (o.config.case) {
        case 'file':
          return { kind: 'file', value: o.config.value, at: `${at}.file` };
        case 'stream':
          return { kind: 'stream', value: o.config.value, at: `${at}.stream` };
        case 'segments':
          return { kind: 'segments', value: o.config.value, at: `${at}.segments` };
        case 'images':
          return { kind: 'images', value: o.config.value, at: `${at}.images` };
        default:
          throw errors.invalidArgument(at, '(empty)', 'output has no config');
      }
    });
    rejectUploads(eg.storage, 'egress.storage');
    const outputs = planOutputs(list, source, 'egress.outputs', { ...ctx, filename });
    const encoding = encodingFromRequest(eg.encoding, 'egress', outputs.file?.fileType);
    return { ...base, source, encoding, outputs: fitImages(outputs, encoding) };
  }
  if (r.case === undefined) throw errors.invalidArgument('request', '(none)', 'no request type set');
  throw new EgressError('unimplemented', `request: ${r.case} egress is not supported yet; only web is`);
}

/** A web request's outputs; SDKs fill both the deprecated single output and the lists, and the lists win. */
function webOutputs(web: WebEgressRequest): RequestOutput[] {
  const lists: RequestOutput[] = [
    ...web.fileOutputs.map((value, i) => ({ kind: 'file' as const, value, at: `web.file_outputs[${i}]` })),
    ...web.streamOutputs.map((value, i) => ({ kind: 'stream' as const, value, at: `web.stream_outputs[${i}]` })),
    ...web.segmentOutputs.map((value, i) => ({ kind: 'segments' as const, value, at: `web.segment_outputs[${i}]` })),
    ...web.imageOutputs.map((value, i) => ({ kind: 'images' as const, value, at: `web.image_outputs[${i}]` })),
  ];
  if (lists.length > 0) return lists;
  const o = web.output;
  if (o.case === 'file') return [{ kind: 'file', value: o.value, at: 'web.file' }];
  if (o.case === 'stream') return [{ kind: 'stream', value: o.value, at: 'web.stream' }];
  if (o.case === 'segments') return [{ kind: 'segments', value: o.value, at: 'web.segments' }];
  return [];
}

/** Images default to the capture size, which only the encoding knows once presets are applied. */
function fitImages(outputs: OutputsPlan, encoding: EncodingPlan): OutputsPlan {
  if (!outputs.images) return outputs;
  return {
    ...outputs,
    images: outputs.images.map((i) => ({
      ...i,
      width: i.width || encoding.width,
      height: i.height || encoding.height,
    })),
  };
}

/** Only http(s) pages are recorded: file:, data: or chrome: URLs would expose the recorder's own machine. */
export function assertHttpUrl(url: string, field: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw errors.invalidArgument(field, url, 'must be an http(s) URL');
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw errors.invalidArgument(field, url, 'must be an http(s) URL');
}

function webSource(url: string, audioOnly: boolean, videoOnly: boolean, awaitStart: boolean, field: string) {
  assertHttpUrl(url, `${field}.url`);
  if (audioOnly && videoOnly) {
    throw errors.invalidArgument(`${field}.audio_only`, true, 'audio_only and video_only cannot both be set');
  }
  const source: WebSourcePlan = { kind: 'web', url, audioOnly, videoOnly, awaitStartSignal: awaitStart };
  return source;
}

/**
 * Checks that the file's destination can be created, before anything starts, by finding the nearest
 * existing ancestor directory and testing write access there.
 */
export async function assertDestinationWritable(destination: string, field: string): Promise<void> {
  let dir = path.dirname(destination);
  for (;;) {
    try {
      const s = await stat(dir);
      if (!s.isDirectory()) throw errors.invalidArgument(field, destination, `${dir} is not a directory`);
      break;
    } catch (err) {
      if (err instanceof EgressError) throw err;
      const parent = path.dirname(dir);
      if (parent === dir) throw errors.invalidArgument(field, destination, 'no existing parent directory');
      dir = parent;
    }
  }
  // A real write probe, because access(2) says yes to root even where writes fail (read-only mounts, /proc).
  const probe = path.join(dir, `.egress-write-probe-${randomUUID()}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
    await rm(probe, { force: true });
  } catch {
    throw errors.invalidArgument(field, destination, `directory ${dir} is not writable`);
  }
  try {
    const s = await stat(destination);
    if (s.isDirectory()) throw errors.invalidArgument(field, destination, 'is a directory');
    await access(destination, constants.W_OK);
  } catch (err) {
    if (err instanceof EgressError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw errors.invalidArgument(field, destination, 'exists and is not writable');
    }
  }
}
