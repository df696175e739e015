/**
 * One stream destination: a gst-launch-1.0 that reads the encoder's MPEG-TS on stdin and sends it to one URL
 * (FLV over RTMP/RTMPS, or the TS as-is over SRT). Each URL has its own process, so a failing destination fails
 * alone and URLs can be added and removed while the recording runs.
 */
import { EventEmitter } from 'node:events';
import { formatGstError, GstLaunch, type GstExit } from '../../gst/launch.js';
import type { TsRelay, Subscription } from './ts-relay.js';

export interface StreamWorkerOptions {
  url: string;
  protocol: 'rtmp' | 'srt';
  video: boolean;
  audio: boolean;
  relay: TsRelay;
  log?: (line: string) => void;
}

export interface StreamWorkerEvents {
  /** The destination accepted the stream (at `since`, unix ms). */
  connected: [since: number];
  /** The sender ended; `error` says why when it was not a requested stop. */
  ended: [{ error?: string; exit: GstExit }];
}

/**
 * srtsink reports no connection, only failures ("Error on SRT socket: Connection timeout" 3-4 s after its first
 * write to a peer that is not there); a sender that has run this long without one has a peer.
 */
const SRT_CONNECTED_AFTER_MS = 6000;
const SRT_SOCKET_ERROR = /^WARNING: from element \S+: (Error on SRT socket: .*)$/;
const RTMP_PUBLISHED = /publish success|NetStream\.Publish\.Start/;

/** gst-launch arguments for one destination. */
export function streamSenderArgv(o: Pick<StreamWorkerOptions, 'url' | 'protocol' | 'video' | 'audio'>): string[] {
  if (o.protocol === 'srt') {
    // srtsink wants whole 7-packet buffers; tsparse realigns what the pipe delivers.
    return [
      ...['fdsrc', 'fd=0', '!', 'tsparse', 'alignment=7', '!', 'srtsink', `uri=${o.url}`],
      ...['wait-for-connection=false', 'async=false', 'sync=false'],
    ];
  }
  const argv = [
    ...['flvmux', 'name=flv', 'streamable=true', '!', 'rtmp2sink', `location=${o.url}`, 'async=false', 'sync=false'],
    ...['fdsrc', 'fd=0', '!', 'tsdemux', 'name=demux'],
  ];
  // Caps on each branch make gst-launch link each demuxer pad to the branch that fits it.
  if (o.video) argv.push('demux.', '!', 'video/x-h264', '!', 'queue', '!', 'h264parse', '!', 'flv.');
  if (o.audio) argv.push('demux.', '!', 'audio/mpeg', '!', 'queue', '!', 'aacparse', '!', 'flv.');
  return argv;
}

export class StreamWorker extends EventEmitter<StreamWorkerEvents> {
  private readonly gst: GstLaunch;
  private readonly subscription: Subscription;
  private connected = false;
  private stopping = false;
  private srtTimer: NodeJS.Timeout | undefined;
  private playingAt: number | undefined;
  /** Why the sender was killed: srtsink only warns about a lost peer and retries forever on its own. */
  private killedFor: string | undefined;

  constructor(private readonly o: StreamWorkerOptions) {
    super();
    const log = o.log ?? (() => {});
    this.gst = new GstLaunch(streamSenderArgv(o), {
      stdin: true,
      // The URL holds the stream key or SRT passphrase: never in an argv other users can read.
      privatePipeline: true,
      // rtmpclient at INFO names the moment the server accepts the publish.
      ...(o.protocol === 'rtmp' ? { env: { GST_DEBUG: 'rtmpclient:4' } } : {}),
      log: (line) => {
        if (!this.connected && o.protocol === 'rtmp' && RTMP_PUBLISHED.test(line)) this.markConnected();
        const srtError = o.protocol === 'srt' ? SRT_SOCKET_ERROR.exec(line) : null;
        if (srtError && !this.stopping && this.killedFor === undefined) {
          this.killedFor = srtError[1]!;
          void this.gst.kill();
        }
        // The URL is in gst-launch's own error texts; the caller redacts what it logs.
        if (!/^\s*\d+:\d+:\d+\.\d+ .*rtmpclient/.test(line)) log(line);
      },
    });
    this.subscription = o.relay.subscribe(this.gst.input!);
    if (o.protocol === 'srt') {
      this.gst.once('playing', () => {
        this.playingAt = Date.now();
        this.srtTimer = setTimeout(() => this.markConnected(), SRT_CONNECTED_AFTER_MS);
      });
    }
    void this.gst.exited.then((exit) => {
      clearTimeout(this.srtTimer);
      this.subscription.close();
      const error = this.stopping
        ? undefined
        : (this.killedFor ??
          (exit.error ? formatGstError(exit.error) : `stream sender exited (${exit.signal ?? `code ${exit.code}`})`));
      this.emit('ended', { ...(error ? { error } : {}), exit });
    });
  }

  get pid(): number | undefined {
    return this.gst.pid;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  private markConnected(): void {
    if (this.connected || !this.gst.running || this.killedFor !== undefined) return;
    this.connected = true;
    // SRT is confirmed late; its stream started when the sender did.
    this.emit('connected', this.o.protocol === 'srt' ? (this.playingAt ?? Date.now()) : Date.now());
  }

  /** Ends the stream cleanly (EOS, so RTMP unpublishes); killed if that takes over `timeoutMs`. */
  async stop(timeoutMs = 3000): Promise<void> {
    this.stopping = true;
    await this.subscription.finish();
    // End of input is the sender's EOS: fdsrc reads the pipe to its end first. A SIGINT would inject EOS at
    // once and cut off what is still in the pipe, mid-frame.
    this.gst.input?.end();
    const exited = await Promise.race([
      this.gst.exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref()),
    ]);
    if (!exited) await this.gst.stop({ timeoutMs: 1000 });
  }

  /** Kills the sender now. */
  async kill(): Promise<void> {
    this.stopping = true;
    this.subscription.close();
    await this.gst.kill();
  }
}
