/**
 * The capture pipeline of an SDK recording (arguments after gst-launch's flags): raw I420 frames on stdin and raw
 * S16LE 48 kHz stereo on fd 4, written at a constant rate by the recorder, onto the `vraw` and `araw` tees that
 * output-argv.ts encodes once for every output. The parsers stamp each frame from its position in the byte
 * stream, so the file's timeline is exactly the frames and samples written.
 */
import type { EncodingPlan } from '@egress/shared';
import { buildOutputBranches, type PipelineOutputs } from './output-argv.js';

/** gst-launch's fds the recorder writes raw media to. */
export const SDK_VIDEO_FD = 0;
export const SDK_AUDIO_FD = 4;

/** The raw audio every SDK source is mixed into. */
export const SDK_AUDIO_RATE = 48_000;
export const SDK_AUDIO_CHANNELS = 2;

export interface SdkPipelineInput {
  encoding: EncodingPlan;
  video: boolean;
  audio: boolean;
  outputs: PipelineOutputs;
}

/** Bytes of one I420 frame. */
export function i420Size(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

function rawVideo(e: EncodingPlan): string[] {
  return [
    ...['fdsrc', `fd=${SDK_VIDEO_FD}`, `blocksize=${i420Size(e.width, e.height)}`],
    ...['!', 'rawvideoparse', 'format=i420', `width=${e.width}`, `height=${e.height}`, `framerate=${e.framerate}/1`],
    ...['!', 'queue', '!', 'tee', 'name=vraw'],
  ];
}

function rawAudio(): string[] {
  return [
    ...['fdsrc', `fd=${SDK_AUDIO_FD}`, 'blocksize=3840'],
    ...['!', 'rawaudioparse', 'format=pcm', 'pcm-format=s16le', `sample-rate=${SDK_AUDIO_RATE}`],
    ...[`num-channels=${SDK_AUDIO_CHANNELS}`, '!', 'queue', '!', 'audioconvert', '!', 'tee', 'name=araw'],
  ];
}

/** The pipeline description as gst-launch arguments (without `-e -m`). */
export function buildSdkPipeline(input: SdkPipelineInput): string[] {
  const { encoding: e, video, audio, outputs } = input;
  if (!video && !audio) throw new Error('an SDK recording needs audio, video or both');
  const b = buildOutputBranches(e, outputs, { video, audio });
  // Consumers last: gst-launch cannot link an oggmux request pad to a tee declared after it.
  return [
    ...(video ? [...rawVideo(e), ...b.videoEncoders] : []),
    ...(audio ? [...rawAudio(), ...b.audioEncoders] : []),
    ...b.consumers,
  ];
}
