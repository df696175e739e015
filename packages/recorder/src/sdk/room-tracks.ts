/**
 * The recorder's presence in the room: joins as the hidden recorder, subscribes to exactly the selected tracks
 * (track-selection.ts) as they come and go, and hands on their decoded frames: video as packed I420, audio as
 * 48 kHz stereo S16. Tells when the video goes away (mute, unpublish), when what the request records is gone for
 * good (the participant left, the track was unpublished) and when the room is left.
 */
import { EventEmitter } from 'node:events';
import {
  AudioStream,
  DisconnectReason,
  ParticipantKind,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  Room,
  RoomEvent,
  TrackKind,
  TrackSource,
  VideoBufferType,
  VideoStream,
} from '@livekit/rtc-node';
import type { AudioChannelName, ParticipantKindName, SdkSourcePlan } from '@egress/shared';
import { SDK_AUDIO_CHANNELS, SDK_AUDIO_RATE } from '../pipeline/sdk-argv.js';
import { AlternateChannels, selectTracks, type PublishedTrack, type Selection } from './track-selection.js';

export interface RoomTracksEvents {
  /** A decoded video frame, packed I420, due on screen at `at` (unix ms). */
  video: [data: Uint8Array, width: number, height: number, at: number];
  /** The recorded video stopped (muted, unpublished, switched): black until the next frame. */
  videoGone: [];
  /** Decoded audio of track `sid`, interleaved stereo S16 at 48 kHz, and the channel it plays on. */
  audio: [sid: string, samples: Int16Array, channel: AudioChannelName];
  audioGone: [sid: string];
  /** A recorded audio track was muted or unmuted. */
  audioMuted: [sid: string, muted: boolean];
  /** The selection was recomputed (something was published, unpublished, joined or left). */
  changed: [];
  /** What the request records is gone for good (participant left, track unpublished). */
  sourceGone: [why: string];
  /** The room was left (deleted, recorder removed, connection lost). */
  disconnected: [why: string];
}

const SOURCES: Partial<Record<TrackSource, PublishedTrack['source']>> = {
  [TrackSource.SOURCE_CAMERA]: 'camera',
  [TrackSource.SOURCE_MICROPHONE]: 'microphone',
  [TrackSource.SOURCE_SCREENSHARE]: 'screen_share',
  [TrackSource.SOURCE_SCREENSHARE_AUDIO]: 'screen_share_audio',
};

// By name: the protocol numbers the same kinds differently (CONNECTOR is 5 here, 7 there).
const KINDS: Record<ParticipantKind, ParticipantKindName> = {
  [ParticipantKind.STANDARD]: 'standard',
  [ParticipantKind.INGRESS]: 'ingress',
  [ParticipantKind.EGRESS]: 'egress',
  [ParticipantKind.SIP]: 'sip',
  [ParticipantKind.AGENT]: 'agent',
  [ParticipantKind.CONNECTOR]: 'connector',
  [ParticipantKind.BRIDGE]: 'bridge',
};

type Reader = { cancel(): Promise<void> };

/** A frame timestamp further from now than this is not on the clock we think: the handling time is used. */
const MAX_FRAME_AGE_MS = 2000;

export class RoomTracks extends EventEmitter<RoomTracksEvents> {
  private readonly room = new Room();
  private selection: Selection = { audio: [] };
  private readonly readers = new Map<string, Reader>();
  private videoSid: string | undefined;
  /** Tracks muted now: a muted video is black even if frames still trickle in before the publisher stops. */
  private readonly muted = new Set<string>();
  private closed = false;
  /** Handling delay of the first frames against their render time (ms), for the log. */
  private readonly frameAges: number[] = [];
  /** Sids of tracks the request was recording at some point: the end of all of them ends a track (composite) egress. */
  private readonly seen = new Set<string>();
  /** DUAL_CHANNEL_ALTERNATE channels, kept for the whole recording. */
  private readonly alternate = new AlternateChannels();

  constructor(
    private readonly source: SdkSourcePlan,
    private readonly log: (line: string) => void,
  ) {
    super();
  }

  /** Joins the room; rejects when the server refuses. */
  async connect(): Promise<void> {
    const room = this.room;
    room.on(RoomEvent.TrackPublished, () => this.refresh());
    room.on(RoomEvent.TrackUnpublished, (pub, p) => this.onUnpublished(pub, p));
    room.on(RoomEvent.TrackSubscribed, (track, pub, p) => this.onSubscribed(track, pub, p));
    room.on(RoomEvent.TrackUnsubscribed, (_track, pub) => this.stopReading(pub.sid ?? ''));
    room.on(RoomEvent.TrackMuted, (pub) => {
      if (pub.sid !== undefined) this.muted.add(pub.sid);
      if (pub.sid !== undefined && pub.sid === this.videoSid) this.emit('videoGone');
      if (this.selection.audio.some((a) => a.sid === pub.sid)) this.emit('audioMuted', pub.sid ?? '', true);
    });
    room.on(RoomEvent.TrackUnmuted, (pub) => {
      if (pub.sid !== undefined) this.muted.delete(pub.sid);
      if (this.selection.audio.some((a) => a.sid === pub.sid)) this.emit('audioMuted', pub.sid ?? '', false);
    });
    room.on(RoomEvent.ParticipantConnected, () => this.refresh());
    room.on(RoomEvent.ParticipantDisconnected, (p) => this.onParticipantLeft(p));
    room.on(RoomEvent.Disconnected, (reason) => {
      if (this.closed) return;
      this.emit('disconnected', `room left: ${DisconnectReason[reason] ?? reason}`);
    });
    await room.connect(this.source.wsUrl, this.source.token, { autoSubscribe: false, dynacast: false });
    this.log(`joined room ${this.source.roomName} as ${room.localParticipant?.identity ?? '?'}`);
    this.refresh();
  }

  /** The kind of the track a track egress records, once it is published (undefined until then). */
  /** The recorded track as the room lists it (publisher, kind, source), once published. */
  trackInfo(sid: string): PublishedTrack | undefined {
    return this.published().find((x) => x.sid === sid);
  }

  trackKind(): 'audio' | 'video' | undefined {
    const t = this.published().find((x) => x.sid === this.source.trackId);
    return t?.kind;
  }

  /** The published size of a video track, when the server knows it. */
  trackSize(sid: string): { width: number; height: number } | undefined {
    for (const p of this.room.remoteParticipants.values()) {
      const pub = p.trackPublications.get(sid);
      if (pub?.width && pub.height) return { width: pub.width, height: pub.height };
    }
    return undefined;
  }

  /** Leaves the room and stops every reader; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ages = this.frameAgeSummary();
    if (ages) this.log(ages);
    this.room.removeAllListeners();
    await Promise.all([...this.readers.values()].map((r) => r.cancel().catch(() => undefined)));
    this.readers.clear();
    await this.room.disconnect().catch(() => undefined);
  }

  private published(): PublishedTrack[] {
    const out: PublishedTrack[] = [];
    for (const p of this.room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) {
        if (!pub.sid) continue;
        const kind =
          pub.kind === TrackKind.KIND_VIDEO ? 'video' : pub.kind === TrackKind.KIND_AUDIO ? 'audio' : undefined;
        if (!kind) continue;
        out.push({
          sid: pub.sid,
          kind,
          source: SOURCES[pub.source ?? TrackSource.SOURCE_UNKNOWN] ?? 'unknown',
          identity: p.identity,
          participantKind: KINDS[p.kind] ?? 'standard',
        });
      }
    }
    return out;
  }

  /** Recomputes the selection and subscribes to exactly it. */
  private refresh(): void {
    if (this.closed) return;
    const next = selectTracks(this.source, this.published(), this.alternate);
    const wanted = new Set([next.video?.sid, ...next.audio.map((a) => a.sid)].filter((s): s is string => !!s));
    const before = this.selection;
    this.selection = next;
    if (before.video?.sid !== next.video?.sid) {
      if (before.video) {
        this.log(`video ${before.video.sid} no longer recorded`);
        this.emit('videoGone');
      }
      this.videoSid = next.video?.sid;
    }
    for (const sid of wanted) this.seen.add(sid);
    for (const p of this.room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) {
        const remote = pub as RemoteTrackPublication;
        const want = wanted.has(pub.sid ?? '');
        if (remote.subscribed !== want) {
          this.log(`${want ? 'subscribing to' : 'unsubscribing from'} ${pub.sid} (${p.identity})`);
          remote.setSubscribed(want);
        }
        if (!want) this.stopReading(pub.sid ?? '');
      }
    }
    this.emit('changed');
  }

  private onSubscribed(track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant): void {
    const sid = pub.sid ?? '';
    if (this.closed || this.readers.has(sid)) return;
    if (pub.muted) this.muted.add(sid);
    if (sid === this.videoSid && track.kind === TrackKind.KIND_VIDEO) {
      this.log(`recording video ${sid} of ${p.identity}`);
      void this.readVideo(sid, new VideoStream(track));
      return;
    }
    const audio = this.selection.audio.find((a) => a.sid === sid);
    if (audio && track.kind === TrackKind.KIND_AUDIO) {
      this.log(`recording audio ${sid} of ${p.identity} (${audio.participantKind}, channel ${audio.channel})`);
      const stream = new AudioStream(track, { sampleRate: SDK_AUDIO_RATE, numChannels: SDK_AUDIO_CHANNELS });
      void this.readAudio(sid, stream, audio.channel);
    }
  }

  private async readVideo(sid: string, stream: VideoStream): Promise<void> {
    const reader = stream.getReader();
    this.readers.set(sid, reader);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.closed) break;
        if (sid !== this.videoSid || this.muted.has(sid)) continue;
        const frame =
          value.frame.type === VideoBufferType.I420 ? value.frame : value.frame.convert(VideoBufferType.I420);
        this.emit('video', frame.data, frame.width, frame.height, this.renderTime(value.timestampUs));
      }
    } catch (err) {
      this.log(`video ${sid} reader: ${(err as Error).message}`);
    } finally {
      if (this.readers.get(sid) === reader) this.readers.delete(sid);
      if (sid === this.videoSid && !this.closed) this.emit('videoGone');
    }
  }

  /**
   * When a frame is due on screen, from its timestamp (WebRTC's render time, on the monotonic clock Node's hrtime
   * reads; a decoded frame is handed over shortly before or after it), so frames this process takes late (a stall,
   * a burst) keep their place; the time of handling when the timestamp is not on that clock.
   */
  private renderTime(timestampUs: bigint): number {
    const now = Date.now();
    const ageMs = Number(process.hrtime.bigint() / 1000n - timestampUs) / 1000;
    const usable = Math.abs(ageMs) < MAX_FRAME_AGE_MS;
    if (this.frameAges.length < 1000) this.frameAges.push(usable ? ageMs : NaN);
    return usable ? now - ageMs : now;
  }

  /** How late frames were handled against their render times: min / median / max ms, and how many were unusable. */
  frameAgeSummary(): string | undefined {
    const ages = this.frameAges.filter((a) => !Number.isNaN(a)).sort((a, b) => a - b);
    if (this.frameAges.length === 0) return undefined;
    const at = (q: number) => (ages.length ? ages[Math.floor(q * (ages.length - 1))]!.toFixed(1) : '-');
    const bad = this.frameAges.length - ages.length;
    return `video frames handled ${at(0)} / ${at(0.5)} / ${at(1)} ms after their render time (min / median / max of ${ages.length})${bad ? `, ${bad} without a usable timestamp` : ''}`;
  }

  /** `channel` is fixed for the recording: routes do not change and alternate channels stick. */
  private async readAudio(sid: string, stream: AudioStream, channel: AudioChannelName): Promise<void> {
    const reader = stream.getReader();
    this.readers.set(sid, reader);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.closed) break;
        if (value.sampleRate !== SDK_AUDIO_RATE || value.channels !== SDK_AUDIO_CHANNELS) {
          this.log(`audio ${sid}: dropped a frame of ${value.sampleRate} Hz x ${value.channels}`);
          continue;
        }
        this.emit('audio', sid, value.data, channel);
      }
    } catch (err) {
      this.log(`audio ${sid} reader: ${(err as Error).message}`);
    } finally {
      if (this.readers.get(sid) === reader) this.readers.delete(sid);
      if (!this.closed) this.emit('audioGone', sid);
    }
  }

  private stopReading(sid: string): void {
    const reader = this.readers.get(sid);
    if (!reader) return;
    this.readers.delete(sid);
    void reader.cancel().catch(() => undefined);
  }

  private onUnpublished(pub: RemoteTrackPublication, p: RemoteParticipant): void {
    const sid = pub.sid ?? '';
    this.stopReading(sid);
    this.refresh();
    if (!this.seen.has(sid)) return;
    const t = this.source.requestType;
    if (t === 'track') this.emit('sourceGone', `track ${sid} of ${p.identity} was unpublished`);
    else if (t === 'track_composite' && this.nothingLeft((x) => x.sid !== sid)) {
      this.emit('sourceGone', 'every recorded track was unpublished');
    }
  }

  private onParticipantLeft(p: RemoteParticipant): void {
    this.refresh();
    const v = this.source.video;
    const t = this.source.requestType;
    if (t === 'participant' && v && 'identity' in v && v.identity === p.identity) {
      this.emit('sourceGone', `participant ${p.identity} left`);
    } else if (t === 'track' || t === 'track_composite') {
      const theirs = [...this.seen].some((sid) => p.trackPublications.has(sid));
      if (theirs && this.nothingLeft((x) => x.identity !== p.identity)) {
        this.emit('sourceGone', `${p.identity}, who published the recorded tracks, left`);
      }
    }
  }

  /** Whether the request would record nothing from the tracks `keep` lets through (the departing ones may still be listed). */
  private nothingLeft(keep: (t: PublishedTrack) => boolean): boolean {
    const left = selectTracks(this.source, this.published().filter(keep));
    return left.audio.length === 0 && !left.video;
  }
}
