/**
 * Which published tracks an SDK recording takes, recomputed on every change in the room: the request's video
 * (a track by id, or a participant's camera or screen share) and its audio (tracks matched by routes, then every
 * other track when the request captures all), each with the channel it plays on; or the one track of a track
 * egress.
 */
import type {
  AudioChannelName,
  ParticipantKindName,
  SdkAudioMixing,
  SdkAudioRoute,
  SdkSourcePlan,
} from '@egress/shared';

/** A track published in the room, as far as selection cares. */
export interface PublishedTrack {
  sid: string;
  kind: 'audio' | 'video';
  source: 'camera' | 'microphone' | 'screen_share' | 'screen_share_audio' | 'unknown';
  identity: string;
  /** The publisher's participant kind. */
  participantKind: ParticipantKindName;
}

/** An audio track to record, and the channel it plays on. */
export type SelectedAudio = PublishedTrack & { channel: AudioChannelName };

/** The tracks to subscribe to and record. */
export interface Selection {
  video?: PublishedTrack;
  audio: SelectedAudio[];
}

/**
 * DUAL_CHANNEL_ALTERNATE's memory: a track gets left, right, left... in the order it is first selected and
 * keeps that channel for the whole recording, whoever comes or goes. One per recording.
 */
export class AlternateChannels {
  private readonly given = new Map<string, AudioChannelName>();

  channelOf(sid: string): AudioChannelName {
    let channel = this.given.get(sid);
    if (!channel) {
      channel = this.given.size % 2 === 0 ? 'left' : 'right';
      this.given.set(sid, channel);
    }
    return channel;
  }
}

/**
 * What the plan asks for and which of `tracks` satisfy it now. `alternate` keeps DUAL_CHANNEL_ALTERNATE's
 * channels across calls; pass the recording's own.
 */
export function selectTracks(
  source: Pick<SdkSourcePlan, 'video' | 'audio' | 'trackId'>,
  tracks: PublishedTrack[],
  alternate = new AlternateChannels(),
): Selection {
  if (source.trackId !== undefined) {
    const t = tracks.find((x) => x.sid === source.trackId);
    if (!t) return { audio: [] };
    return t.kind === 'video' ? { video: t, audio: [] } : { audio: [{ ...t, channel: 'both' }] };
  }
  let video: PublishedTrack | undefined;
  const want = source.video;
  if (want && 'trackId' in want) {
    video = tracks.find((x) => x.sid === want.trackId && x.kind === 'video');
  } else if (want) {
    const theirs = tracks.filter((x) => x.identity === want.identity && x.kind === 'video');
    const order = want.preferScreenShare ? ['screen_share', 'camera'] : ['camera', 'screen_share'];
    video = order.map((s) => theirs.find((x) => x.source === s)).find((x) => x) ?? theirs[0];
  }
  const a = source.audio;
  const audio: SelectedAudio[] = [];
  for (const t of tracks) {
    if (!a || t.kind !== 'audio') continue;
    const route = a.routes.find((r) => matches(r, t));
    if (route) audio.push({ ...t, channel: route.channel });
    else if (a.all) audio.push({ ...t, channel: mixedChannel(a.mixing, t, alternate) });
  }
  return { ...(video ? { video } : {}), audio };
}

/** The channel of a track no route took, by the room composite's audio_mixing. */
function mixedChannel(mixing: SdkAudioMixing, t: PublishedTrack, alternate: AlternateChannels): AudioChannelName {
  if (mixing === 'dual_channel_agent') return t.participantKind === 'agent' ? 'left' : 'right';
  if (mixing === 'dual_channel_alternate') return alternate.channelOf(t.sid);
  return 'both';
}

function matches(route: SdkAudioRoute, t: PublishedTrack): boolean {
  const m = route.match;
  if ('trackId' in m) return m.trackId === t.sid;
  if ('identity' in m) return m.identity === t.identity;
  return m.participantKind === t.participantKind;
}
