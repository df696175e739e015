import type { TrackReferenceOrPlaceholder } from '@livekit/components-react';
import { Tile } from './Tile';

/** Every participant in an evenly divided grid, as square as the count allows. */
export function GridLayout({ tracks }: { tracks: TrackReferenceOrPlaceholder[] }) {
  const columns = Math.max(1, Math.ceil(Math.sqrt(tracks.length)));
  const rows = Math.max(1, Math.ceil(tracks.length / columns));
  return (
    <div
      className="grid-layout"
      style={{ gridTemplateColumns: `repeat(${columns}, 1fr)`, gridTemplateRows: `repeat(${rows}, 1fr)` }}
    >
      {tracks.map((t) => (
        <Tile key={`${t.participant.identity}:${t.source}`} trackRef={t} />
      ))}
    </div>
  );
}
