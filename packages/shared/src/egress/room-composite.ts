import { AccessToken } from 'livekit-server-sdk';
import { errors } from '../errors.js';
import { audioMixingName } from './audio-routes.js';
import { assertHttpUrl } from './http-url.js';
import type { SdkAudioMixing } from './plan.js';

/**
 * The fields that choose a room composite's source; both RoomCompositeEgressRequest and the v2 API's
 * TemplateSource carry them.
 */
export interface RoomCompositeFields {
  layout: string;
  audioOnly: boolean;
  videoOnly: boolean;
  customBaseUrl: string;
  /** RoomCompositeEgressRequest's AudioMixing (TemplateSource has none); only the SDK path mixes by it. */
  audioMixing?: number;
}

/** Audio only with no page to show (no layout, no custom_base_url): upstream records it on the SDK, without Chrome. */
export function recordsAudioOnSdk(req: Pick<RoomCompositeFields, 'audioOnly' | 'layout' | 'customBaseUrl'>): boolean {
  return req.audioOnly && req.layout === '' && req.customBaseUrl === '';
}

/** What the node and the rpc request contribute to a room composite's source. */
export interface RoomCompositeContext {
  egressId: string;
  roomName: string;
  apiKey: string;
  apiSecret: string;
  /** The LiveKit server the page (or the SDK) joins: the rpc request's ws_url, else config ws_url. */
  wsUrl: string;
  /** Config template_base: where the built-in templates are served. */
  templateBase: string;
  /** A token the LiveKit server put in the rpc request; one is minted when it is empty. */
  token?: string;
  now?: Date;
}

/** A room composite rendered by a template page in Chromium. */
export interface TemplateRoomSource {
  kind: 'template';
  /** The page to load: the base URL with `url`, `token` and `layout` merged into its query. */
  url: string;
  audioOnly: boolean;
  videoOnly: boolean;
  /** Always true: a template prints START_RECORDING once media plays. */
  awaitStartSignal: true;
}

/**
 * An audio-only room composite without layout or custom page: upstream records it by joining the room
 * with the SDK instead of a browser, which is far cheaper.
 */
export interface SdkRoomAudioSource {
  kind: 'sdk-audio';
  wsUrl: string;
  token: string;
  mixing: SdkAudioMixing;
}

export type RoomCompositeSource = TemplateRoomSource | SdkRoomAudioSource;

/** Upstream's recorder token lifetime. */
const TOKEN_TTL = '24h';

/**
 * Mints the recorder's token as upstream does: identity = egress id, kind egress, hidden recorder that
 * joins the room and subscribes only, valid 24 h.
 */
export async function recorderToken(
  ctx: Pick<RoomCompositeContext, 'egressId' | 'roomName' | 'apiKey' | 'apiSecret'>,
): Promise<string> {
  const at = new AccessToken(ctx.apiKey, ctx.apiSecret, { identity: ctx.egressId, ttl: TOKEN_TTL });
  at.kind = 'egress';
  at.addGrant({
    room: ctx.roomName,
    roomJoin: true,
    canSubscribe: true,
    canPublish: false,
    canPublishData: false,
    hidden: true,
    recorder: true,
  });
  return at.toJwt();
}

/** The template page URL: `base` with the LiveKit URL, token and layout merged into its query. */
export function templatePageUrl(base: string, params: { wsUrl: string; token: string; layout: string }): string {
  const url = new URL(base);
  url.searchParams.set('layout', params.layout);
  url.searchParams.set('url', params.wsUrl);
  url.searchParams.set('token', params.token);
  return url.toString();
}

/**
 * Chooses and builds a room composite's source; `field` names the request in errors (`room_composite`,
 * `egress.template`). Throws invalid_argument naming the field for a bad request or context.
 */
export async function roomCompositeSource(
  req: RoomCompositeFields,
  ctx: RoomCompositeContext,
  field = 'room_composite',
): Promise<RoomCompositeSource> {
  if (!ctx.roomName) throw errors.invalidArgument(`${field}.room_name`, ctx.roomName, 'is required');
  if (req.audioOnly && req.videoOnly) {
    throw errors.invalidArgument(`${field}.audio_only`, true, 'audio_only and video_only cannot both be set');
  }
  if (!/^wss?:\/\/[^/]/.test(ctx.wsUrl)) throw errors.invalidArgument('ws_url', ctx.wsUrl, 'must be a ws(s):// URL');
  const token = ctx.token || (await recorderToken(ctx));
  if (recordsAudioOnSdk(req)) {
    const mixing = audioMixingName(req.audioMixing ?? 0, `${field}.audio_mixing`);
    return { kind: 'sdk-audio', wsUrl: ctx.wsUrl, token, mixing };
  }
  let base = ctx.templateBase;
  if (req.customBaseUrl) {
    assertHttpUrl(req.customBaseUrl, `${field}.custom_base_url`);
    base = req.customBaseUrl;
  } else {
    assertHttpUrl(base, 'template_base');
  }
  return {
    kind: 'template',
    url: templatePageUrl(base, { wsUrl: ctx.wsUrl, token, layout: req.layout }),
    audioOnly: req.audioOnly,
    videoOnly: req.videoOnly,
    awaitStartSignal: true,
  };
}
