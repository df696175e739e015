import { AudioCodec, EncodingOptions, EncodingOptionsPreset, VideoCodec } from '@livekit/protocol';
import { errors } from '../errors.js';
import type { AudioCodecName, EncodingPlan, FileType, VideoProfile } from './plan.js';

/** Upstream's code defaults (not the proto comments): 720p30, 3 Mb/s, H.264 Main, AAC 128 kb/s at 44.1 kHz. */
export const DEFAULT_ENCODING: Omit<EncodingPlan, 'x264Preset'> = {
  width: 1280,
  height: 720,
  depth: 24,
  framerate: 30,
  videoBitrate: 3000,
  videoProfile: 'main',
  keyFrameInterval: 0,
  audioCodec: 'aac',
  audioBitrate: 128,
  audioFrequency: 44100,
};

const PRESETS: Record<number, Partial<EncodingPlan>> = {
  [EncodingOptionsPreset.H264_720P_30]: { width: 1280, height: 720, framerate: 30, videoBitrate: 3000 },
  [EncodingOptionsPreset.H264_720P_60]: { width: 1280, height: 720, framerate: 60, videoBitrate: 4500 },
  [EncodingOptionsPreset.H264_1080P_30]: { width: 1920, height: 1080, framerate: 30, videoBitrate: 4500 },
  [EncodingOptionsPreset.H264_1080P_60]: { width: 1920, height: 1080, framerate: 60, videoBitrate: 6000 },
  [EncodingOptionsPreset.PORTRAIT_H264_720P_30]: { width: 720, height: 1280, framerate: 30, videoBitrate: 3000 },
  [EncodingOptionsPreset.PORTRAIT_H264_720P_60]: { width: 720, height: 1280, framerate: 60, videoBitrate: 4500 },
  [EncodingOptionsPreset.PORTRAIT_H264_1080P_30]: { width: 1080, height: 1920, framerate: 30, videoBitrate: 4500 },
  [EncodingOptionsPreset.PORTRAIT_H264_1080P_60]: { width: 1080, height: 1920, framerate: 60, videoBitrate: 6000 },
};

const PROFILES: Partial<Record<VideoCodec, VideoProfile>> = {
  [VideoCodec.DEFAULT_VC]: 'main',
  [VideoCodec.H264_BASELINE]: 'baseline',
  [VideoCodec.H264_MAIN]: 'main',
  [VideoCodec.H264_HIGH]: 'high',
};

/**
 * x264 speed preset by pixel rate: on 2 cores veryfast holds 720p30 but not 1080p30 (23.9 fps measured),
 * superfast holds 1080p30.
 */
export function x264PresetFor(width: number, height: number, framerate: number): string {
  return width * height * framerate > 1280 * 720 * 30 ? 'superfast' : 'veryfast';
}

/** The request's audio codec: null for DEFAULT_AC (the container decides). */
const AUDIO_CODECS: Partial<Record<AudioCodec, AudioCodecName | null>> = {
  [AudioCodec.DEFAULT_AC]: null,
  [AudioCodec.AAC]: 'aac',
  [AudioCodec.OPUS]: 'opus',
  [AudioCodec.AC_MP3]: 'mp3',
};

/** The audio codec each container gets (upstream's defaults); a request naming another is refused. */
export const CONTAINER_CODEC: Readonly<Record<FileType, AudioCodecName>> = {
  mp4: 'aac',
  ogg: 'opus',
  mp3: 'mp3',
  webm: 'opus',
};

type EncodingChoice =
  | { case: 'preset'; value: EncodingOptionsPreset }
  | { case: 'advanced'; value: EncodingOptions }
  | { case: undefined; value?: undefined };

/**
 * Turns a request's preset or advanced options into an EncodingPlan for a `container` file; `field`
 * prefixes error names.
 */
export function encodingFromRequest(choice: EncodingChoice, field: string, container: FileType = 'mp4'): EncodingPlan {
  const audioCodec = CONTAINER_CODEC[container];
  let plan: Omit<EncodingPlan, 'x264Preset'> = { ...DEFAULT_ENCODING, audioCodec };
  if (choice.case === 'preset') {
    const preset = PRESETS[choice.value];
    if (!preset) {
      const name = EncodingOptionsPreset[choice.value] ?? choice.value;
      throw errors.invalidArgument(`${field}.preset`, name, 'unknown or unsupported preset');
    }
    plan = { ...plan, ...preset };
  } else if (choice.case === 'advanced') {
    plan = advancedEncoding(choice.value, plan, `${field}.advanced`, container);
  }
  // Opus runs at 48 kHz whatever the request says (as upstream).
  if (audioCodec === 'opus') plan.audioFrequency = 48000;
  return { ...plan, x264Preset: x264PresetFor(plan.width, plan.height, plan.framerate) };
}

function advancedEncoding(
  o: EncodingOptions,
  base: Omit<EncodingPlan, 'x264Preset'>,
  field: string,
  container: FileType,
): Omit<EncodingPlan, 'x264Preset'> {
  const out = { ...base };
  const dim = (name: 'width' | 'height', v: number) => {
    if (v === 0) return;
    if (!Number.isInteger(v) || v < 16 || v > 4096 || v % 2 !== 0) {
      throw errors.invalidArgument(`${field}.${name}`, v, 'must be an even integer from 16 to 4096');
    }
    out[name] = v;
  };
  dim('width', o.width);
  dim('height', o.height);
  if (o.depth !== 0) {
    if (![8, 16, 24].includes(o.depth)) throw errors.invalidArgument(`${field}.depth`, o.depth, 'must be 8, 16 or 24');
    out.depth = o.depth;
  }
  if (o.framerate !== 0) {
    if (!Number.isInteger(o.framerate) || o.framerate < 1 || o.framerate > 60) {
      throw errors.invalidArgument(`${field}.framerate`, o.framerate, 'must be an integer from 1 to 60');
    }
    out.framerate = o.framerate;
  }
  const profile = PROFILES[o.videoCodec];
  if (!profile) {
    const name = VideoCodec[o.videoCodec] ?? o.videoCodec;
    throw errors.invalidArgument(`${field}.video_codec`, name, 'only H.264 (baseline, main, high) can be encoded');
  }
  out.videoProfile = profile;
  const codec = AUDIO_CODECS[o.audioCodec];
  if (codec === undefined) {
    const name = AudioCodec[o.audioCodec] ?? o.audioCodec;
    throw errors.invalidArgument(`${field}.audio_codec`, name, 'unknown audio codec');
  }
  if (codec && codec !== out.audioCodec) {
    throw errors.invalidArgument(
      `${field}.audio_codec`,
      AudioCodec[o.audioCodec],
      `the file is ${container.toUpperCase()}, which holds ${out.audioCodec.toUpperCase()} audio`,
    );
  }
  const positive = (name: string, v: number, max: number) => {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw errors.invalidArgument(`${field}.${name}`, v, `must be an integer from 0 to ${max}`);
    }
  };
  positive('video_bitrate', o.videoBitrate, 100_000);
  positive('audio_bitrate', o.audioBitrate, 512);
  if (o.videoBitrate) out.videoBitrate = o.videoBitrate;
  if (o.audioBitrate) out.audioBitrate = o.audioBitrate;
  if (o.audioFrequency !== 0) {
    if (![8000, 16000, 22050, 24000, 32000, 44100, 48000].includes(o.audioFrequency)) {
      throw errors.invalidArgument(`${field}.audio_frequency`, o.audioFrequency, 'unsupported sample rate');
    }
    out.audioFrequency = o.audioFrequency;
  }
  if (!Number.isFinite(o.keyFrameInterval) || o.keyFrameInterval < 0 || o.keyFrameInterval > 20) {
    throw errors.invalidArgument(`${field}.key_frame_interval`, o.keyFrameInterval, 'must be 0 to 20 seconds');
  }
  out.keyFrameInterval = o.keyFrameInterval;
  return out;
}
