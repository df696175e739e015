/**
 * Builds the gst-launch-1.0 pipeline (arguments after the flags) that captures a web page: the Xvfb
 * screen and the recording's pulse monitor, encoded to H.264/AAC in a fragmented MP4 (fragments make a
 * crashed recording readable; a clean stop is remuxed into an ordinary MP4 afterwards, media/remux.ts),
 * or audio only to Opus in OGG or to MP3 (both readable up to the last page or frame written).
 */
import type { EncodingPlan, FileType, WebSourcePlan } from '@egress/shared';

/** Everything the web capture pipeline depends on. */
export interface WebPipelineInput {
  source: Pick<WebSourcePlan, 'audioOnly' | 'videoOnly'>;
  encoding: EncodingPlan;
  /** X display to capture, e.g. ":3". */
  display: string;
  /** Pulse source to record, e.g. "EG_x.monitor". */
  pulseMonitor: string;
  /** Scratch file the muxer writes. */
  outputPath: string;
  /** Container; default mp4. OGG and MP3 need an audio-only source. */
  fileType?: FileType;
}

/** The muxer's name, so both branches can link to it. */
const MUX = 'mux';

/** Rate and layout of the pulse sink (audio/pulse.ts loads it this way). */
const SINK_CAPS = 'audio/x-raw,rate=48000,channels=2';

function videoBranch(e: EncodingPlan, display: string): string[] {
  const fps = e.framerate;
  // 0 means "encoder's choice", which the plan defines as 2 s of frames.
  const keyInt = Math.max(1, Math.round((e.keyFrameInterval > 0 ? e.keyFrameInterval : 2) * fps));
  return [
    ...['ximagesrc', `display-name=${display}`, 'use-damage=false', 'show-pointer=false'],
    ...['!', `video/x-raw,framerate=${fps}/1`],
    ...['!', 'queue', '!', 'videoconvert'],
    // ximagesrc delivers a frame only when it gets to; videorate fills the gaps so the file is constant rate.
    ...['!', 'videorate', '!', `video/x-raw,format=I420,framerate=${fps}/1`],
    ...['!', 'x264enc', `speed-preset=${e.x264Preset}`, 'tune=zerolatency', `bitrate=${e.videoBitrate}`],
    `key-int-max=${keyInt}`,
    ...['!', `video/x-h264,profile=${e.videoProfile}`, '!', 'h264parse', '!', 'queue', '!', `${MUX}.`],
  ];
}

function audioBranch(e: EncodingPlan, monitor: string): string[] {
  return [
    // The pulse clock only runs while the sink is fed; the system clock keeps audio and video aligned.
    ...['pulsesrc', `device=${monitor}`, 'provide-clock=false', '!', SINK_CAPS],
    // A sink that was idle delivers its first samples late; audiorate fills that gap with silence.
    ...['!', 'audiorate', '!', 'queue', '!', 'audioconvert', '!', 'audioresample'],
    ...['!', `audio/x-raw,rate=${e.audioFrequency},channels=2`],
    ...['!', ...audioEncoder(e), '!', 'queue', '!', `${MUX}.`],
  ];
}

function audioEncoder(e: EncodingPlan): string[] {
  switch (e.audioCodec) {
    case 'aac':
      return ['avenc_aac', `bitrate=${e.audioBitrate * 1000}`, '!', 'aacparse'];
    case 'opus':
      return ['opusenc', `bitrate=${e.audioBitrate * 1000}`, '!', 'opusparse'];
    case 'mp3':
      return ['lamemp3enc', 'target=bitrate', 'cbr=true', `bitrate=${e.audioBitrate}`, '!', 'mpegaudioparse'];
  }
}

/** The muxer and file sink for each container. */
function muxer(fileType: FileType, outputPath: string): string[] {
  // Without preroll the pipeline reports PLAYING when its clock starts (the media's time 0), not when
  // the muxer first writes, which waits up to 2 s for an idle pulse sink's first samples.
  const sink = ['!', 'filesink', `location=${outputPath}`, 'async=false'];
  switch (fileType) {
    case 'mp4':
      return ['mp4mux', `name=${MUX}`, 'fragment-duration=1000', ...sink];
    case 'ogg':
      return ['oggmux', `name=${MUX}`, ...sink];
    case 'mp3':
      // xingmux writes the frame count and seek table a player needs for an exact duration.
      return ['xingmux', `name=${MUX}`, ...sink];
  }
}

/** The pipeline description as gst-launch arguments (without `-e -m`). */
export function buildWebPipeline(input: WebPipelineInput): string[] {
  const { source, encoding, display, pulseMonitor, outputPath } = input;
  const fileType = input.fileType ?? 'mp4';
  if (source.audioOnly && source.videoOnly) throw new Error('a web recording cannot be both audio-only and video-only');
  if (fileType !== 'mp4' && !source.audioOnly) throw new Error(`${fileType} holds audio only`);
  return [
    ...muxer(fileType, outputPath),
    ...(source.audioOnly ? [] : videoBranch(encoding, display)),
    ...(source.videoOnly ? [] : audioBranch(encoding, pulseMonitor)),
  ];
}
