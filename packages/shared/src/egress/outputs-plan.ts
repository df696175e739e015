/**
 * The outputs of a request (file, stream, segments, images), validated and turned into OutputsPlan. Field names
 * in errors are the request's own (web.stream_outputs[0].urls[1], egress.outputs[2].segments...).
 */
import path from 'node:path';
import {
  EncodedFileType,
  ImageCodec,
  ImageFileSuffix,
  SegmentedFileProtocol,
  SegmentedFileSuffix,
  StreamProtocol,
  type EncodedFileOutput,
  type FileOutput,
  type ImageOutput,
  type SegmentedFileOutput,
  type StartEgressRequest,
  type StreamOutput,
} from '@livekit/protocol';
import { errors } from '../errors.js';
import { resolveFilepath, type FilenameContext } from './filename.js';
import type { OutputRoots } from './safe-path.js';
import type {
  FileOutputPlan,
  FileType,
  UploadPlan,
  ImageOutputPlan,
  OutputsPlan,
  SegmentsOutputPlan,
  StreamOutputPlan,
} from './plan.js';
import { normalizeStreamUrl, redactStreamUrl, streamProtocolOf, type StreamProtocolName } from './stream-url.js';
import { isLocalStorage, resolveOutputStorage, type StorageDefaults, type UploadProvider } from './storage-request.js';

/** One output of a request, with the field path errors should name. */
export type RequestOutput = (
  | { kind: 'file'; value: EncodedFileOutput | FileOutput }
  | { kind: 'stream'; value: StreamOutput }
  | { kind: 'segments'; value: SegmentedFileOutput }
  | { kind: 'images'; value: ImageOutput }
) & {
  at: string;
  /** v2: the Output's own `storage` (v1 outputs carry theirs in `output`). */
  storage?: { provider: UploadProvider; field: string };
};

/** What the outputs need to know of the source. */
export type OutputsSource = { audioOnly: boolean };

export interface OutputsContext {
  /** Where local outputs may go, and where they may not. */
  roots: OutputRoots;
  filename: FilenameContext;
  /** The config's storage defaults; absent means local disk for every output without its own upload. */
  storage?: StorageDefaults;
  /** The request-level upload config (v2 StartEgressRequest.storage) and its field. */
  requestUpload?: { provider: UploadProvider; field: string };
}

/** Upstream's limits: one file, one stream output (of many URLs), one segments output, any number of images. */
export function planOutputs(
  outputs: RequestOutput[],
  source: OutputsSource,
  field: string,
  ctx: OutputsContext,
): OutputsPlan {
  if (outputs.length === 0) throw errors.invalidArgument(field, [], 'at least one output is required');
  const plan: OutputsPlan = {};
  const once = (kind: string, at: string, present: unknown) => {
    if (present) throw errors.invalidArgument(at, kind, `at most one ${kind} output is allowed`);
  };
  for (const o of outputs) {
    switch (o.kind) {
      case 'file':
        once('file', o.at, plan.file);
        plan.file = filePlan(o, source, ctx);
        break;
      case 'stream':
        once('stream', o.at, plan.stream);
        plan.stream = streamPlan(o.value, o.at);
        break;
      case 'segments':
        once('segments', o.at, plan.segments);
        plan.segments = segmentsPlan(o, ctx);
        break;
      case 'images':
        (plan.images ??= []).push(imagesPlan(o, ctx));
        break;
    }
  }
  if (plan.images && source.audioOnly) {
    throw errors.invalidArgument(`${field}`, 'images', 'image outputs need video; audio_only is set');
  }
  return plan;
}

/**
 * Where an output goes: its own upload config (v1 `output`, v2 `Output.storage`), else the request's, else the
 * config's storage; undefined for local disk. `key` is the object key (or key directory).
 */
function uploadOf(
  o: { at: string; storage?: { provider: UploadProvider; field: string } },
  own: UploadProvider | undefined,
  key: string,
  ctx: OutputsContext,
): UploadPlan | undefined {
  const output = own?.case ? { provider: own, field: `${o.at}.output` } : o.storage;
  const storage = resolveOutputStorage(
    {
      outputField: o.at,
      ...(output ? { output: output.provider, outputUploadField: output.field } : {}),
      ...(ctx.requestUpload ? { request: ctx.requestUpload.provider, requestField: ctx.requestUpload.field } : {}),
    },
    ctx.storage ?? { disallow_local_storage: false },
  );
  return isLocalStorage(storage) ? undefined : { storage, key };
}

const FILE_TYPES: Partial<Record<EncodedFileType, FileType>> = {
  [EncodedFileType.MP4]: 'mp4',
  [EncodedFileType.OGG]: 'ogg',
  [EncodedFileType.MP3]: 'mp3',
};

/** The container: the requested one, or upstream's default (OGG for audio only, MP4 with video). */
function fileTypeOf(f: EncodedFileOutput | FileOutput, source: OutputsSource, at: string): FileType {
  if (f.fileType === EncodedFileType.DEFAULT_FILETYPE) return source.audioOnly ? 'ogg' : 'mp4';
  const type = FILE_TYPES[f.fileType];
  const name = EncodedFileType[f.fileType] ?? f.fileType;
  if (!type) throw errors.invalidArgument(`${at}.file_type`, name, 'unknown file type; use MP4, OGG or MP3');
  if (type !== 'mp4' && !source.audioOnly) {
    throw errors.invalidArgument(`${at}.file_type`, name, `${name} holds audio only; set audio_only or use MP4`);
  }
  return type;
}

function filePlan(
  o: Extract<RequestOutput, { kind: 'file' }>,
  source: OutputsSource,
  ctx: OutputsContext,
): FileOutputPlan {
  const { value: f, at } = o;
  const fileType = fileTypeOf(f, source, at);
  const r = resolveFilepath(f.filepath, `.${fileType}`, ctx.filename, ctx.roots, `${at}.filepath`);
  const upload = uploadOf(o, 'output' in f ? f.output : undefined, r.key, ctx);
  return {
    fileType,
    filename: r.filename,
    destination: r.destination,
    manifest: !f.disableManifest,
    ...(upload ? { upload } : {}),
  };
}

const STREAM_PROTOCOLS: Partial<Record<StreamProtocol, StreamProtocolName>> = {
  [StreamProtocol.RTMP]: 'rtmp',
  [StreamProtocol.SRT]: 'srt',
};

function streamPlan(s: StreamOutput, at: string): StreamOutputPlan {
  if (s.protocol === StreamProtocol.WEBSOCKET) {
    throw errors.invalidArgument(`${at}.protocol`, 'WEBSOCKET', 'websocket output is for track egress only');
  }
  if (s.urls.length === 0) throw errors.invalidArgument(`${at}.urls`, [], 'at least one URL is required');
  // The protocol is the request's, or (DEFAULT) the first URL's scheme, as upstream.
  const protocol =
    STREAM_PROTOCOLS[s.protocol] ??
    (s.protocol === StreamProtocol.DEFAULT_PROTOCOL ? streamProtocolOf(s.urls[0]!) : undefined);
  if (!protocol) {
    throw errors.invalidArgument(
      `${at}.urls[0]`,
      redactStreamUrl(s.urls[0]!),
      'must be an rtmp://, rtmps://, mux:// or srt:// URL',
    );
  }
  const urls = s.urls.map((u, i) => normalizeStreamUrl(u, protocol, `${at}.urls[${i}]`));
  const dup = urls.findIndex((u, i) => urls.indexOf(u) !== i);
  if (dup >= 0) throw errors.invalidArgument(`${at}.urls[${dup}]`, redactStreamUrl(urls[dup]!), 'is listed twice');
  return { protocol, urls };
}

function segmentsPlan(o: Extract<RequestOutput, { kind: 'segments' }>, ctx: OutputsContext): SegmentsOutputPlan {
  const { value: s, at } = o;
  if (
    s.protocol !== SegmentedFileProtocol.DEFAULT_SEGMENTED_FILE_PROTOCOL &&
    s.protocol !== SegmentedFileProtocol.HLS_PROTOCOL
  ) {
    throw errors.invalidArgument(`${at}.protocol`, s.protocol, 'only HLS is supported');
  }
  if (!Number.isInteger(s.segmentDuration) || s.segmentDuration < 0 || s.segmentDuration > 600) {
    throw errors.invalidArgument(`${at}.segment_duration`, s.segmentDuration, 'must be 0 (4 s) to 600 seconds');
  }
  if (s.filenameSuffix !== SegmentedFileSuffix.INDEX && s.filenameSuffix !== SegmentedFileSuffix.TIMESTAMP) {
    throw errors.invalidArgument(`${at}.filename_suffix`, s.filenameSuffix, 'must be INDEX or TIMESTAMP');
  }
  // Upstream: the playlist defaults to the prefix's name; both live in the prefix's directory.
  const prefixField = s.filenamePrefix ? `${at}.filename_prefix` : `${at}.playlist_name`;
  const prefixPath = resolveFilepath(s.filenamePrefix || s.playlistName, '.m3u8', ctx.filename, ctx.roots, prefixField);
  const prefix = path.basename(prefixPath.key, '.m3u8');
  const upload = uploadOf(o, s.output, path.posix.dirname(prefixPath.key), ctx);
  const playlistName = s.playlistName
    ? playlistFile(s.playlistName, prefixPath.key, `${at}.playlist_name`, ctx)
    : `${prefix}.m3u8`;
  const plan: SegmentsOutputPlan = {
    dir: path.dirname(prefixPath.destination),
    storageDir: path.posix.dirname(prefixPath.filename),
    filenamePrefix: prefix,
    playlistName,
    segmentDurationSec: s.segmentDuration || 4,
    suffix: s.filenameSuffix === SegmentedFileSuffix.TIMESTAMP ? 'timestamp' : 'index',
    manifest: !s.disableManifest,
    ...(upload ? { upload } : {}),
  };
  if (s.livePlaylistName) {
    const live = playlistFile(s.livePlaylistName, prefixPath.key, `${at}.live_playlist_name`, ctx);
    if (live === playlistName) {
      throw errors.invalidArgument(`${at}.live_playlist_name`, s.livePlaylistName, 'must differ from playlist_name');
    }
    plan.livePlaylistName = live;
  }
  return plan;
}

/** A playlist's file name; it may repeat the prefix's directory (upstream requires the same one), nothing else. */
function playlistFile(raw: string, prefixKey: string, at: string, ctx: OutputsContext): string {
  const { key } = resolveFilepath(raw, '.m3u8', ctx.filename, ctx.roots, at);
  if (raw.includes('/') && path.posix.dirname(key) !== path.posix.dirname(prefixKey)) {
    throw errors.invalidArgument(at, raw, 'must be in the same directory as filename_prefix');
  }
  return path.posix.basename(key);
}

const IMAGE_SUFFIX: Record<ImageFileSuffix, ImageOutputPlan['suffix']> = {
  [ImageFileSuffix.IMAGE_SUFFIX_INDEX]: 'index',
  [ImageFileSuffix.IMAGE_SUFFIX_TIMESTAMP]: 'timestamp',
  [ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE]: 'overwrite',
};

function imagesPlan(req: Extract<RequestOutput, { kind: 'images' }>, ctx: OutputsContext): ImageOutputPlan {
  const { value: o, at } = req;
  if (o.imageCodec !== ImageCodec.IC_DEFAULT && o.imageCodec !== ImageCodec.IC_JPEG) {
    throw errors.invalidArgument(`${at}.image_codec`, o.imageCodec, 'only JPEG is supported');
  }
  if (!Number.isInteger(o.captureInterval) || o.captureInterval < 0 || o.captureInterval > 86_400) {
    throw errors.invalidArgument(`${at}.capture_interval`, o.captureInterval, 'must be 0 (10 s) to 86400 seconds');
  }
  const size = (name: 'width' | 'height', v: number, dflt: number) => {
    if (v === 0) return dflt;
    if (!Number.isInteger(v) || v < 16 || v > 4096 || v % 2 !== 0) {
      throw errors.invalidArgument(`${at}.${name}`, v, 'must be an even integer from 16 to 4096');
    }
    return v;
  };
  const suffix = IMAGE_SUFFIX[o.filenameSuffix];
  if (!suffix) throw errors.invalidArgument(`${at}.filename_suffix`, o.filenameSuffix, 'unknown suffix');
  const prefixPath = resolveFilepath(o.filenamePrefix, '.jpeg', ctx.filename, ctx.roots, `${at}.filename_prefix`);
  const upload = uploadOf(req, o.output, path.posix.dirname(prefixPath.key), ctx);
  return {
    dir: path.dirname(prefixPath.destination),
    storageDir: path.posix.dirname(prefixPath.filename),
    filenamePrefix: path.posix.basename(prefixPath.key, '.jpeg'),
    captureIntervalSec: o.captureInterval || 10,
    // 0: the capture size, filled in once the encoding is known.
    width: size('width', o.width, 0),
    height: size('height', o.height, 0),
    suffix,
    manifest: !o.disableManifest,
    ...(upload ? { upload } : {}),
  };
}

/** The output lists of a v1 request (web, room composite, participant, track composite). */
export interface RequestOutputLists {
  fileOutputs: EncodedFileOutput[];
  streamOutputs: StreamOutput[];
  segmentOutputs: SegmentedFileOutput[];
  imageOutputs: ImageOutput[];
  /** The deprecated single output, which web, room composite and track composite still carry. */
  output?:
    | { case: 'file'; value: EncodedFileOutput }
    | { case: 'stream'; value: StreamOutput }
    | { case: 'segments'; value: SegmentedFileOutput }
    | { case: undefined; value?: undefined };
}

/**
 * A v1 request's outputs, named under `field` (`web`, `participant`...); SDKs fill both the deprecated single
 * output and the lists, and the lists win.
 */
export function listOutputs(v: RequestOutputLists, field: string): RequestOutput[] {
  const lists: RequestOutput[] = [
    ...v.fileOutputs.map((value, i) => ({ kind: 'file' as const, value, at: `${field}.file_outputs[${i}]` })),
    ...v.streamOutputs.map((value, i) => ({ kind: 'stream' as const, value, at: `${field}.stream_outputs[${i}]` })),
    ...v.segmentOutputs.map((value, i) => ({ kind: 'segments' as const, value, at: `${field}.segment_outputs[${i}]` })),
    ...v.imageOutputs.map((value, i) => ({ kind: 'images' as const, value, at: `${field}.image_outputs[${i}]` })),
  ];
  if (lists.length > 0) return lists;
  const o = v.output;
  if (o?.case === 'file') return [{ kind: 'file', value: o.value, at: `${field}.file` }];
  if (o?.case === 'stream') return [{ kind: 'stream', value: o.value, at: `${field}.stream` }];
  if (o?.case === 'segments') return [{ kind: 'segments', value: o.value, at: `${field}.segments` }];
  return [];
}

/** The unified request's outputs, each with its own upload config when it has one. */
export function unifiedOutputs(eg: StartEgressRequest): RequestOutput[] {
  return eg.outputs.map((o, i): RequestOutput => {
    const at = `egress.outputs[${i}]`;
    const storage = o.storage?.provider.case
      ? { storage: { provider: o.storage.provider, field: `${at}.storage` } }
      : {};
    switch (o.config.case) {
      case 'file':
        return { kind: 'file', value: o.config.value, at: `${at}.file`, ...storage };
      case 'stream':
        return { kind: 'stream', value: o.config.value, at: `${at}.stream` };
      case 'segments':
        return { kind: 'segments', value: o.config.value, at: `${at}.segments`, ...storage };
      case 'images':
        return { kind: 'images', value: o.config.value, at: `${at}.images`, ...storage };
      default:
        throw errors.invalidArgument(at, '(empty)', 'output has no config');
    }
  });
}

/** The unified request's request-level upload config, for planOutputs' context. */
export function unifiedUpload(eg: StartEgressRequest): Pick<OutputsContext, 'requestUpload'> {
  return eg.storage?.provider.case ? { requestUpload: { provider: eg.storage.provider, field: 'egress.storage' } } : {};
}
