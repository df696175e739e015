/**
 * The stream outputs of one recording: a sender per URL fed from one TS relay, each with its own StreamInfo.
 * Retries as upstream: a destination that never accepted the stream (wrong key, dead host) fails at once; one
 * that was streaming and dropped is reconnected with backoff, and fails once it has been gone for 30 s.
 * URLs are added and removed live (UpdateStream); removing one ends it FINISHED.
 */
import {
  EgressError,
  errors,
  normalizeStreamUrl,
  redactStreamUrl,
  type StreamOutputPlan,
  type StreamResult,
} from '@egress/shared';
import { StreamWorker } from './stream-worker.js';
import type { TsRelay } from './ts-relay.js';

export interface StreamSetOptions {
  plan: StreamOutputPlan;
  relay: TsRelay;
  video: boolean;
  audio: boolean;
  /** Any StreamResult changed. */
  onChange?: () => void;
  log?: (line: string) => void;
  /** How long a destination that was streaming may stay disconnected before it fails (default 30 s). */
  reconnectWindowMs?: number;
  /** Wait before reconnect n (default 1 s x n, at most 5 s). */
  retryDelayMs?: (n: number) => number;
}

interface Destination {
  url: string;
  shown: string;
  result: StreamResult;
  worker?: StreamWorker;
  everConnected: boolean;
  lostAt?: number;
  retryTimer?: NodeJS.Timeout;
}

export class StreamSet {
  private readonly destinations = new Map<string, Destination>();
  private started = false;
  private closed = false;

  constructor(private readonly o: StreamSetOptions) {}

  /** Starts a sender for every planned URL. */
  start(): void {
    this.started = true;
    for (const url of this.o.plan.urls) this.open(url);
  }

  /** Adds a URL (validated like the request's); throws invalid_argument naming it. */
  add(url: string, field = 'add_output_urls'): void {
    const normalized = normalizeStreamUrl(url, this.o.plan.protocol, field);
    const existing = this.destinations.get(normalized);
    if (existing && existing.result.status === 'active') {
      throw errors.invalidArgument(field, redactStreamUrl(url), 'is already being streamed to');
    }
    this.open(normalized);
    this.o.onChange?.();
  }

  /** Ends a URL's stream (FINISHED); throws not_found when it is not streamed to. */
  async remove(url: string, field = 'remove_output_urls'): Promise<void> {
    const d = this.find(url);
    if (!d || d.result.status !== 'active') {
      throw new EgressError('not_found', `${field}: ${redactStreamUrl(url)} is not an active stream of this egress`);
    }
    await this.finish(d, 'finished');
  }

  /** URLs still streamed to (or reconnecting), unredacted: what a restarted recorder must resume. */
  activeUrls(): string[] {
    return [...this.destinations.values()].filter((d) => d.result.status === 'active').map((d) => d.url);
  }

  /** True once every destination has ended and at least one failed with none left running. */
  get allFailed(): boolean {
    const all = [...this.destinations.values()];
    return all.length > 0 && all.every((d) => d.result.status === 'failed');
  }

  /** True when no destination is active any more. */
  get noneActive(): boolean {
    return this.activeUrls().length === 0;
  }

  results(): StreamResult[] {
    return [...this.destinations.values()].map((d) => ({ ...d.result }));
  }

  /** Ends every stream (EOS to each sender); the results are FINISHED unless they had failed. */
  async close(): Promise<StreamResult[]> {
    this.closed = true;
    await Promise.all([...this.destinations.values()].map((d) => this.finish(d, 'finished')));
    return this.results();
  }

  /** Kills every sender now (the recording is being torn down). */
  async kill(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.destinations.values()].map(async (d) => {
        clearTimeout(d.retryTimer);
        await d.worker?.kill();
      }),
    );
  }

  private find(url: string): Destination | undefined {
    const direct = this.destinations.get(url);
    if (direct) return direct;
    try {
      return this.destinations.get(normalizeStreamUrl(url, this.o.plan.protocol, 'url'));
    } catch {
      return undefined;
    }
  }

  private open(url: string): void {
    const d: Destination = {
      url,
      shown: redactStreamUrl(url),
      result: { url: redactStreamUrl(url), status: 'active', retries: 0 },
      everConnected: false,
    };
    this.destinations.set(url, d);
    if (this.started) this.spawn(d);
  }

  private spawn(d: Destination): void {
    if (this.closed) return;
    const log = this.o.log ?? (() => {});
    const worker = new StreamWorker({
      url: d.url,
      protocol: this.o.plan.protocol,
      video: this.o.video,
      audio: this.o.audio,
      relay: this.o.relay,
      log: (line) => log(`[${d.shown}] ${this.redact(line, d)}`),
    });
    d.worker = worker;
    worker.on('connected', (since) => {
      d.everConnected = true;
      d.lostAt = undefined;
      d.result.startedAt ??= since;
      log(`stream ${d.shown}: connected`);
      this.o.onChange?.();
    });
    worker.on('ended', ({ error }) => {
      if (d.worker !== worker) return;
      d.worker = undefined;
      if (!error || d.result.status !== 'active' || this.closed) return;
      this.lost(d, this.redact(error, d));
    });
  }

  /** A sender died on its own: reconnect or fail, as upstream. */
  private lost(d: Destination, error: string): void {
    const log = this.o.log ?? (() => {});
    const now = Date.now();
    const window = this.o.reconnectWindowMs ?? 30_000;
    if (!d.everConnected) {
      log(`stream ${d.shown}: failed: ${error}`);
      void this.finish(d, 'failed', error);
      return;
    }
    d.lostAt ??= now;
    if (now - d.lostAt >= window) {
      const why = `${error} (no connection for ${Math.round((now - d.lostAt) / 1000)} s)`;
      log(`stream ${d.shown}: failed: ${why}`);
      void this.finish(d, 'failed', why);
      return;
    }
    d.result.retries++;
    d.result.lastRetryAt = now;
    const delay = this.o.retryDelayMs?.(d.result.retries) ?? Math.min(5000, 1000 * d.result.retries);
    log(`stream ${d.shown}: lost (${error}); reconnecting in ${delay} ms (retry ${d.result.retries})`);
    this.o.onChange?.();
    d.retryTimer = setTimeout(() => this.spawn(d), delay);
  }

  private async finish(d: Destination, status: 'finished' | 'failed', error?: string): Promise<void> {
    clearTimeout(d.retryTimer);
    if (d.result.status !== 'active') return;
    d.result.status = status;
    d.result.endedAt = Date.now();
    if (error) d.result.error = error;
    this.o.onChange?.();
    const worker = d.worker;
    d.worker = undefined;
    await worker?.stop();
  }

  /** gst-launch's texts may quote the URL; the key never reaches a log or a StreamInfo. */
  private redact(text: string, d: Destination): string {
    const key =
      d.url
        .replace(/[?\s].*$/, '')
        .split('/')
        .pop() ?? '';
    let out = text.split(d.url).join(d.shown);
    if (key.length > 3) out = out.split(key).join(redactStreamUrl(`rtmp://h/a/${key}`).split('/').pop()!);
    return out;
  }
}
