import { RoomAudioRenderer, useSpeakingParticipants, useTracks } from '@livekit/components-react';
import { Track, type Room } from 'livekit-client';
import { useEffect, useState } from 'react';
import { parseLayout } from './layout-name';
import { GridLayout } from './layouts/GridLayout';
import { SpeakerLayout } from './layouts/SpeakerLayout';

/** The recorded view of a connected room in the chosen layout, with every remote audio track playing. */
export function RoomView({ room, layoutName }: { room: Room; layoutName: string }) {
  const { kind, theme } = parseLayout(layoutName);
  // One line per layout shown: the recorder's log then tells when an UpdateLayout took effect.
  useEffect(() => console.log(`layout: ${kind}-${theme}`), [kind, theme]);
  const all = useTracks(
    [
      { source: Track.Source.Camera, withPlaceholder: true },
      { source: Track.Source.ScreenShare, withPlaceholder: false },
    ],
    { onlySubscribed: false },
  );
  // The recorder itself is a (hidden) participant of the room: never show it.
  const tracks = all.filter((t) => t.participant.identity !== room.localParticipant.identity);
  const screenShare = tracks.find((t) => t.source === Track.Source.ScreenShare);
  const cameras = tracks.filter((t) => t.source === Track.Source.Camera);

  // The stage follows the last participant who spoke, so silence does not empty it.
  const speaking = useSpeakingParticipants().filter((p) => p.identity !== room.localParticipant.identity);
  const [lastSpeaker, setLastSpeaker] = useState<string>();
  const speakingNow = speaking[0]?.identity;
  useEffect(() => {
    if (speakingNow) setLastSpeaker(speakingNow);
  }, [speakingNow]);

  let view;
  // As upstream, a screen share turns the grid into the speaker layout.
  if (kind === 'grid' && !screenShare) {
    view = <GridLayout tracks={cameras} />;
  } else {
    const focus = screenShare ?? cameras.find((t) => t.participant.identity === lastSpeaker) ?? cameras[0];
    const others = tracks.filter((t) => t !== focus);
    view = <SpeakerLayout focus={focus} others={others} single={kind === 'single-speaker'} />;
  }
  return (
    <div className={`room theme-${theme}`} data-layout={`${kind}-${theme}`}>
      {view}
      <RoomAudioRenderer />
    </div>
  );
}
