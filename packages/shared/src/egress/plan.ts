import type { StorageConfig } from '../config/schema.js';
import type { OutputRoots } from './safe-path.js';

/**
 * A RecordingPlan is a validated, protobuf-free description of one recording. The supervisor builds it
 * from an RPC request (and `egress record` from its flags); the recorder only ever sees plans.
 */

/** Where the pixels and sound come from. */
export interface WebSourcePlan {
  kind: 'web';
  url: string;
  audioOnly: boolean;
  videoOnly: boolean;
  /** Wait for the page to print START_RECORDING before capturing. */
  awaitStartSignal: boolean;
}

/** Which video an SDK recording shows: one track by id, or a participant's camera (or screen share). */
export type SdkVideoSelection = { trackId: string } | { identity: string; preferScreenShare: boolean };

/** Where a recorded audio track plays: both channels, or mixed to mono into one of them. */
export type AudioChannelName = 'both' | 'left' | 'right';

/** A publisher's participant kind, named as in the protocol's ParticipantInfo.Kind (lower case). */
export type ParticipantKindName = 'standard' | 'ingress' | 'egress' | 'sip' | 'agent' | 'connector' | 'bridge';

/** Which tracks an audio route takes: one by id, a participant's, or those of every participant of a kind. */
export type SdkAudioMatch = { trackId: string } | { identity: string } | { participantKind: ParticipantKindName };

/** An audio route: the tracks it matches and the channel they play on. */
export interface SdkAudioRoute {
  match: SdkAudioMatch;
  channel: AudioChannelName;
}

/**
 * How the tracks `all` takes (no route matched them) are placed: on both channels, agents left and everyone
 * else right, or alternating left, right, left... in the order they are first recorded (the room composite's
 * audio_mixing).
 */
export type SdkAudioMixing = 'default' | 'dual_channel_agent' | 'dual_channel_alternate';

/** Which audio an SDK recording mixes, and on which channel each track plays. */
export interface SdkAudioSelection {
  /** Every audio track no route matches is recorded too, placed by `mixing`. */
  all: boolean;
  /** Tracks recorded by match, in order: the first route that matches a track gives its channel. */
  routes: SdkAudioRoute[];
  mixing: SdkAudioMixing;
}

/**
 * A recording made by joining the room with the SDK as a hidden recorder (participant, track composite,
 * track, audio-only room composite, and the unified request's MediaSource): decoded frames are fed to
 * gst-launch at a constant rate.
 */
export interface SdkSourcePlan {
  kind: 'sdk';
  /** The request type, for logs and end reasons. */
  requestType: 'participant' | 'track_composite' | 'track' | 'room_composite' | 'media';
  roomName: string;
  wsUrl: string;
  /** The recorder's token (identity = egress id, hidden recorder). */
  token: string;
  video?: SdkVideoSelection;
  audio?: SdkAudioSelection;
  /** Track egress: the one track recorded, whose kind (audio or video) is learned once joined. */
  trackId?: string;
  /** No video is recorded (known at plan time; a track egress learns it once joined). */
  audioOnly: boolean;
  videoOnly: boolean;
}

export type SourcePlan = WebSourcePlan | SdkSourcePlan;

export type VideoProfile = 'baseline' | 'main' | 'high';

export interface EncodingPlan {
  width: number;
  height: number;
  /** Colour depth of the capture display. */
  depth: number;
  framerate: number;
  /** kbps */
  videoBitrate: number;
  videoProfile: VideoProfile;
  /** Seconds between key frames; 0 lets the encoder choose (2 s at the framerate). */
  keyFrameInterval: number;
  /** Chosen with the container: AAC in MP4, Opus in OGG, MP3 in MP3. */
  audioCodec: AudioCodecName;
  /** kbps */
  audioBitrate: number;
  audioFrequency: number;
  /** x264 speed preset chosen for what this machine sustains. */
  x264Preset: string;
}

export type AudioCodecName = 'aac' | 'opus' | 'mp3';

/**
 * MP4 (H.264/AAC, or either alone), OGG (Opus, audio only), MP3 (audio only), WebM (VP8/Opus; track egress asks
 * for it by its file name, as upstream's passthrough writes VP8 tracks to WebM).
 */
export const FILE_TYPE_NAMES = ['mp4', 'ogg', 'mp3', 'webm'] as const;
export type FileType = (typeof FILE_TYPE_NAMES)[number];

/** Where an output is uploaded instead of being delivered to local disk. */
export interface UploadPlan {
  /** The output's storage (request or config), with a provider. */
  storage: StorageConfig;
  /** Object key (file) or key directory (segments, images), before the storage's prefix. */
  key: string;
}

export interface FileOutputPlan {
  fileType: FileType;
  /** FileInfo.filename: the requested path with its placeholders filled (upstream's storage path). */
  filename: string;
  /** Absolute path where the finished file is delivered (or kept, when its upload fails). */
  destination: string;
  /** Set when the file goes to object storage. */
  upload?: UploadPlan;
  /** Write `<egressId>.json` next to the file (upstream's manifest) unless the request disabled it. */
  manifest: boolean;
  /** Track egress: the file used instead when the track turns out to be video (this one is for audio). */
  ifVideo?: { fileType: FileType; filename: string; destination: string; upload?: UploadPlan };
}

/** Raw PCM (s16le, 48 kHz, stereo) in binary websocket frames: a track egress's `websocket_url`. */
export interface WebsocketOutputPlan {
  url: string;
}

/** HLS: MPEG-TS segments and the playlists that list them, written into one directory. */
export interface SegmentsOutputPlan {
  /** Absolute directory the segments and playlists are delivered to. */
  dir: string;
  /** Their directory as requested ('.' for none): results name playlists within it, as upstream. */
  storageDir: string;
  /** Set when segments and playlists go to object storage (key: their key directory). */
  upload?: UploadPlan;
  /** Segment file names start with this (no directory part). */
  filenamePrefix: string;
  /** The EVENT playlist listing every segment, e.g. "room.m3u8". */
  playlistName: string;
  /** The live playlist (sliding window of the last 5 segments), when asked for. */
  livePlaylistName?: string;
  /** Target segment length in seconds. */
  segmentDurationSec: number;
  /** `<prefix>_00000.ts` (index) or `<prefix>_<YYYYMMDDhhmmssmmm>.ts` (timestamp). */
  suffix: 'index' | 'timestamp';
  /** The request did not set disable_manifest for this output. */
  manifest: boolean;
}

/** RTMP(S) or SRT destinations fed by one encode. */
export interface StreamOutputPlan {
  protocol: 'rtmp' | 'srt';
  /** Full URLs, secrets included: only the recorder's own gst-launch sees them; logs get redactStreamUrl(). */
  urls: string[];
}

/** JPEG snapshots every `captureIntervalSec`. */
export interface ImageOutputPlan {
  /** Absolute directory the images are delivered to. */
  dir: string;
  /** Their directory as requested ('.' for none): ImagesInfo.filename_prefix is within it, as upstream. */
  storageDir: string;
  /** Set when images go to object storage (key: their key directory). */
  upload?: UploadPlan;
  filenamePrefix: string;
  captureIntervalSec: number;
  width: number;
  height: number;
  /** `<prefix>_00000.jpeg`, `<prefix>_<YYYYMMDDhhmmssmmm>.jpeg`, or one `<prefix>.jpeg` overwritten. */
  suffix: 'index' | 'timestamp' | 'overwrite';
  /** The request did not set disable_manifest for this output. */
  manifest: boolean;
}

/** One delivered image, as the manifest lists it. */
export interface ImageEntry {
  filename: string;
  location: string;
  /** Wall-clock time of the frame, unix ms. */
  timestamp: number;
}

export interface OutputsPlan {
  file?: FileOutputPlan;
  segments?: SegmentsOutputPlan;
  stream?: StreamOutputPlan;
  images?: ImageOutputPlan[];
  websocket?: WebsocketOutputPlan;
}

/** One segment as its playlists list it. */
export interface SegmentEntry {
  filename: string;
  /** Seconds of media. */
  durationSec: number;
  /** Wall-clock start of its first frame, unix ms (EXT-X-PROGRAM-DATE-TIME). */
  startedAt: number;
  size: number;
  /** A new recorder wrote it after a restart: the playlist marks a discontinuity before it. */
  discontinuity?: boolean;
}

/** What a restarted recorder continues from, so outputs carry on where the lost one stopped. */
export interface ResumePlan {
  /** Segments already delivered and listed; the next one gets the next index. */
  segments?: SegmentEntry[];
  /** Images already delivered, so the index continues. */
  imageCounts?: number[];
}

export interface RecordingPlan {
  egressId: string;
  source: SourcePlan;
  encoding: EncodingPlan;
  outputs: OutputsPlan;
  /** Per-egress scratch directory, owned by this recording and removed when it ends. */
  tmpDir: string;
  /** The roots the planner confined every output path to; names filled in later are confined to them too. */
  outputRoots?: OutputRoots;
  /** Config session_limits that apply to this recording's outputs; absent or 0 means none. */
  limits?: SessionLimitsPlan;
  chrome: ChromePlan;
  /** Set by the supervisor when a fresh recorder takes over from a lost one. */
  resume?: ResumePlan;
  /** The config's `backup:` storage: what the primary of an upload refuses goes there. */
  backup?: StorageConfig;
}

export interface SessionLimitsPlan {
  /** Milliseconds of file recording before the egress ends LIMIT_REACHED. */
  fileMaxDurationMs?: number;
  /** Bytes of file before the egress ends LIMIT_REACHED. */
  fileMaxBytes?: number;
  /** Milliseconds of streaming before the egress ends LIMIT_REACHED. */
  streamMaxDurationMs?: number;
  /** Milliseconds of HLS segments before the egress ends LIMIT_REACHED. */
  segmentMaxDurationMs?: number;
  /** Milliseconds of image capture before the egress ends LIMIT_REACHED. */
  imageMaxDurationMs?: number;
}

export interface ChromePlan {
  executablePath: string;
  sandbox: boolean;
  insecure: boolean;
  /** Extra flags from config `chrome_flags`: name -> value ('' for a bare switch). */
  extraFlags: Record<string, string>;
}

/** Result of one delivered file, read from the real file. Times are unix milliseconds. */
export interface FileResult {
  filename: string;
  location: string;
  size: number;
  /** milliseconds of media, as ffprobe reports it */
  durationMs: number;
  startedAt: number;
  endedAt: number;
  /** The primary storage refused it and the backup took it. */
  backupUsed?: boolean;
}

/** StreamInfo as the recorder reports it. Times are unix milliseconds. */
export interface StreamResult {
  /** Redacted: the stream key never leaves the recorder. */
  url: string;
  status: 'active' | 'finished' | 'failed';
  startedAt?: number;
  endedAt?: number;
  error?: string;
  /** Reconnections after a lost connection. */
  retries: number;
  lastRetryAt?: number;
}

/** SegmentsInfo as the recorder reports it. Times are unix milliseconds. */
export interface SegmentsResult {
  playlistName: string;
  playlistLocation: string;
  livePlaylistName?: string;
  livePlaylistLocation?: string;
  durationMs: number;
  size: number;
  segmentCount: number;
  startedAt: number;
  endedAt: number;
}

/** ImagesInfo as the recorder reports it. Times are unix milliseconds. */
export interface ImagesResult {
  filenamePrefix: string;
  imageCount: number;
  startedAt: number;
  endedAt: number;
}

/** Every result of a recording so far (or at its end). */
export interface OutputResults {
  files: FileResult[];
  streams: StreamResult[];
  segments: SegmentsResult[];
  images: ImagesResult[];
}
