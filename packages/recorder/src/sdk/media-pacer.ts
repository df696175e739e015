/**
 * The constant-rate feed of an SDK recording. Frames and samples arrive when the room delivers them (late, in
 * bursts, or not at all while a track is muted or gone); the pacer writes exactly `fps` video frames and 48000
 * stereo samples per second of wall time, from a start `t0`, so the raw parsers' timeline is the wall clock.
 * Everything is placed by arrival time and written `lagMs` later, which leaves room for late arrivals (this
 * process stalls on a busy machine, and frames then come in bursts):
 * - video: frame n shows the newest frame that arrived by t0 + n/fps (black before the first and after a track
 *   goes away; the last frame repeats while none arrive); a frame is only converted once it is shown;
 * - audio: each source's samples are laid end to end from an anchor, the earliest arrival its samples allow
 *   (a source delivers in real time, so a late frame was delayed, an early one moves the anchor back); a source
 *   whose frames keep coming late after a break (a mute, a pause) is anchored again where they come, unless this
 *   process itself stalled lately: its backlog of frames is then handed over late, and stays contiguous. Sources
 *   are mixed, each on both channels or as mono on one (an audio route's channel); where none has samples,
 *   silence is written.
 */
import type { AudioChannelName } from '@egress/shared';

/** A frame, or what makes it (called only if the frame is shown). */
export type VideoInput = Buffer | (() => Buffer);

/** Where the paced media goes. */
export interface PacerSinks {
  video?: (frame: Buffer) => void;
  audio?: (pcm: Buffer) => void;
}

export interface MediaPacerOptions {
  fps: number;
  /** The frame shown before any video and after a track goes away. */
  black?: Buffer;
  sinks: PacerSinks;
  /** How far behind the wall clock media is written (default 500 ms). */
  lagMs?: number;
  /** Clock, for tests (default Date.now). */
  now?: () => number;
  /** Tick period (default 10 ms). */
  tickMs?: number;
}

const RATE = 48_000;
const PER_MS = RATE / 1000;
/** Ring of mixed stereo samples: 4 s is far more than the lag. */
const RING = RATE * 4;
/** Bytes written per audio chunk at most: 20 ms. */
const CHUNK = RATE / 50;
/** A frame this much later than its source's samples so far allow is late... */
const GAP_MS = 300;
/** ...and a source whose frames keep coming late for this long has paused: it is anchored again... */
const PAUSE_MS = 100;
/** ...unless this process stalled (a tick this late) within the last STALL_GRACE_MS: the frames are its backlog. */
const STALL_MS = 100;
const STALL_GRACE_MS = 2000;

/** Counts for logs and the bench. */
export interface PacerStats {
  /** Frames written (with repeats and black). */
  framesWritten: number;
  /** Distinct frames that made it into the output. */
  framesShown: number;
  samplesWritten: number;
  /** Times an audio source was anchored again after a pause. */
  audioResyncs: number;
  /** Times this process stalled (a tick more than STALL_MS late). */
  stalls: number;
  /** Media time (ms) the first video frame and the first audio samples arrived at: before, black and silence. */
  firstVideoMs?: number;
  firstAudioMs?: number;
}

export class MediaPacer {
  private readonly fps: number;
  private readonly lagMs: number;
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly sinks: PacerSinks;
  private readonly black: Buffer | undefined;
  private t0: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly videoQueue: { at: number; frame: VideoInput }[] = [];
  private current: Buffer | undefined;
  private currentShown = false;
  private readonly ring = new Int32Array(RING * 2);
  private readonly sources = new Map<string, { anchor: number; count: number; lateSince?: number }>();
  private lastTickAt: number | undefined;
  private stalledAt = -Infinity;
  readonly stats: PacerStats = { framesWritten: 0, framesShown: 0, samplesWritten: 0, audioResyncs: 0, stalls: 0 };

  constructor(o: MediaPacerOptions) {
    if (!Number.isInteger(o.fps) || o.fps < 1) throw new Error(`fps must be a positive integer, not ${o.fps}`);
    if (o.sinks.video && !o.black) throw new Error('a video sink needs a black frame');
    this.fps = o.fps;
    this.lagMs = o.lagMs ?? 500;
    this.now = o.now ?? Date.now;
    this.tickMs = o.tickMs ?? 10;
    this.sinks = o.sinks;
    this.black = o.black;
    this.current = o.black;
  }

  /** Wall time (unix ms) of media time 0, once started. */
  get startedAt(): number | undefined {
    return this.t0;
  }

  /** Starts the clock: media time 0 is now. With `timer` false, the owner calls tick() itself. */
  start({ timer = true }: { timer?: boolean } = {}): number {
    if (this.t0 !== undefined) return this.t0;
    this.t0 = this.now();
    if (timer) this.timer = setInterval(() => this.tick(), this.tickMs);
    return this.t0;
  }

  /** A new frame arrived (or was captured) at `at`: at the output size, or made so when it is shown. */
  pushVideo(frame: VideoInput, at = this.now()): void {
    if (this.t0 === undefined || !this.sinks.video) return;
    this.stats.firstVideoMs ??= Math.max(0, at - this.t0);
    // Frames handed over late in a burst may carry earlier capture times than ones already queued.
    let i = this.videoQueue.length;
    while (i > 0 && this.videoQueue[i - 1]!.at > at) i--;
    this.videoQueue.splice(i, 0, { at, frame });
  }

  /** The video went away (muted, unpublished, left): black from `at`. */
  videoGone(at = this.now()): void {
    if (this.t0 === undefined || !this.sinks.video || !this.black) return;
    this.videoQueue.push({ at, frame: this.black });
  }

  /**
   * Interleaved stereo 48 kHz samples from `source` (a track), which arrived at `at`, played on `channel`:
   * left or right gets the samples mixed to mono ((L+R)/2) and the other channel nothing of them.
   */
  pushAudio(source: string, samples: Int16Array, at = this.now(), channel: AudioChannelName = 'both'): void {
    const t0 = this.t0;
    if (t0 === undefined || !this.sinks.audio) return;
    const n = samples.length >> 1;
    this.stats.firstAudioMs ??= Math.max(0, at - t0 - n / PER_MS);
    let st = this.sources.get(source);
    // Where this frame says the source's first sample belongs.
    const implied = Math.round((at - t0) * PER_MS) - n - (st?.count ?? 0);
    if (!st) {
      st = { anchor: implied, count: 0 };
      this.sources.set(source, st);
    } else if (implied < st.anchor) {
      st.anchor = implied;
    } else if (implied - st.anchor <= GAP_MS * PER_MS || at - this.stalledAt < STALL_GRACE_MS) {
      st.lateSince = undefined;
    } else if (st.lateSince === undefined) {
      st.lateSince = at;
    } else if (at - st.lateSince >= PAUSE_MS) {
      // Late frames for a while of real time: the source paused. A stall of this process shows as late frames
      // handed over all at once, which then catch up.
      this.stats.audioResyncs++;
      st.anchor = implied + st.count;
      st.count = 0;
      st.lateSince = undefined;
    }
    const start = st.anchor + st.count;
    st.count += n;
    const written = this.stats.samplesWritten;
    const side = channel === 'right' ? 1 : 0;
    for (let i = 0; i < n; i++) {
      const pos = start + i;
      if (pos < written || pos >= written + RING) continue;
      const idx = (pos % RING) * 2;
      const l = samples[2 * i]!;
      const r = samples[2 * i + 1]!;
      if (channel === 'both') {
        this.ring[idx] = this.ring[idx]! + l;
        this.ring[idx + 1] = this.ring[idx + 1]! + r;
      } else {
        this.ring[idx + side] = this.ring[idx + side]! + ((l + r) >> 1);
      }
    }
  }

  /** A source is gone: its next samples start where they arrive. */
  forgetAudio(source: string): void {
    this.sources.delete(source);
  }

  /** Writes everything due up to `lagMs` ago. */
  tick(now = this.now()): void {
    if (this.t0 === undefined) return;
    if (this.lastTickAt !== undefined && now - this.lastTickAt > STALL_MS) {
      this.stalledAt = now;
      this.stats.stalls++;
    }
    this.lastTickAt = now;
    this.writeUntil(now - this.t0 - this.lagMs);
  }

  /** Stops the clock, writing what is due up to now (nothing is held back at the end). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.t0 !== undefined) this.writeUntil(this.now() - this.t0);
    this.t0 = undefined;
    this.lastTickAt = undefined;
  }

  private writeUntil(mediaMs: number): void {
    const t0 = this.t0!;
    const video = this.sinks.video;
    if (video) {
      for (;;) {
        const frameMs = (this.stats.framesWritten * 1000) / this.fps;
        if (frameMs > mediaMs) break;
        let next: VideoInput | undefined;
        while (this.videoQueue.length > 0 && this.videoQueue[0]!.at <= t0 + frameMs) {
          next = this.videoQueue.shift()!.frame;
        }
        if (next !== undefined) {
          this.current = typeof next === 'function' ? next() : next;
          this.currentShown = false;
        }
        if (!this.currentShown && this.current !== this.black) this.stats.framesShown++;
        this.currentShown = true;
        video(this.current!);
        this.stats.framesWritten++;
      }
    }
    const audio = this.sinks.audio;
    if (audio) {
      const target = Math.floor(mediaMs * PER_MS);
      while (this.stats.samplesWritten < target) {
        const from = this.stats.samplesWritten;
        const n = Math.min(CHUNK, target - from);
        const out = Buffer.allocUnsafe(n * 4);
        for (let i = 0; i < n; i++) {
          const idx = ((from + i) % RING) * 2;
          out.writeInt16LE(clamp(this.ring[idx]!), i * 4);
          out.writeInt16LE(clamp(this.ring[idx + 1]!), i * 4 + 2);
          this.ring[idx] = 0;
          this.ring[idx + 1] = 0;
        }
        this.stats.samplesWritten += n;
        audio(out);
      }
    }
  }
}

const clamp = (v: number) => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
