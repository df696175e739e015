import { VideoTrack, isTrackReference, type TrackReferenceOrPlaceholder } from '@livekit/components-react';

/** One participant's video, or its name on a placeholder while it shows none. */
export function Tile({ trackRef }: { trackRef: TrackReferenceOrPlaceholder }) {
  const { participant } = trackRef;
  const showVideo = isTrackReference(trackRef) && !trackRef.publication.isMuted && trackRef.publication.track;
  return (
    <div className="tile" data-identity={participant.identity}>
      {showVideo ? (
        <VideoTrack trackRef={trackRef} className="tile-video" />
      ) : (
        <div className="tile-placeholder">{participant.name || participant.identity}</div>
      )}
      <div className="tile-name">{participant.name || participant.identity}</div>
    </div>
  );
}
