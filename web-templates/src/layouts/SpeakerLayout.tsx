import type { TrackReferenceOrPlaceholder } from '@livekit/components-react';
import { Tile } from './Tile';

/** The focused track on the stage, everyone else in a strip beside it (none in single-speaker). */
export function SpeakerLayout({
  focus,
  others,
  single,
}: {
  focus: TrackReferenceOrPlaceholder | undefined;
  others: TrackReferenceOrPlaceholder[];
  single: boolean;
}) {
  const strip = single ? [] : others;
  return (
    <div className={strip.length > 0 ? 'speaker-layout with-strip' : 'speaker-layout'}>
      <div className="stage">{focus ? <Tile trackRef={focus} /> : null}</div>
      {strip.length > 0 ? (
        <div className="strip">
          {strip.map((t) => (
            <Tile key={`${t.participant.identity}:${t.source}`} trackRef={t} />
          ))}
        </div>
      ) : null}
    </div>
  );
}
