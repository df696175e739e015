import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  EncodedFileType,
  type EncodedFileOutput,
  type FileOutput,
  type StartEgressRequest,
  type StorageConfig,
  type WebEgressRequest,
} from '@livekit/protocol';
import { EgressError, errors } from '../errors.js';
import { encodingFromRequest } from './encoding.js';
import { expandFilepath } from './filename.js';
import type { ChromePlan, FileOutputPlan, FileType, RecordingPlan, SessionLimitsPlan, WebSourcePlan } from './plan.js';

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
  limits?: { fileMaxDurationMs: number; fileMaxBytes: number };
}

const EGRESS_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Validates a StartEgress request and builds the recorder's plan; throws invalid_argument naming the field. */
export function planFromRequest(req: StartRequestLike, ctx: PlanContext): RecordingPlan {
  if (!EGRESS_ID.test(req.egressId)) {
    throw errors.invalidArgument('egress_id', req.egressId, 'must be 1-64 letters, digits, "_" or "-"');
  }
  const now = ctx.now ?? new Date();
  const limits: SessionLimitsPlan = {
    ...(ctx.limits?.fileMaxDurationMs ? { fileMaxDurationMs: ctx.limits.fileMaxDurationMs } : {}),
    ...(ctx.limits?.fileMaxBytes ? { fileMaxBytes: ctx.limits.fileMaxBytes } : {}),
  };
  const base = {
    egressId: req.egressId,
    tmpDir: path.join(ctx.tmpRoot, req.egressId),
    chrome: ctx.chrome,
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
  const r = req.request;
  if (r.case === 'web') {
    const web = r.value as WebEgressRequest;
    const source = webSource(web.url, web.audioOnly, web.videoOnly, web.awaitStartSignal, 'web');
    // SDKs fill both the deprecated single output and the lists; as upstream, the lists win when set.
    const lists =
      web.fileOutputs.length + web.streamOutputs.length + web.segmentOutputs.length + web.imageOutputs.length;
    const legacy = lists === 0 ? web.output.case : undefined;
    const files = legacy === 'file' ? [web.output.value as EncodedFileOutput] : web.fileOutputs;
    rejectUnsupportedOutputs('web', {
      stream: legacy === 'stream' || web.streamOutputs.length > 0,
      segments: legacy === 'segments' || web.segmentOutputs.length > 0,
      images: web.imageOutputs.length > 0,
    });
    const file = singleFile(files, 'web.file_outputs', source, req, now, ctx);
    return { ...base, source, encoding: encodingFromRequest(web.options, 'web', file.fileType), outputs: { file } };
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
    const files: FileOutput[] = [];
    eg.outputs.forEach((o, i) => {
      if (o.config.case === 'file') files.push(o.config.value);
      else if (o.config.case) {
        throw new EgressError('unimplemented', `egress.outputs[${i}]: ${o.config.case} outputs are not supported yet`);
      } else throw errors.invalidArgument(`egress.outputs[${i}]`, '(empty)', 'output has no config');
      rejectUploads(o.storage, `egress.outputs[${i}].storage`);
    });
    rejectUploads(eg.storage, 'egress.storage');
    const file = singleFile(files, 'egress.outputs', source, req, now, ctx);
    return { ...base, source, encoding: encodingFromRequest(eg.encoding, 'egress', file.fileType), outputs: { file } };
  }
  if (r.case === undefined) throw errors.invalidArgument('request', '(none)', 'no request type set');
  throw new EgressError('unimplemented', `request: ${r.case} egress is not supported yet; only web is`);
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

function rejectUnsupportedOutputs(field: string, kinds: Record<string, boolean>): void {
  for (const [kind, present] of Object.entries(kinds)) {
    if (present) throw new EgressError('unimplemented', `${field}: ${kind} outputs are not supported yet`);
  }
}

function rejectUploads(storage: StorageConfig | undefined, field: string): void {
  if (storage?.provider.case) {
    throw new EgressError('unimplemented', `${field}: ${storage.provider.case} upload is not supported yet`);
  }
}

const FILE_TYPES: Partial<Record<EncodedFileType, FileType>> = {
  [EncodedFileType.MP4]: 'mp4',
  [EncodedFileType.OGG]: 'ogg',
  [EncodedFileType.MP3]: 'mp3',
};

/**
 * The container of a file output: the requested one, or upstream's default (OGG for audio only, MP4 with
 * video). OGG and MP3 hold audio only.
 */
function fileTypeOf(f: EncodedFileOutput | FileOutput, source: WebSourcePlan, at: string): FileType {
  if (f.fileType === EncodedFileType.DEFAULT_FILETYPE) return source.audioOnly ? 'ogg' : 'mp4';
  const type = FILE_TYPES[f.fileType];
  const name = EncodedFileType[f.fileType] ?? f.fileType;
  if (!type) throw errors.invalidArgument(`${at}.file_type`, name, 'unknown file type; use MP4, OGG or MP3');
  if (type !== 'mp4' && !source.audioOnly) {
    throw errors.invalidArgument(`${at}.file_type`, name, `${name} holds audio only; set audio_only or use MP4`);
  }
  return type;
}

function singleFile(
  files: (EncodedFileOutput | FileOutput)[],
  field: string,
  source: WebSourcePlan,
  req: StartRequestLike,
  now: Date,
  ctx: PlanContext,
): FileOutputPlan {
  if (files.length === 0) throw errors.invalidArgument(field, [], 'at least one output is required');
  if (files.length > 1) throw errors.invalidArgument(field, files.length, 'at most one file output is allowed');
  const f = files[0]!;
  const at = `${field}[0]`;
  const fileType = fileTypeOf(f, source, at);
  if ('output' in f) rejectUploads({ provider: f.output } as StorageConfig, `${at}.output`);
  if (f.filepath.includes('\0')) throw errors.invalidArgument(`${at}.filepath`, f.filepath, 'contains a NUL byte');
  const rel = expandFilepath(f.filepath, `.${fileType}`, {
    roomName: req.roomName,
    roomId: req.roomId,
    identifier: req.roomName || 'web',
    now,
  });
  return { fileType, destination: path.resolve(ctx.localOutputDir, rel), manifest: !f.disableManifest };
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
