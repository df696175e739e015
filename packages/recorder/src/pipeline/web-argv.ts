/**
 * The capture pipeline of a web page (arguments after gst-launch's flags): the Xvfb screen and the recording's
 * pulse monitor, raw onto the `vraw` and `araw` tees that output-argv.ts encodes once for every output.
 */
import type { EncodingPlan, WebSourcePlan } from '@egress/shared';
import { buildOutputBranches, type PipelineOutputs } from './output-argv.js';

/** Everything the web capture pipeline depends on. */
export interface WebPipelineInput {
  source: Pick<WebSourcePlan, 'audioOnly' | 'videoOnly'>;
  encoding: EncodingPlan;
  /** X display to capture, e.g. ":3". */
  display: string;
  /** Pulse source to record, e.g. "EG_x.monitor". */
  pulseMonitor: string;
  outputs: PipelineOutputs;
}

/** Rate and layout of the pulse sink (audio/pulse.ts loads it this way). */
const SINK_CAPS = 'audio/x-raw,rate=48000,channels=2';

function rawVideo(display: string, fps: number): string[] {
  return [
    ...['ximagesrc', `display-name=${display}`, 'use-damage=false', 'show-pointer=false'],
    ...['!', `video/x-raw,framerate=${fps}/1`],
    ...['!', 'queue', '!', 'videoconvert'],
    // ximagesrc delivers a frame only when it gets to; videorate fills the gaps so the output is constant rate.
    ...['!', 'videorate', '!', `video/x-raw,format=I420,framerate=${fps}/1`],
    ...['!', 'tee', 'name=vraw'],
  ];
}

function rawAudio(monitor: string): string[] {
  return [
    // The pulse clock only runs while the sink is fed; the system clock keeps audio and video aligned.
    ...['pulsesrc', `device=${monitor}`, 'provide-clock=false', '!', SINK_CAPS],
    // A sink that was idle delivers its first samples late; audiorate fills that gap with silence.
    ...['!', 'audiorate', '!', 'queue', '!', 'audioconvert', '!', 'tee', 'name=araw'],
  ];
}

/** The pipeline description as gst-launch arguments (without `-e -m`). */
export function buildWebPipeline(input: WebPipelineInput): string[] {
  const { source, encoding: e, display, pulseMonitor, outputs } = input;
  if (source.audioOnly && source.videoOnly) throw new Error('a web recording cannot be both audio-only and video-only');
  const video = !source.audioOnly;
  const audio = !source.videoOnly;
  const b = buildOutputBranches(e, outputs, { video, audio });
  // Producers first: gst-launch links a consumer to a tee defined earlier without checking it against a
  // muxer's request pad (oggmux refuses that check for Opus).
  return [
    ...(video ? [...rawVideo(display, e.framerate), ...b.videoEncoders] : []),
    ...(audio ? [...rawAudio(pulseMonitor), ...b.audioEncoders] : []),
    ...b.consumers,
  ];
}
