import { RoomContext } from '@livekit/components-react';
import { Room, RoomEvent } from 'livekit-client';
import { useEffect, useState } from 'react';
import { endRecording, type TemplateParams } from './egress-signals';
import { RoomView } from './RoomView';
import { useLayoutName } from './use-layout';
import { useStartSignal } from './use-start-signal';

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
