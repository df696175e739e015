import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RoomCompositeEgressRequest, StartEgressRequest, WebEgressRequest } from '@livekit/protocol';
import { EgressError, errors } from '../errors.js';
import { encodingFromRequest } from './encoding.js';
import { assertHttpUrl } from './http-url.js';
import { listOutputs, planOutputs, unifiedOutputs, unifiedUpload } from './outputs-plan.js';
import { REQUEST_TYPES, requestRoomName, requestSource } from './request-kinds.js';
import type { StorageConfig } from '../config/schema.js';
import type { StorageDefaults } from './storage-request.js';
import type {
  ChromePlan,
  EncodingPlan,
  OutputsPlan,
  RecordingPlan,
  SdkSourcePlan,
  SessionLimitsPlan,
  WebSourcePlan,
} from './plan.js';
import { EGRESS_ID_RULE, isEgressId, scratchDir } from '../host/resource-names.js';
import { roomCompositeSource, type RoomCompositeFields } from './room-composite.js';

export { assertHttpUrl };
import { planSdkRequest, sdkRoomAudioSourcePlan, type SdkRoomContext } from './sdk-request-plan.js';

/** The parts of rpc.StartEgressRequest that decide what to record. */
export interface StartRequestLike {
  egressId: string;
  roomId: string;
  roomName: string;
  /** A recorder token and LiveKit URL the server chose; livekit-server leaves both empty. */
  token?: string;
  wsUrl?: string;
  request:
    | { case: 'web'; value: WebEgressRequest }
    | { case: 'roomComposite'; value: RoomCompositeEgressRequest }
    | { case: 'egress'; value: StartEgressRequest }
    | { case: string | undefined; value?: unknown };
}

/** What the node contributes to a plan. */
export interface PlanContext {
  tmpRoot: string;
  localOutputDir: string;
  /** Config `log_dir`: no output may be written inside it. */
  logDir?: string;
  chrome: ChromePlan;
  now?: Date;
  /** Config session_limits (ms and bytes; 0 = none). */
  limits?: SessionLimitsPlan;
  /** Config `storage:` and `disallow_local_storage`; absent: local disk. */
  storage?: StorageDefaults;
  /** Config `backup:` storage. */
  backup?: StorageConfig;
  /** The room and recorder token for requests the SDK records (sdkRoomContext mints it). */
  sdkRoom?: SdkRoomContext;
  /** What a room composite needs to join its room; without it room composites are refused. */
  room?: RoomJoinContext;
}

/** Config api_key, api_secret, ws_url and template_base: how the recorder's page joins a room. */
export interface RoomJoinContext {
  apiKey: string;
  apiSecret: string;
  wsUrl: string;
  templateBase: string;
}

/**
 * Validates a StartEgress request and builds the recorder's plan; rejects with invalid_argument naming the field.
 * Async because a room composite's recorder token is signed here.
 */
export async function planFromRequest(req: StartRequestLike, ctx: PlanContext): Promise<RecordingPlan> {
  if (!isEgressId(req.egressId)) throw errors.invalidArgument('egress_id', req.egressId, EGRESS_ID_RULE);
  const now = ctx.now ?? new Date();
  // Only the limits that are set: 0 means none.
  const limits = Object.fromEntries(
    Object.entries(ctx.limits ?? {}).filter(([, v]) => typeof v === 'number' && v > 0),
  ) as SessionLimitsPlan;
  const roots = {
    localOutputDir: ctx.localOutputDir,
    tmpDir: ctx.tmpRoot,
    ...(ctx.logDir ? { logDir: ctx.logDir } : {}),
  };
  const base = {
    egressId: req.egressId,
    tmpDir: scratchDir(ctx.tmpRoot, req.egressId),
    outputRoots: roots,
    chrome: ctx.chrome,
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
  const roomName = roomNameOf(req);
  const filename = { roomName, roomId: req.roomId, identifier: roomName || 'web', now };
  const r = req.request;
  if (r.case === undefined) throw errors.invalidArgument('request', '(none)', 'no request type set');
  if (requestSource(r) === 'sdk') {
    const plan = planSdkRequest(req, {
      base,
      filename,
      ...(ctx.storage ? { storage: ctx.storage } : {}),
      ...(ctx.sdkRoom ? { room: ctx.sdkRoom } : {}),
    });
    return { ...plan, ...backupFor(plan.outputs, ctx) };
  }
  if (r.case === 'web') {
    const web = r.value as WebEgressRequest;
    const { field } = REQUEST_TYPES.web;
    const source = webSource(web.url, web.audioOnly, web.videoOnly, web.awaitStartSignal, field);
    const outputs = planOutputs(listOutputs(web, field), source, `${field}.outputs`, { ...ctx, roots, filename });
    const encoding = encodingFromRequest(web.options, field, outputs.file?.fileType);
    return { ...base, ...backupFor(outputs, ctx), source, encoding, outputs: fitImages(outputs, encoding) };
  }
  if (r.case === 'egress') {
    const eg = r.value as StartEgressRequest;
    const source = await unifiedSource(eg, req, ctx);
    const list = unifiedOutputs(eg);
    const requestUpload = unifiedUpload(eg);
    const outputs = planOutputs(list, source, `${REQUEST_TYPES.egress.field}.outputs`, {
      ...ctx,
      roots,
      filename,
      ...requestUpload,
    });
    const encoding = encodingFromRequest(eg.encoding, REQUEST_TYPES.egress.field, outputs.file?.fileType);
    return { ...base, ...backupFor(outputs, ctx), source, encoding, outputs: fitImages(outputs, encoding) };
  }
  if (r.case === 'roomComposite') {
    const rc = r.value as RoomCompositeEgressRequest;
    const { field } = REQUEST_TYPES.roomComposite;
    const source = await templateSource(rc, req, ctx, field);
    const outputs = planOutputs(listOutputs(rc, field), source, `${field}.outputs`, { ...ctx, roots, filename });
    const encoding = encodingFromRequest(rc.options, field, outputs.file?.fileType);
    return { ...base, ...backupFor(outputs, ctx), source, encoding, outputs: fitImages(outputs, encoding) };
  }
  throw new EgressError('unimplemented', `request: ${r.case} egress is not supported`);
}

/** The room a request records: its own room_name, else the rpc request's. */
export function roomNameOf(req: StartRequestLike): string {
  return requestRoomName(req.request, req.roomName);
}

/** The config's backup storage goes with a plan that uploads anything (local delivery has no backup). */
function backupFor(outputs: OutputsPlan, ctx: PlanContext): { backup?: StorageConfig } {
  const uploads = !!outputs.file?.upload || !!outputs.segments?.upload || !!outputs.images?.some((i) => i.upload);
  return uploads && ctx.backup ? { backup: ctx.backup } : {};
}

/** The unified request's web or template source (the SDK planner records a MediaSource). */
async function unifiedSource(
  eg: StartEgressRequest,
  req: StartRequestLike,
  ctx: PlanContext,
): Promise<WebSourcePlan | SdkSourcePlan> {
  if (eg.source.case === 'web') {
    const w = eg.source.value;
    return webSource(w.url, w.audioOnly, w.videoOnly, w.awaitStartSignal, 'egress.web');
  }
  if (eg.source.case === 'template') return templateSource(eg.source.value, req, ctx, 'egress.template');
  throw new EgressError(
    'unimplemented',
    `egress.source: ${eg.source.case ?? '(none)'} sources are not supported; only web, template and media are`,
  );
}

/**
 * A room composite as a web page: the template (or custom_base_url) joins the room as the hidden recorder and
 * prints START_RECORDING once media plays. Audio only without a layout or custom base URL is recorded without a
 * browser, as upstream: the recorder joins the room itself and mixes every audio track (much cheaper).
 */
async function templateSource(
  fields: RoomCompositeFields,
  req: StartRequestLike,
  ctx: PlanContext,
  field: string,
): Promise<WebSourcePlan | SdkSourcePlan> {
  const room = ctx.room;
  if (!room)
    throw errors.internal(`${field}: this node has no api_key, api_secret, ws_url and template_base to join rooms`);
  const source = await roomCompositeSource(
    fields,
    {
      egressId: req.egressId,
      roomName: roomNameOf(req),
      apiKey: room.apiKey,
      apiSecret: room.apiSecret,
      wsUrl: req.wsUrl || room.wsUrl,
      templateBase: room.templateBase,
      ...(req.token ? { token: req.token } : {}),
    },
    field,
  );
  if (source.kind === 'sdk-audio') return sdkRoomAudioSourcePlan(roomNameOf(req), source);
  return {
    kind: 'web',
    url: source.url,
    audioOnly: source.audioOnly,
    videoOnly: source.videoOnly,
    awaitStartSignal: true,
  };
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
