/**
 * A track egress's websocket output: raw PCM (S16LE, 48 kHz, stereo) in binary frames, and the track's mute state
 * as JSON text frames `{"muted":true|false}`, as upstream sends them.
 */
import WebSocket from 'ws';
import { redactQueryValues, type StreamResult } from '@egress/shared';

export interface WebsocketSinkOptions {
  url: string;
  log: (line: string) => void;
  /** Bound on the connection (default 10 s). */
  connectTimeoutMs?: number;
}

/** Bytes buffered beyond this mean the receiver does not keep up: 10 s of PCM is dropped rather than kept. */
const MAX_BUFFERED = 48_000 * 4 * 10;

export class WebsocketSink {
  private ws: WebSocket | undefined;
  private startedAt: number | undefined;
  private endedAt: number | undefined;
  private error: string | undefined;
  private dropped = 0;
  /** Set when the receiver closes or fails while recording. */
  onLost: ((why: string) => void) | undefined;

  constructor(private readonly o: WebsocketSinkOptions) {}

  /** Connects; rejects with the reason when the receiver cannot be reached. */
  async open(): Promise<void> {
    const ws = new WebSocket(this.o.url, {
      headers: { 'Content-Type': 'audio/x-raw' },
      handshakeTimeout: this.o.connectTimeoutMs ?? 10_000,
    });
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (err) => reject(new Error(`websocket ${redactQueryValues(this.o.url)}: ${err.message}`)));
    });
    this.startedAt = Date.now();
    ws.on('error', (err) => (this.error ??= err.message));
    ws.on('close', (code) => {
      this.endedAt ??= Date.now();
      if (code !== 1000) this.onLost?.(`websocket closed by the receiver (${code})`);
    });
  }

  send(pcm: Buffer): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      if (this.dropped++ === 0) this.o.log('websocket receiver falls behind; dropping audio');
      return;
    }
    ws.send(pcm, { binary: true });
  }

  muted(muted: boolean): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ muted }));
  }

  /** Closes normally once what is buffered has gone (bounded). */
  async close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    const timer = setTimeout(() => ws.terminate(), 5000);
    await closed;
    clearTimeout(timer);
    this.endedAt ??= Date.now();
  }

  result(): StreamResult {
    return {
      // StreamInfo.url goes to livekit-server and webhooks: the receiver's auth stays here.
      url: redactQueryValues(this.o.url),
      status: this.error ? 'failed' : this.endedAt !== undefined ? 'finished' : 'active',
      ...(this.startedAt !== undefined ? { startedAt: this.startedAt } : {}),
      ...(this.endedAt !== undefined ? { endedAt: this.endedAt } : {}),
      ...(this.error ? { error: this.error } : {}),
      retries: 0,
    };
  }
}
