/**
 * Plans for the requests recorded by joining the room with the SDK: Participant, TrackComposite and Track
 * egress, and the unified StartEgressRequest with a MediaSource. The recorder's token is minted before
 * planning (sdkRoomContext), so planning itself stays synchronous like the web path's.
 */
import { isLocalStorage, resolveOutputStorage, type StorageDefaults } from './storage-request.js';
import {
  type AudioRoute,
  type DirectFileOutput,
  type MediaSource,
  type ParticipantEgressRequest,
  type StartEgressRequest,
  type TrackCompositeEgressRequest,
  type TrackEgressRequest,
} from '@livekit/protocol';
import { errors } from '../errors.js';
import { audioChannelName, participantKindName } from './audio-routes.js';
import { encodingFromRequest } from './encoding.js';
import { resolveFilepath, type FilenameContext } from './filename.js';
import { sanitizeValue, type OutputRoots } from './safe-path.js';
import { listOutputs, planOutputs, unifiedOutputs, unifiedUpload } from './outputs-plan.js';
import { requestField, requestRoomName, requestSource } from './request-kinds.js';
import type {
  EncodingPlan,
  FileType,
  OutputsPlan,
  RecordingPlan,
  SdkAudioRoute,
  SdkAudioSelection,
  SdkSourcePlan,
} from './plan.js';
import { recorderToken, type SdkRoomAudioSource } from './room-composite.js';

/** The room an SDK recording joins: where, and with which token. */
export interface SdkRoomContext {
  wsUrl: string;
  token: string;
}

/** A request as planFromRequest sees it (the `request` oneof of rpc.StartEgressRequest). */
interface SdkRequestLike {
  egressId: string;
  roomName: string;
  request: { case: string | undefined; value?: unknown };
}

/** What the common planner has already worked out for every request. */
export interface SdkPlanBase {
  base: Pick<RecordingPlan, 'egressId' | 'tmpDir' | 'chrome' | 'limits'> & { outputRoots: OutputRoots };
  filename: FilenameContext;
  room?: SdkRoomContext;
  /** Config storage defaults: outputs without their own upload go there. */
  storage?: StorageDefaults;
}

/** The room an SDK request records, or undefined when the request is not one the SDK records. */
export function sdkRoomName(req: SdkRequestLike): string | undefined {
  return requestSource(req.request) === 'sdk' ? requestRoomName(req.request, req.roomName) : undefined;
}

/** Mints the recorder's token for an SDK request (undefined for other requests); `wsUrl` is the server to join. */
export async function sdkRoomContext(
  req: SdkRequestLike & { token?: string; wsUrl?: string },
  node: { apiKey: string; apiSecret: string; wsUrl: string },
): Promise<SdkRoomContext | undefined> {
  const roomName = sdkRoomName(req);
  if (roomName === undefined) return undefined;
  const token =
    req.token ||
    (await recorderToken({ egressId: req.egressId, roomName, apiKey: node.apiKey, apiSecret: node.apiSecret }));
  return { wsUrl: req.wsUrl || node.wsUrl, token };
}

/**
 * The SDK source of an audio-only room composite without layout or custom page: every audio track, placed on
 * the channels as its audio_mixing says.
 */
export function sdkRoomAudioSourcePlan(roomName: string, source: SdkRoomAudioSource): SdkSourcePlan {
  return {
    kind: 'sdk',
    requestType: 'room_composite',
    roomName,
    wsUrl: source.wsUrl,
    token: source.token,
    audio: { all: true, routes: [], mixing: source.mixing },
    audioOnly: true,
    videoOnly: false,
  };
}

/** Plans an SDK request; throws invalid_argument naming the field for a bad one. */
export function planSdkRequest(req: SdkRequestLike, p: SdkPlanBase): RecordingPlan {
  const roomName = sdkRoomName(req);
  if (roomName === undefined) throw errors.internal(`request ${req.request.case ?? '(none)'} is not an SDK request`);
  const r = req.request;
  const field = requestField(r);
  if (!roomName) throw errors.invalidArgument(`${field}.room_name`, roomName, 'is required');
  if (!p.room) throw errors.internal('the recorder token was not minted before planning');
  if (!/^wss?:\/\/[^/]/.test(p.room.wsUrl))
    throw errors.invalidArgument('ws_url', p.room.wsUrl, 'must be a ws(s):// URL');
  const room = { kind: 'sdk' as const, roomName, wsUrl: p.room.wsUrl, token: p.room.token };
  const filename: FilenameContext = { ...p.filename, roomName, identifier: p.filename.roomName || roomName };
  const ctx = { roots: p.base.outputRoots, filename, ...(p.storage ? { storage: p.storage } : {}) };
  switch (r.case) {
    case 'participant': {
      const v = r.value as ParticipantEgressRequest;
      if (!v.identity) throw errors.invalidArgument('participant.identity', v.identity, 'is required');
      const source: SdkSourcePlan = {
        ...room,
        requestType: 'participant',
        video: { identity: v.identity, preferScreenShare: v.screenShare },
        audio: { all: false, routes: [{ match: { identity: v.identity }, channel: 'both' }], mixing: 'default' },
        audioOnly: false,
        videoOnly: false,
      };
      const named = { ...ctx, filename: { ...filename, track: { publisherIdentity: v.identity } } };
      const outputs = planOutputs(listOutputs(v, field), source, `${field}.outputs`, named);
      return finish(p, source, outputs, encodingFromRequest(v.options, field, outputs.file?.fileType));
    }
    case 'trackComposite': {
      const v = r.value as TrackCompositeEgressRequest;
      if (!v.audioTrackId && !v.videoTrackId) {
        throw errors.invalidArgument('track_composite.video_track_id', '', 'an audio or a video track id is required');
      }
      const source: SdkSourcePlan = {
        ...room,
        requestType: 'track_composite',
        ...(v.videoTrackId ? { video: { trackId: v.videoTrackId } } : {}),
        ...(v.audioTrackId
          ? {
              audio: {
                all: false,
                routes: [{ match: { trackId: v.audioTrackId }, channel: 'both' }],
                mixing: 'default',
              },
            }
          : {}),
        audioOnly: !v.videoTrackId,
        videoOnly: !v.audioTrackId,
      };
      const outputs = planOutputs(listOutputs(v, field), source, `${field}.outputs`, ctx);
      return finish(p, source, outputs, encodingFromRequest(v.options, field, outputs.file?.fileType));
    }
    case 'track':
      return trackPlan(r.value as TrackEgressRequest, room, p, filename);
    case 'egress': {
      const eg = r.value as StartEgressRequest;
      const source: SdkSourcePlan = { ...room, ...mediaSelection(eg.source.value as MediaSource) };
      const outputs = planOutputs(unifiedOutputs(eg), source, `${field}.outputs`, { ...ctx, ...unifiedUpload(eg) });
      return finish(p, source, outputs, encodingFromRequest(eg.encoding, field, outputs.file?.fileType));
    }
    default:
      throw errors.internal(`request ${r.case ?? '(none)'} is not an SDK request`);
  }
}

function finish(p: SdkPlanBase, source: SdkSourcePlan, outputs: OutputsPlan, encoding: EncodingPlan): RecordingPlan {
  const images = outputs.images?.map((i) => ({
    ...i,
    width: i.width || encoding.width,
    height: i.height || encoding.height,
  }));
  return { ...p.base, source, encoding, outputs: { ...outputs, ...(images ? { images } : {}) } };
}

/** The v2 MediaSource: video by track id or participant, audio by capture_all or routes. */
function mediaSelection(m: MediaSource): Omit<SdkSourcePlan, 'kind' | 'roomName' | 'wsUrl' | 'token'> {
  const at = 'egress.media';
  let video: SdkSourcePlan['video'];
  if (m.video.case === 'videoTrackId') {
    if (!m.video.value) throw errors.invalidArgument(`${at}.video_track_id`, '', 'must not be empty');
    video = { trackId: m.video.value };
  } else if (m.video.case === 'participantVideo') {
    const pv = m.video.value;
    if (!pv.identity) throw errors.invalidArgument(`${at}.participant_video.identity`, '', 'is required');
    video = { identity: pv.identity, preferScreenShare: pv.preferScreenShare };
  }
  let audio: SdkAudioSelection | undefined;
  if (m.audio && (m.audio.captureAll || m.audio.routes.length > 0)) {
    const routes = m.audio.routes.map((route, i) => audioRoute(route, `${at}.audio.routes[${i}]`));
    audio = { all: m.audio.captureAll, routes, mixing: 'default' };
  }
  if (!video && !audio) throw errors.invalidArgument(at, '(empty)', 'needs video, audio or both');
  return {
    requestType: 'media',
    ...(video ? { video } : {}),
    ...(audio ? { audio } : {}),
    audioOnly: !video,
    videoOnly: !audio,
  };
}

/** One MediaSource audio route; throws invalid_argument naming the route's field for a bad match or channel. */
function audioRoute(route: AudioRoute, at: string): SdkAudioRoute {
  const channel = audioChannelName(route.channel, `${at}.channel`);
  const m = route.match;
  switch (m.case) {
    case 'trackId':
      if (!m.value) throw errors.invalidArgument(`${at}.track_id`, m.value, 'must not be empty');
      return { match: { trackId: m.value }, channel };
    case 'participantIdentity':
      if (!m.value) throw errors.invalidArgument(`${at}.participant_identity`, m.value, 'must not be empty');
      return { match: { identity: m.value }, channel };
    case 'participantKind':
      return { match: { participantKind: participantKindName(m.value, `${at}.participant_kind`) }, channel };
    default:
      throw errors.invalidArgument(
        `${at}.match`,
        '(none)',
        'a track_id, participant_identity or participant_kind is required',
      );
  }
}

/** Track egress: one track to a file (OGG/Opus for audio, MP4/H.264 for video) or raw PCM to a websocket. */
function trackPlan(
  v: TrackEgressRequest,
  room: Pick<SdkSourcePlan, 'kind' | 'roomName' | 'wsUrl' | 'token'>,
  p: SdkPlanBase,
  filename: FilenameContext,
): RecordingPlan {
  if (!v.trackId) throw errors.invalidArgument('track.track_id', v.trackId, 'is required');
  const source: SdkSourcePlan = {
    ...room,
    requestType: 'track',
    trackId: v.trackId,
    audioOnly: false,
    videoOnly: false,
  };
  const encoding = encodingFromRequest({ case: undefined }, 'track', 'ogg');
  if (v.output.case === 'websocketUrl') {
    const url = v.output.value;
    if (!/^wss?:\/\/[^/]/.test(url)) throw errors.invalidArgument('track.websocket_url', url, 'must be a ws(s):// URL');
    return { ...p.base, source: { ...source, audioOnly: true }, encoding, outputs: { websocket: { url } } };
  }
  if (v.output.case !== 'file')
    throw errors.invalidArgument('track.output', '(none)', 'a file or a websocket_url is required');
  const f: DirectFileOutput = v.output.value;
  // Its own upload (s3, gcp, azure), else the config's storage, else local disk, as for every other file.
  const storage = resolveOutputStorage(
    { outputField: 'track.file', ...(f.output.case ? { output: f.output, outputUploadField: 'track.file' } : {}) },
    p.storage ?? { disallow_local_storage: false },
  );
  // The name defaults to the track id; the publisher, kind and source are filled in once the track is found.
  const raw = f.filepath.replaceAll('{track_id}', sanitizeValue(v.trackId));
  const named = { ...filename, identifier: v.trackId, track: { trackId: v.trackId } };
  const file = (fileType: FileType) => {
    const r = resolveFilepath(raw, `.${fileType}`, named, p.base.outputRoots, 'track.file.filepath');
    const upload = isLocalStorage(storage) ? undefined : { storage, key: r.key };
    return { fileType, filename: r.filename, destination: r.destination, ...(upload ? { upload } : {}) };
  };
  return {
    ...p.base,
    source,
    encoding,
    outputs: {
      file: {
        ...file('ogg'),
        manifest: !f.disableManifest,
        // A video track goes to MP4, or to WebM (VP8) when the file name asks for it.
        ifVideo: file(/\.webm$/i.test(raw) ? 'webm' : 'mp4'),
      },
    },
  };
}
