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

export type SourcePlan = WebSourcePlan;

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

/** MP4 (H.264/AAC, or either alone), OGG (Opus, audio only), MP3 (audio only). */
export type FileType = 'mp4' | 'ogg' | 'mp3';

export interface FileOutputPlan {
  fileType: FileType;
  /** Absolute path where the finished file is delivered. */
  destination: string;
  /** Write `<egressId>.json` next to the file (upstream's manifest) unless the request disabled it. */
  manifest: boolean;
}

export interface OutputsPlan {
  file?: FileOutputPlan;
}

export interface RecordingPlan {
  egressId: string;
  source: SourcePlan;
  encoding: EncodingPlan;
  outputs: OutputsPlan;
  /** Per-egress scratch directory, owned by this recording and removed when it ends. */
  tmpDir: string;
  /** Config session_limits that apply to this recording's outputs; absent or 0 means none. */
  limits?: SessionLimitsPlan;
  chrome: ChromePlan;
}

export interface SessionLimitsPlan {
  /** Milliseconds of file recording before the egress ends LIMIT_REACHED. */
  fileMaxDurationMs?: number;
  /** Bytes of file before the egress ends LIMIT_REACHED. */
  fileMaxBytes?: number;
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
}
