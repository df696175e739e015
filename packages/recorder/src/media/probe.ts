/**
 * Reads what a media file really contains, with ffprobe. Results reported to users come from here,
 * never from what the pipeline was asked to produce.
 */
import { execa } from 'execa';
import { childEnv } from '@egress/shared/host/child-env';

/** One stream of a probed file. */
export interface ProbedStream {
  /** "video", "audio", ... */
  codecType: string;
  /** "h264", "aac", ... */
  codecName: string;
  width?: number;
  height?: number;
  /** Average frames per second over the stream. */
  avgFrameRate?: number;
  /** Frames (or audio packets) in the stream, when the container says. */
  frames?: number;
  /** Milliseconds of this stream. */
  durationMs?: number;
  sampleRate?: number;
  channels?: number;
}

/** What ffprobe found in a file. */
export interface MediaProbe {
  durationMs: number;
  /** Bytes. */
  size: number;
  /** Container names as ffprobe lists them, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  formatName: string;
  streams: ProbedStream[];
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  sample_rate?: string;
  channels?: number;
}

interface FfprobeOutput {
  format?: { duration?: string; size?: string; format_name?: string };
  streams?: FfprobeStream[];
}

/** "30000/1001" -> 29.97; "0/0" (no rate) -> undefined. */
function parseRate(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [num, den] = rate.split('/').map(Number);
  if (num === undefined || !den || !Number.isFinite(num)) return undefined;
  return num / den;
}

function parseNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function toStream(s: FfprobeStream): ProbedStream {
  const stream: ProbedStream = { codecType: s.codec_type ?? 'unknown', codecName: s.codec_name ?? 'unknown' };
  const fps = s.codec_type === 'video' ? parseRate(s.avg_frame_rate) : undefined;
  const frames = parseNumber(s.nb_frames);
  const seconds = parseNumber(s.duration);
  const sampleRate = parseNumber(s.sample_rate);
  if (s.width !== undefined) stream.width = s.width;
  if (s.height !== undefined) stream.height = s.height;
  if (fps !== undefined) stream.avgFrameRate = fps;
  if (frames !== undefined) stream.frames = frames;
  if (seconds !== undefined) stream.durationMs = Math.round(seconds * 1000);
  if (sampleRate !== undefined) stream.sampleRate = sampleRate;
  if (s.channels !== undefined) stream.channels = s.channels;
  return stream;
}

/** Probes a media file; rejects with ffprobe's own words if it cannot be read. */
export async function probeMedia(path: string, options: { cancelSignal?: AbortSignal } = {}): Promise<MediaProbe> {
  const result = await execa(
    'ffprobe',
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path],
    {
      timeout: 30_000,
      reject: false,
      env: childEnv(),
      extendEnv: false,
      ...(options.cancelSignal ? { cancelSignal: options.cancelSignal } : {}),
    },
  );
  if (result.exitCode !== 0) {
    throw new Error(`ffprobe ${path}: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
  }
  const parsed = JSON.parse(result.stdout) as FfprobeOutput;
  const seconds = parseNumber(parsed.format?.duration);
  return {
    durationMs: seconds === undefined ? 0 : Math.round(seconds * 1000),
    size: parseNumber(parsed.format?.size) ?? 0,
    formatName: parsed.format?.format_name ?? 'unknown',
    streams: (parsed.streams ?? []).map(toStream),
  };
}
