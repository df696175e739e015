import { RoomContext } from '@livekit/components-react';
import { Room, RoomEvent } from 'livekit-client';
import { useEffect, useState } from 'react';
import { endRecording, type TemplateParams } from './egress-signals';
import { RoomView } from './RoomView';
import { useLayoutName } from './use-layout';
import { useStartSignal } from './use-start-signal';

/** Playout delay of every subscribed track (ms). */
const PLAYOUT_DELAY_MS = 150;

/** A failure the recorder reports as the egress error (upstream's `div.error` contract). */
export function ErrorPage({ message }: { message: string }) {
  return <div className="error">{message}</div>;
}

/** Joins the room as the recorder and shows it until the server disconnects the recorder. */
export function App({ params }: { params: TemplateParams }) {
  const [room, setRoom] = useState<Room>();
  const [error, setError] = useState<string>();
  const layoutName = useLayoutName(room, params.layout);
  useStartSignal(room);

  useEffect(() => {
    // The recorder receives only: no simulcast layer switching by element size, no publishing.
    const r = new Room({ adaptiveStream: false, dynacast: false });
    r.on(RoomEvent.Disconnected, () => endRecording());
    // The browser lip-syncs only tracks of one stream (a room with sync_streams); otherwise each jitter buffer
    // settles on its own delay and audio trailed video by 45-150 ms. One playout delay for every track, above
    // what either buffer usually needs on loopback, keeps them together (250 ms took longer to settle).
    r.on(RoomEvent.TrackSubscribed, (track) => {
      const receiver = track.receiver;
      const standard = !!receiver && 'jitterBufferTarget' in receiver;
      if (standard) receiver.jitterBufferTarget = PLAYOUT_DELAY_MS;
      else track.setPlayoutDelay(PLAYOUT_DELAY_MS / 1000);
      // The recorder logs the page's console: this line shows the delay took.
      console.log(
        `playout delay ${PLAYOUT_DELAY_MS} ms for ${track.kind} (${standard ? 'jitterBufferTarget' : 'hint'})`,
      );
    });
    let cancelled = false;
    r.connect(params.url, params.token, { autoSubscribe: true }).then(
      () => {
        if (!cancelled) setRoom(r);
      },
      (err: unknown) => {
        if (!cancelled) setError(`could not connect to the room: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    return () => {
      cancelled = true;
      void r.disconnect();
    };
  }, [params.url, params.token]);

  if (error) return <ErrorPage message={error} />;
  if (!room) return <div className="room theme-dark" />;
  return (
    <RoomContext.Provider value={room}>
      <RoomView room={room} layoutName={layoutName} />
    </RoomContext.Provider>
  );
}
