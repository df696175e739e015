/**
 * Fans one MPEG-TS feed (the encoder's) out to any number of stream senders. A sender joining late, or one that
 * fell behind and was cut off, starts with the current PAT and PMT and then the next random access point (a key
 * frame; any audio frame for audio-only feeds), so every receiver gets a stream it can decode from its first byte.
 */
import type { Readable } from 'node:stream';

export const TS_PACKET = 188;
const SYNC_BYTE = 0x47;
/** A sender this far behind is cut off and resynchronised at a later key frame, instead of buffering without end. */
export const MAX_BEHIND_BYTES = 8 * 1024 * 1024;

/** Where relayed bytes go; a Writable (a sender's stdin) fits. */
export interface RelaySink {
  write(chunk: Buffer): boolean;
  readonly writableLength: number;
  readonly destroyed?: boolean;
}

interface Subscriber {
  sink: RelaySink;
  synced: boolean;
  /** Times it fell too far behind and lost data. */
  cutOffs: number;
  /** Set by finish(): called once the sink got its last whole frame. */
  finishing?: () => void;
}

export interface Subscription {
  /** Stops relaying to this sink now. */
  close(): void;
  /**
   * Stops relaying at the next frame boundary, so the receiver's last frame is whole; resolves then (or after
   * `timeoutMs` if the feed stalls).
   */
  finish(timeoutMs?: number): Promise<void>;
  /** How often the sink fell behind and missed data. */
  readonly cutOffs: number;
}

const pidOf = (p: Buffer, at: number) => ((p[at + 1]! & 0x1f) << 8) | p[at + 2]!;
const payloadStart = (p: Buffer, at: number) => (p[at + 1]! & 0x40) !== 0;
const hasAdaptation = (p: Buffer, at: number) => (p[at + 3]! & 0x20) !== 0;
const randomAccess = (p: Buffer, at: number) => hasAdaptation(p, at) && p[at + 4]! > 0 && (p[at + 5]! & 0x40) !== 0;

export class TsRelay {
  private rest: Buffer = Buffer.alloc(0);
  private pat: Buffer | undefined;
  private pmt: Buffer | undefined;
  private pmtPid: number | undefined;
  private readonly subscribers = new Set<Subscriber>();
  /** Bytes of feed seen, for tests and logs. */
  bytesIn = 0;

  /** `video`: the feed carries video, so senders start at a key frame. */
  constructor(private readonly video: boolean) {}

  /** Reads the feed until it ends. */
  attach(feed: Readable): void {
    feed.on('data', (chunk: Buffer) => this.push(chunk));
  }

  subscribe(sink: RelaySink): Subscription {
    const sub: Subscriber = { sink, synced: false, cutOffs: 0 };
    this.subscribers.add(sub);
    return {
      close: () => this.subscribers.delete(sub),
      finish: (timeoutMs = 1000) =>
        new Promise<void>((resolve) => {
          if (!this.subscribers.has(sub) || !sub.synced) {
            this.subscribers.delete(sub);
            resolve();
            return;
          }
          const timer = setTimeout(done, timeoutMs);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          sub.finishing = () => {
            this.subscribers.delete(sub);
            done();
          };
        }),
      get cutOffs() {
        return sub.cutOffs;
      },
    };
  }

  /** Takes the next bytes of the feed. */
  push(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    let buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    // The encoder's pipe never loses bytes, but a feed that starts mid-packet is realigned on the sync byte.
    let start = 0;
    while (start < buf.length && buf[start] !== SYNC_BYTE) start++;
    if (start > 0) buf = buf.subarray(start);
    const usable = buf.length - (buf.length % TS_PACKET);
    this.rest = Buffer.from(buf.subarray(usable));
    if (usable === 0) return;
    const packets = buf.subarray(0, usable);
    const sync = this.scan(packets);
    for (const sub of this.subscribers) this.deliver(sub, packets, sync);
  }

  /** Notes PAT and PMT, and returns the offset of the first packet a new sender may start at (-1: none). */
  private scan(packets: Buffer): number {
    let sync = -1;
    for (let at = 0; at < packets.length; at += TS_PACKET) {
      const pid = pidOf(packets, at);
      if (pid === 0) {
        this.pat = Buffer.from(packets.subarray(at, at + TS_PACKET));
        this.pmtPid = patProgramMapPid(this.pat);
      } else if (pid === this.pmtPid) {
        this.pmt = Buffer.from(packets.subarray(at, at + TS_PACKET));
      } else if (sync < 0 && pid !== 0x1fff && payloadStart(packets, at)) {
        if (this.video ? randomAccess(packets, at) : true) sync = at;
      }
    }
    return sync;
  }

  private deliver(sub: Subscriber, packets: Buffer, sync: number): void {
    if (sub.sink.destroyed) return;
    if (sub.synced && sub.sink.writableLength > MAX_BEHIND_BYTES) {
      sub.synced = false;
      sub.cutOffs++;
    }
    if (sub.synced && sub.finishing) {
      // mpegtsmux writes each PES in one run of packets: the next payload start ends the previous frame.
      const boundary = firstPayloadStart(packets, this.pmtPid);
      if (boundary < 0) {
        sub.sink.write(packets);
        return;
      }
      if (boundary > 0) sub.sink.write(packets.subarray(0, boundary));
      sub.finishing();
      return;
    }
    if (sub.synced) {
      sub.sink.write(packets);
      return;
    }
    if (sync < 0 || !this.pat || !this.pmt || sub.sink.writableLength > MAX_BEHIND_BYTES / 2) return;
    sub.synced = true;
    sub.sink.write(Buffer.concat([this.pat, this.pmt, packets.subarray(sync)]));
  }
}

/** Offset of the first packet that starts a PES (not PAT/PMT/null), or -1. */
function firstPayloadStart(packets: Buffer, pmtPid: number | undefined): number {
  for (let at = 0; at < packets.length; at += TS_PACKET) {
    const pid = pidOf(packets, at);
    if (pid !== 0 && pid !== pmtPid && pid !== 0x1fff && payloadStart(packets, at)) return at;
  }
  return -1;
}

/** The PMT's PID of the first program in a PAT packet. */
function patProgramMapPid(p: Buffer): number | undefined {
  let at = 4;
  if (hasAdaptation(p, 0)) at += 1 + p[4]!;
  at += 1 + p[at]!; // pointer field
  // table header: id(1) flags+length(2) ts_id(2) version(1) section(1) last(1) = 8 bytes
  const sectionLength = ((p[at + 1]! & 0x0f) << 8) | p[at + 2]!;
  const end = at + 3 + sectionLength - 4; // before the CRC
  for (let i = at + 8; i + 4 <= end; i += 4) {
    const program = (p[i]! << 8) | p[i + 1]!;
    if (program !== 0) return ((p[i + 2]! & 0x1f) << 8) | p[i + 3]!;
  }
  return undefined;
}
