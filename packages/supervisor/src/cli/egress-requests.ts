/**
 * Building the request of `egress start` from a JSON request (protobuf JSON, as `lk egress start` takes) and
 * flags, and handing it to livekit-server-sdk's EgressClient. Pure apart from {@link sendStart}.
 */
import {
  DirectFileOutput,
  EgressClient,
  EgressInfo,
  EncodedFileOutput,
  EncodedFileType,
  EncodingOptions,
  EncodingOptionsPreset,
  ImageOutput,
  ParticipantEgressRequest,
  RoomCompositeEgressRequest,
  SegmentedFileOutput,
  StartEgressRequest,
  StreamOutput,
  TrackCompositeEgressRequest,
  TrackEgressRequest,
  WebEgressRequest,
} from 'livekit-server-sdk';
import {
  assertHttpUrl,
  EgressError,
  normalizeStreamUrl,
  REQUEST_TYPES,
  streamProtocolOf,
  type RequestCase,
} from '@egress/shared';

/** `--type` values, as `lk egress start --type`; `start` is the unified v2 StartEgressRequest (JSON only). */
export type StartType = Extract<(typeof REQUEST_TYPES)[RequestCase], { cliType: string }>['cliType'];
export const START_TYPES: readonly StartType[] = Object.values(REQUEST_TYPES).flatMap((t) =>
  'cliType' in t ? [t.cliType] : [],
);

/** A request ready to send, tagged with its type. */
export type BuiltRequest =
  | { type: 'web'; request: WebEgressRequest }
  | { type: 'room-composite'; request: RoomCompositeEgressRequest }
  | { type: 'participant'; request: ParticipantEgressRequest }
  | { type: 'track-composite'; request: TrackCompositeEgressRequest }
  | { type: 'track'; request: TrackEgressRequest }
  | { type: 'start'; request: StartEgressRequest };

/** The flags of `egress start` (strings as parseArgs gives them; validated here). */
export interface StartFlags {
  /** The page of a web egress (`--url` names the LiveKit server, as in lk). */
  page?: string;
  room?: string;
  identity?: string;
  track?: string;
  'audio-track'?: string;
  'video-track'?: string;
  layout?: string;
  'custom-base-url'?: string;
  'audio-only'?: boolean;
  'video-only'?: boolean;
  'await-start-signal'?: boolean;
  'screen-share'?: boolean;
  file?: string;
  'file-type'?: string;
  'disable-manifest'?: boolean;
  stream?: string[];
  segments?: string;
  playlist?: string;
  'segment-duration'?: string;
  images?: string;
  'image-interval'?: string;
  websocket?: string;
  preset?: string;
  width?: string;
  height?: string;
  framerate?: string;
  'video-bitrate'?: string;
  'audio-bitrate'?: string;
}

/** Which request flags each type takes (output and encoding flags are checked apart). */
const TYPE_FLAGS: Record<Exclude<StartType, 'start'>, (keyof StartFlags)[]> = {
  web: ['page', 'audio-only', 'video-only', 'await-start-signal'],
  'room-composite': ['room', 'layout', 'custom-base-url', 'audio-only', 'video-only'],
  participant: ['room', 'identity', 'screen-share'],
  'track-composite': ['room', 'audio-track', 'video-track'],
  track: ['room', 'track', 'websocket'],
};
const ENCODED_OUTPUT_FLAGS: (keyof StartFlags)[] = [
  'file',
  'file-type',
  'disable-manifest',
  'stream',
  'segments',
  'playlist',
  'segment-duration',
  'images',
  'image-interval',
];
const ENCODING_FLAGS: (keyof StartFlags)[] = [
  'preset',
  'width',
  'height',
  'framerate',
  'video-bitrate',
  'audio-bitrate',
];
const ALL_FLAGS = new Set<keyof StartFlags>([
  ...Object.values(TYPE_FLAGS).flat(),
  ...ENCODED_OUTPUT_FLAGS,
  ...ENCODING_FLAGS,
]);

const bad = (message: string) => new EgressError('invalid_argument', message);

/** The `--type` value, checked. */
export function parseStartType(value: string | undefined): StartType {
  if (!value) throw bad(`--type is required: one of ${START_TYPES.join(', ')}`);
  if (!(START_TYPES as readonly string[]).includes(value)) {
    throw bad(`--type ${JSON.stringify(value)} is not one of ${START_TYPES.join(', ')}`);
  }
  return value as StartType;
}

/**
 * Builds the request of `type` from an optional protobuf-JSON request (snake_case or camelCase names) and flags;
 * flags win over the JSON. Throws invalid_argument naming the flag or field and the value.
 */
export function buildStartRequest(type: StartType, flags: StartFlags, json?: unknown): BuiltRequest {
  const given = (Object.keys(flags) as (keyof StartFlags)[]).filter((k) => flags[k] !== undefined);
  if (type === 'start') {
    if (given.length) throw bad(`--type start takes a JSON request only, not --${given[0]}`);
    if (json === undefined) throw bad('--type start needs a JSON request (StartEgressRequest)');
    const request = decode(StartEgressRequest, json, type);
    if (!request.source.case) throw bad('the StartEgressRequest has no source (template, web or media)');
    if (!request.outputs.length) throw bad('the StartEgressRequest has no outputs');
    return { type, request };
  }
  const allowed = new Set<keyof StartFlags>([
    ...TYPE_FLAGS[type],
    ...(type === 'track' ? ['file' as const] : ENCODED_OUTPUT_FLAGS),
    ...(type === 'track' ? [] : ENCODING_FLAGS),
  ]);
  for (const k of given) {
    if (!ALL_FLAGS.has(k)) throw bad(`unknown flag --${k}`);
    if (!allowed.has(k)) throw bad(`--${k} does not apply to --type ${type}`);
  }
  switch (type) {
    case 'web': {
      const r = json === undefined ? new WebEgressRequest() : decode(WebEgressRequest, json, type);
      if (flags.page !== undefined) r.url = httpUrl('--page', flags.page);
      if (!r.url) throw bad('web egress needs --page URL (or "url" in the JSON request)');
      applyBool(flags, 'audio-only', (v) => (r.audioOnly = v));
      applyBool(flags, 'video-only', (v) => (r.videoOnly = v));
      applyBool(flags, 'await-start-signal', (v) => (r.awaitStartSignal = v));
      applyEncoded(r, flags, type);
      return { type, request: r };
    }
    case 'room-composite': {
      const r = json === undefined ? new RoomCompositeEgressRequest() : decode(RoomCompositeEgressRequest, json, type);
      r.roomName = flags.room ?? r.roomName;
      if (!r.roomName) throw bad('room composite egress needs --room (or "room_name" in the JSON request)');
      r.layout = flags.layout ?? r.layout;
      if (flags['custom-base-url'] !== undefined)
        r.customBaseUrl = httpUrl('--custom-base-url', flags['custom-base-url']);
      applyBool(flags, 'audio-only', (v) => (r.audioOnly = v));
      applyBool(flags, 'video-only', (v) => (r.videoOnly = v));
      applyEncoded(r, flags, type);
      return { type, request: r };
    }
    case 'participant': {
      const r = json === undefined ? new ParticipantEgressRequest() : decode(ParticipantEgressRequest, json, type);
      r.roomName = flags.room ?? r.roomName;
      r.identity = flags.identity ?? r.identity;
      if (!r.roomName) throw bad('participant egress needs --room (or "room_name" in the JSON request)');
      if (!r.identity) throw bad('participant egress needs --identity (or "identity" in the JSON request)');
      applyBool(flags, 'screen-share', (v) => (r.screenShare = v));
      applyEncoded(r, flags, type);
      return { type, request: r };
    }
    case 'track-composite': {
      const r =
        json === undefined ? new TrackCompositeEgressRequest() : decode(TrackCompositeEgressRequest, json, type);
      r.roomName = flags.room ?? r.roomName;
      r.audioTrackId = flags['audio-track'] ?? r.audioTrackId;
      r.videoTrackId = flags['video-track'] ?? r.videoTrackId;
      if (!r.roomName) throw bad('track composite egress needs --room (or "room_name" in the JSON request)');
      if (!r.audioTrackId && !r.videoTrackId) throw bad('track composite egress needs --audio-track or --video-track');
      applyEncoded(r, flags, type);
      return { type, request: r };
    }
    case 'track': {
      const r = json === undefined ? new TrackEgressRequest() : decode(TrackEgressRequest, json, type);
      r.roomName = flags.room ?? r.roomName;
      r.trackId = flags.track ?? r.trackId;
      if (!r.roomName) throw bad('track egress needs --room (or "room_name" in the JSON request)');
      if (!r.trackId) throw bad('track egress needs --track (or "track_id" in the JSON request)');
      if (flags.file !== undefined && flags.websocket !== undefined) throw bad('give --file or --websocket, not both');
      if (flags.file !== undefined) {
        r.output = { case: 'file', value: new DirectFileOutput({ filepath: nonEmpty('--file', flags.file) }) };
      }
      if (flags.websocket !== undefined) {
        r.output = { case: 'websocketUrl', value: wsUrl('--websocket', flags.websocket) };
      }
      if (!r.output.case) throw bad('track egress needs --file or --websocket');
      return { type, request: r };
    }
  }
}

type EncodedRequest =
  WebEgressRequest | RoomCompositeEgressRequest | ParticipantEgressRequest | TrackCompositeEgressRequest;

/** Outputs and encoding from flags, on top of the JSON's; at least one output in the end. */
function applyEncoded(r: EncodedRequest, flags: StartFlags, type: string): void {
  // A legacy single `output` in the JSON becomes the list form, the only one the SDK sends alone.
  if ('output' in r && r.output.case) {
    const o = r.output;
    if (o.case === 'file') r.fileOutputs.push(o.value);
    else if (o.case === 'stream') r.streamOutputs.push(o.value);
    else if (o.case === 'segments') r.segmentOutputs.push(o.value);
    r.output = { case: undefined };
  }
  if (flags.file !== undefined) {
    const file = new EncodedFileOutput({ filepath: nonEmpty('--file', flags.file) });
    if (flags['file-type'] !== undefined) file.fileType = enumValue('--file-type', EncodedFileType, flags['file-type']);
    if (flags['disable-manifest']) file.disableManifest = true;
    r.fileOutputs = [file];
  } else if (flags['file-type'] !== undefined || flags['disable-manifest'] !== undefined) {
    throw bad('--file-type and --disable-manifest need --file');
  }
  if (flags.stream?.length) {
    const urls = flags.stream.flatMap((s) => s.split(',')).map((u) => streamUrl('--stream', u));
    r.streamOutputs = [new StreamOutput({ urls })];
  }
  if (flags.segments !== undefined) {
    const seg = new SegmentedFileOutput({ filenamePrefix: nonEmpty('--segments', flags.segments) });
    if (flags.playlist !== undefined) seg.playlistName = nonEmpty('--playlist', flags.playlist);
    if (flags['segment-duration'] !== undefined) {
      seg.segmentDuration = positiveInt('--segment-duration', flags['segment-duration']);
    }
    r.segmentOutputs = [seg];
  } else if (flags.playlist !== undefined || flags['segment-duration'] !== undefined) {
    throw bad('--playlist and --segment-duration need --segments');
  }
  if (flags.images !== undefined) {
    const img = new ImageOutput({ filenamePrefix: nonEmpty('--images', flags.images) });
    if (flags['image-interval'] !== undefined) {
      img.captureInterval = positiveInt('--image-interval', flags['image-interval']);
    }
    r.imageOutputs = [img];
  } else if (flags['image-interval'] !== undefined) {
    throw bad('--image-interval needs --images');
  }
  for (const [name, list] of [
    ['file_outputs', r.fileOutputs],
    ['stream_outputs', r.streamOutputs],
    ['segment_outputs', r.segmentOutputs],
    ['image_outputs', r.imageOutputs],
  ] as const) {
    if (list.length > 1) throw bad(`${name}: at most one per request (${list.length} given)`);
  }
  if (!r.fileOutputs.length && !r.streamOutputs.length && !r.segmentOutputs.length && !r.imageOutputs.length) {
    throw bad(`${type} egress needs an output: --file, --stream, --segments or --images`);
  }

  const advanced = ENCODING_FLAGS.filter((k) => k !== 'preset' && flags[k] !== undefined);
  if (flags.preset !== undefined && advanced.length) throw bad(`give --preset or --${advanced[0]}, not both`);
  if (flags.preset !== undefined) {
    r.options = { case: 'preset', value: enumValue('--preset', EncodingOptionsPreset, flags.preset) };
  } else if (advanced.length) {
    const o = r.options.case === 'advanced' ? r.options.value : new EncodingOptions();
    if (flags.width !== undefined) o.width = positiveInt('--width', flags.width);
    if (flags.height !== undefined) o.height = positiveInt('--height', flags.height);
    if (flags.framerate !== undefined) o.framerate = positiveInt('--framerate', flags.framerate);
    if (flags['video-bitrate'] !== undefined) o.videoBitrate = positiveInt('--video-bitrate', flags['video-bitrate']);
    if (flags['audio-bitrate'] !== undefined) o.audioBitrate = positiveInt('--audio-bitrate', flags['audio-bitrate']);
    r.options = { case: 'advanced', value: o };
  }
}

interface JsonDecodable<T> {
  fromJson(json: never, options?: { ignoreUnknownFields?: boolean }): T;
  readonly typeName: string;
}

function decode<T>(cls: JsonDecodable<T>, json: unknown, type: string): T {
  try {
    return cls.fromJson(json as never);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw bad(`the JSON request is not a ${cls.typeName.replace(/^livekit\./, '')} (--type ${type}): ${why}`);
  }
}

function applyBool(flags: StartFlags, key: keyof StartFlags, set: (v: boolean) => void): void {
  if (flags[key] !== undefined) set(flags[key] === true);
}

function nonEmpty(flag: string, value: string): string {
  if (!value.trim()) throw bad(`${flag} must not be empty`);
  return value;
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw bad(`${flag} must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  return n;
}

function checkedUrl(flag: string, value: string, schemes: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad(`${flag} is not a URL: ${JSON.stringify(value)}`);
  }
  if (!schemes.includes(url.protocol)) {
    throw bad(
      `${flag} must be a ${schemes.map((s) => s.replace(/:$/, '')).join('/')} URL, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

const wsUrl = (flag: string, v: string) => checkedUrl(flag, v, ['ws:', 'wss:']);

/** The service's own check, so the CLI takes what the service takes (mux:// too). */
function httpUrl(flag: string, v: string): string {
  assertHttpUrl(v, flag);
  return v;
}

/** Each URL is checked for its own scheme's protocol, as the service checks one URL of that protocol. */
function streamUrl(flag: string, v: string): string {
  const url = v.trim();
  normalizeStreamUrl(url, streamProtocolOf(url) ?? 'rtmp', flag);
  return url;
}

/** An enum member by name, case-insensitive (`h264_720p_30`, `MP4`); other names list the choices. */
function enumValue(flag: string, e: Record<string, string | number>, value: string): number {
  const names = Object.keys(e).filter((k) => Number.isNaN(Number(k)));
  const hit = names.find((n) => n.toLowerCase() === value.trim().toLowerCase());
  if (hit === undefined) throw bad(`${flag} ${JSON.stringify(value)} is not one of ${names.join(', ')}`);
  return e[hit] as number;
}

/** Sends a built request through livekit-server-sdk's EgressClient. */
export function sendStart(client: EgressClient, built: BuiltRequest): Promise<EgressInfo> {
  switch (built.type) {
    case 'start':
      return client.startEgress(built.request);
    case 'track': {
      const r = built.request;
      const out = r.output.case === 'file' ? r.output.value : (r.output.value as string);
      return client.startTrackEgress(r.roomName, out, r.trackId, r.webhooks);
    }
    case 'web': {
      const r = built.request;
      return client.startWebEgress(r.url, outputsOf(r), {
        encodingOptions: encodingOf(r),
        audioOnly: r.audioOnly,
        videoOnly: r.videoOnly,
        awaitStartSignal: r.awaitStartSignal,
        webhooks: r.webhooks,
      });
    }
    case 'room-composite': {
      const r = built.request;
      return client.startRoomCompositeEgress(r.roomName, outputsOf(r), {
        layout: r.layout,
        encodingOptions: encodingOf(r),
        audioOnly: r.audioOnly,
        videoOnly: r.videoOnly,
        customBaseUrl: r.customBaseUrl,
        audioMixing: r.audioMixing,
        webhooks: r.webhooks,
      });
    }
    case 'participant': {
      const r = built.request;
      return client.startParticipantEgress(r.roomName, r.identity, outputsOf(r), {
        screenShare: r.screenShare,
        encodingOptions: encodingOf(r),
        webhooks: r.webhooks,
      });
    }
    case 'track-composite': {
      const r = built.request;
      return client.startTrackCompositeEgress(r.roomName, outputsOf(r), {
        audioTrackId: r.audioTrackId,
        videoTrackId: r.videoTrackId,
        encodingOptions: encodingOf(r),
        webhooks: r.webhooks,
      });
    }
  }
}

function outputsOf(r: EncodedRequest) {
  return {
    file: r.fileOutputs[0],
    stream: r.streamOutputs[0],
    segments: r.segmentOutputs[0],
    images: r.imageOutputs[0],
  };
}

function encodingOf(r: EncodedRequest): EncodingOptionsPreset | EncodingOptions | undefined {
  return r.options.case ? r.options.value : undefined;
}
