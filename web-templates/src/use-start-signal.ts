import { RoomEvent, Track, type Room } from 'livekit-client';
import { useEffect } from 'react';
import { startRecording } from './egress-signals';

const POLL_MS = 100;
/** With only audio subscribed, wait this long for a video track before starting. */
const AUDIO_ONLY_GRACE_MS = 500;
/** Start anyway once something is subscribed but no video frame has been decoded by then. */
const FRAME_DECODE_TIMEOUT_MS = 5000;
/**
 * Video on screen this long before starting: the receiver's A/V sync settles in the first second or so
 * (measured: without the wait the first flash/beep pair of a recording was up to 400 ms apart, with it
 * every pair was within 120 ms).
 */
const SYNC_SETTLE_MS = 1500;

function videoFramesOnScreen(): boolean {
  for (const video of document.querySelectorAll('video')) {
    if (!video.paused && video.getVideoPlaybackQuality().totalVideoFrames > 0) return true;
  }
  return false;
}

/** Audio tracks published in the room that are not subscribed and playable yet. */
function audioPending(room: Room): number {
  let n = 0;
  for (const p of room.remoteParticipants.values()) {
    for (const pub of p.trackPublications.values()) {
      if (pub.kind === Track.Kind.Audio && !pub.isMuted && !(pub.isSubscribed && pub.track)) n++;
    }
  }
  return n;
}

function subscribed(room: Room, kind: Track.Kind): number {
  let n = 0;
  for (const p of room.remoteParticipants.values()) {
    for (const pub of p.trackPublications.values()) if (pub.kind === kind && pub.isSubscribed && pub.track) n++;
  }
  return n;
}

/**
 * Prints START_RECORDING once media actually plays: video has been on screen long enough for A/V sync to
 * settle and every published audio track is subscribed, or only audio is subscribed (after a short grace for
 * video), or anything is subscribed and no video frame has come by the decode timeout.
 */
export function useStartSignal(room: Room | undefined): void {
  useEffect(() => {
    if (!room) return;
    let firstSubscribedAt: number | undefined;
    let firstFrameAt: number | undefined;
    const check = (): boolean => {
      const videos = subscribed(room, Track.Kind.Video);
      const audios = subscribed(room, Track.Kind.Audio);
      if (videos + audios === 0) return false;
      firstSubscribedAt ??= Date.now();
      const waited = Date.now() - firstSubscribedAt;
      if (firstFrameAt === undefined && videoFramesOnScreen()) firstFrameAt = Date.now();
      return (
        // Published audio must be playing too, or the first seconds of the file would be silent.
        (firstFrameAt !== undefined && Date.now() - firstFrameAt >= SYNC_SETTLE_MS && audioPending(room) === 0) ||
        (videos === 0 && waited >= AUDIO_ONLY_GRACE_MS) ||
        (firstFrameAt === undefined && waited >= FRAME_DECODE_TIMEOUT_MS)
      );
    };
    const timer = setInterval(() => {
      if (room.state === 'connected' && check()) {
        clearInterval(timer);
        startRecording();
      }
    }, POLL_MS);
    const stop = (): void => clearInterval(timer);
    room.once(RoomEvent.Disconnected, stop);
    return () => {
      stop();
      room.off(RoomEvent.Disconnected, stop);
    };
  }, [room]);
}
