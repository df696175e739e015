/**
 * Which published tracks an SDK recording takes, recomputed on every change in the room: the request's video
 * (a track by id, or a participant's camera or screen share) and its audio (every track, tracks by id, or a
 * participant's), or the one track of a track egress.
 */
import type { SdkSourcePlan } from '@egress/shared';

/** A track published in the room, as far as selection cares. */
export interface PublishedTrack {
  sid: string;
  kind: 'audio' | 'video';
  source: 'camera' | 'microphone' | 'screen_share' | 'screen_share_audio' | 'unknown';
  identity: string;
}

/** The tracks to subscribe to and record. */
export interface Selection {
  video?: PublishedTrack;
  audio: PublishedTrack[];
}

/** What the plan asks for and which of `tracks` satisfy it now. */
export function selectTracks(
  source: Pick<SdkSourcePlan, 'video' | 'audio' | 'trackId'>,
  tracks: PublishedTrack[],
): Selection {
  if (source.trackId !== undefined) {
    const t = tracks.find((x) => x.sid === source.trackId);
    if (!t) return { audio: [] };
    return t.kind === 'video' ? { video: t, audio: [] } : { audio: [t] };
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
  const audio = a
    ? tracks.filter(
        (x) => x.kind === 'audio' && (a.all || a.trackIds.includes(x.sid) || a.identities.includes(x.identity)),
      )
    : [];
  return { ...(video ? { video } : {}), audio };
}
