import { RoomEvent, type Participant, type Room } from 'livekit-client';
import { useEffect, useState } from 'react';
import { layoutFromMetadata } from './layout-name';

/**
 * The layout name: the `layout` query parameter until the recorder participant's metadata says otherwise
 * (UpdateLayout on the LiveKit server sets it to `{"layout": "..."}`).
 */
export function useLayoutName(room: Room | undefined, initial: string): string {
  const [layout, setLayout] = useState(initial);
  useEffect(() => {
    if (!room) return;
    const fromMetadata = layoutFromMetadata(room.localParticipant.metadata);
    if (fromMetadata !== undefined) setLayout(fromMetadata);
    const onChange = (_previous: string | undefined, participant: Participant): void => {
      if (participant !== room.localParticipant) return;
      const next = layoutFromMetadata(participant.metadata);
      if (next !== undefined) setLayout(next);
    };
    room.on(RoomEvent.ParticipantMetadataChanged, onChange);
    return () => {
      room.off(RoomEvent.ParticipantMetadataChanged, onChange);
    };
  }, [room]);
  return layout;
}
