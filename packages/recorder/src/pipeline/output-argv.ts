/**
 * The encode and output half of every capture pipeline, whatever the source: given raw video on a tee named
 * `vraw` and raw audio on one named `araw`, one H.264 encode and one encode per audio codec feed, through tees,
 * every output:
 * - file: H.264/AAC in a fragmented MP4 (fragments make a crashed recording readable; a clean stop is remuxed
 *   into an ordinary MP4 afterwards, media/remux.ts), or audio only to Opus in OGG or to MP3;
 * - segments: MPEG-TS files cut at the segment duration by splitmuxsink, which reports each one on the bus;
 * - stream feed: one MPEG-TS stream on a file descriptor, fanned out to each stream URL by the recorder
 *   (outputs/streams), so URLs come and go without touching this pipeline;
 * - images: JPEG snapshots from the raw frames, one every capture interval.
 */
import type { AudioCodecName, EncodingPlan, FileType } from '@egress/shared';
import { CONTAINER_CODEC } from '@egress/shared';

/** What the pipeline writes. */
export interface PipelineOutputs {
  file?: { fileType: FileType; path: string };
  /** splitmuxsink location pattern (with %05d) and segment length. */
  segments?: { pattern: string; durationSec: number };
  /** gst-launch's file descriptor that carries MPEG-TS for the stream outputs. */
  streamFeedFd?: number;
  /** multifilesink location pattern (with %05d), one entry per image output. */
  images?: { pattern: string; intervalSec: number; width: number; height: number }[];
}

/** Element names other code refers to (bus messages name their element). */
export const ELEMENT = {
  fileMux: 'mux',
  segments: 'seg',
  streamFeed: 'tsfeed',
  image: (i: number) => `img${i}`,
} as const;

/** A branch into a live sink must never stall the encode: it drops the oldest data instead (3 s of it). */
const LEAKY_QUEUE = ['queue', 'leaky=downstream', 'max-size-time=3000000000', 'max-size-bytes=0', 'max-size-buffers=0'];

function h264(e: EncodingPlan): string[] {
  // 0 means "encoder's choice", which the plan defines as 2 s of frames.
  const keyInt = Math.max(1, Math.round((e.keyFrameInterval > 0 ? e.keyFrameInterval : 2) * e.framerate));
  return [
    ...['vraw.', '!', 'queue', '!', 'x264enc', `speed-preset=${e.x264Preset}`, 'tune=zerolatency'],
    ...[`bitrate=${e.videoBitrate}`, `key-int-max=${keyInt}`],
    ...['!', `video/x-h264,profile=${e.videoProfile}`, '!', 'h264parse', '!', 'tee', 'name=venc'],
  ];
}

/** VP8 for WebM: realtime speed, the requested bitrate, key frames as for H.264. */
function vp8(e: EncodingPlan): string[] {
  const keyInt = Math.max(1, Math.round((e.keyFrameInterval > 0 ? e.keyFrameInterval : 2) * e.framerate));
  return [
    ...['vraw.', '!', 'queue', '!', 'vp8enc', 'deadline=1', 'cpu-used=8', 'end-usage=cbr'],
    ...[`target-bitrate=${e.videoBitrate * 1000}`, `keyframe-max-dist=${keyInt}`, 'threads=2'],
    ...['!', 'tee', 'name=vp8'],
  ];
}

function audioEncoder(codec: AudioCodecName, e: EncodingPlan): string[] {
  switch (codec) {
    case 'aac':
      return ['avenc_aac', `bitrate=${e.audioBitrate * 1000}`, '!', 'aacparse'];
    case 'opus':
      return ['opusenc', `bitrate=${e.audioBitrate * 1000}`, '!', 'opusparse'];
    case 'mp3':
      return ['lamemp3enc', 'target=bitrate', 'cbr=true', `bitrate=${e.audioBitrate}`, '!', 'mpegaudioparse'];
  }
}

/** One encoder per audio codec the outputs need; each ends in a tee named `a_<codec>`. */
function encodedAudio(codec: AudioCodecName, e: EncodingPlan): string[] {
  // Opus runs at 48 kHz; AAC and MP3 at the requested rate.
  const rate = codec === 'opus' ? 48000 : e.audioFrequency;
  return [
    ...['araw.', '!', 'queue', '!', 'audioresample', '!', `audio/x-raw,rate=${rate},channels=2`],
    ...['!', ...audioEncoder(codec, e), '!', 'tee', `name=a_${codec}`],
  ];
}

/** The muxer and file sink for each container. */
function fileMuxer(fileType: FileType, path: string): string[] {
  // Without preroll the pipeline reports PLAYING when its clock starts (the media's time 0), not when
  // the muxer first writes, which waits up to 2 s for an idle pulse sink's first samples. Unbuffered: each
  // fragment reaches the disk as it is muxed, not once 64 kB have gathered (over 10 s of a still picture),
  // so a crash loses at most the fragment being written.
  const sink = ['!', 'filesink', `location=${path}`, 'async=false', 'buffer-mode=unbuffered'];
  switch (fileType) {
    case 'mp4':
      return ['mp4mux', `name=${ELEMENT.fileMux}`, 'fragment-duration=500', ...sink];
    case 'ogg':
      return ['oggmux', `name=${ELEMENT.fileMux}`, ...sink];
    case 'mp3':
      // xingmux writes the frame count and seek table a player needs for an exact duration.
      return ['xingmux', `name=${ELEMENT.fileMux}`, ...sink];
    case 'webm':
      // Matroska clusters are readable as written: a crashed recording keeps all but its last cluster.
      return ['webmmux', `name=${ELEMENT.fileMux}`, 'streamable=false', ...sink];
  }
}

/**
 * The encoders and consumers, as gst-launch arguments; `video`/`audio` say which raw tees the source provides.
 * Put the consumers after the source and encoders in the description (see buildWebPipeline).
 */
export interface OutputBranches {
  consumers: string[];
  videoEncoders: string[];
  audioEncoders: string[];
}

export function buildOutputBranches(
  e: EncodingPlan,
  outputs: PipelineOutputs,
  { video, audio }: { video: boolean; audio: boolean },
): OutputBranches {
  const { file, segments, streamFeedFd, images = [] } = outputs;
  if (!file && !segments && streamFeedFd === undefined && images.length === 0) throw new Error('no outputs');
  if (file && (file.fileType === 'ogg' || file.fileType === 'mp3') && video) {
    throw new Error(`${file.fileType} holds audio only`);
  }
  if (images.length > 0 && !video) throw new Error('images need video');
  const fileCodec = file ? CONTAINER_CODEC[file.fileType] : undefined;
  const needsH264 = video && (file?.fileType === 'mp4' || segments !== undefined || streamFeedFd !== undefined);
  const needsVp8 = video && file?.fileType === 'webm';
  const codecs = new Set<AudioCodecName>();
  if (audio && fileCodec) codecs.add(fileCodec);
  if (audio && (segments || streamFeedFd !== undefined)) codecs.add('aac');
  const argv: string[] = [];
  // Consumers: each takes the encoded streams it needs from the tees.
  if (file) {
    argv.push(...fileMuxer(file.fileType, file.path));
    if (video && file.fileType === 'webm') argv.push('vp8.', '!', 'queue', '!', `${ELEMENT.fileMux}.`);
    else if (video) argv.push('venc.', '!', 'queue', '!', 'h264parse', '!', `${ELEMENT.fileMux}.`);
    // oggmux links an untyped request to its first pad template (Theora video), which Opus then cannot reach.
    const audioPad = file.fileType === 'ogg' ? 'audio_%u' : '';
    if (audio) argv.push(`a_${fileCodec}.`, '!', 'queue', '!', `${ELEMENT.fileMux}.${audioPad}`);
  }
  if (segments) {
    argv.push(
      ...['splitmuxsink', `name=${ELEMENT.segments}`, 'muxer-factory=mpegtsmux', 'async-finalize=false'],
      ...[`max-size-time=${Math.round(segments.durationSec * 1e9)}`, 'send-keyframe-requests=true'],
      `location=${segments.pattern}`,
    );
    if (video) argv.push('venc.', '!', 'queue', '!', 'h264parse', '!', `${ELEMENT.segments}.video`);
    if (audio) argv.push('a_aac.', '!', 'queue', '!', `${ELEMENT.segments}.audio_0`);
  }
  if (streamFeedFd !== undefined) {
    argv.push(
      ...['mpegtsmux', `name=${ELEMENT.streamFeed}`, 'alignment=7', '!', ...LEAKY_QUEUE],
      ...['!', 'fdsink', `fd=${streamFeedFd}`, 'sync=false', 'async=false'],
    );
    // SPS/PPS before every key frame: a stream joining late must be decodable from its first key frame.
    if (video) argv.push('venc.', '!', 'queue', '!', 'h264parse', 'config-interval=-1', '!', `${ELEMENT.streamFeed}.`);
    if (audio) argv.push('a_aac.', '!', 'queue', '!', `${ELEMENT.streamFeed}.`);
  }
  images.forEach((img, i) => {
    argv.push(
      // A snapshot may be late or skipped, never hold up the encode.
      ...['vraw.', '!', 'queue', 'leaky=downstream', 'max-size-buffers=2', '!', 'videorate'],
      ...['!', `video/x-raw,framerate=1/${img.intervalSec}`, '!', 'videoscale', '!', 'videoconvert'],
      ...['!', `video/x-raw,width=${img.width},height=${img.height},pixel-aspect-ratio=1/1`],
      ...['!', 'jpegenc', '!', 'multifilesink', `name=${ELEMENT.image(i)}`, `location=${img.pattern}`],
      ...['post-messages=true', 'async=false'],
    );
  });
  return {
    consumers: argv,
    videoEncoders: [...(needsH264 ? h264(e) : []), ...(needsVp8 ? vp8(e) : [])],
    audioEncoders: [...codecs].flatMap((codec) => encodedAudio(codec, e)),
  };
}
