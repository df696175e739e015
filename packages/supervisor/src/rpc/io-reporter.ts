import type { EgressInfo } from '@livekit/protocol';
import { errors, type Logger } from '@egress/shared';

/** One IOInfo call: resolves when livekit-server has stored the info. */
export type IoCall = (method: 'CreateEgress' | 'UpdateEgress', info: EgressInfo, timeoutMs: number) => Promise<void>;

export interface IoReporterOptions {
  call: IoCall;
  log: Logger;
  createTimeoutMs?: number;
  updateTimeoutMs?: number;
  /** First retry delay; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Codes that mean "the server did not answer", worth retrying; anything else is an answer. */
const RETRYABLE = new Set(['deadline_exceeded', 'unavailable', 'canceled']);

/**
 * Reports egress state to livekit-server through IOInfo. Updates for one egress go out strictly in order
 * (each status change fires a webhook on the server), each retried with backoff until the server answers.
 */
export class IoReporter {
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly opts: IoReporterOptions) {}

  /** CreateEgress must land before any UpdateEgress for the same id, or egress_started never fires. */
  create(info: EgressInfo): Promise<void> {
    const done = this.opts.call('CreateEgress', info.clone(), this.opts.createTimeoutMs ?? 15_000);
    this.chains.set(
      info.egressId,
      done.catch(() => undefined),
    );
    return done;
  }

  /** Queues an update behind every earlier one for the same egress; resolves when it has landed. */
  update(info: EgressInfo): Promise<void> {
    const snapshot = info.clone();
    const prev = this.chains.get(snapshot.egressId) ?? Promise.resolve();
    const next = prev.then(() => this.sendWithRetry(snapshot));
    const tail = next.catch(() => undefined);
    this.chains.set(snapshot.egressId, tail);
    void tail.then(() => {
      if (this.chains.get(snapshot.egressId) === tail) this.chains.delete(snapshot.egressId);
    });
    return next;
  }

  private async sendWithRetry(info: EgressInfo): Promise<void> {
    let delay = this.opts.backoffMs ?? 250;
    const max = this.opts.maxBackoffMs ?? 10_000;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.call('UpdateEgress', info, this.opts.updateTimeoutMs ?? 30_000);
        return;
      } catch (err) {
        const e = errors.from(err, 'unknown');
        if (this.closed || !RETRYABLE.has(e.code)) {
          this.opts.log.error('UpdateEgress failed', {
            egressID: info.egressId,
            status: info.status,
            error: e.message,
          });
          throw e;
        }
        this.opts.log.warn('UpdateEgress not answered, retrying', {
          egressID: info.egressId,
          attempt,
          retryInMs: delay,
          error: e.message,
        });
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, max);
      }
    }
  }

  /** Waits for every queued update, bounded; later failures stop retrying. */
  async drain(timeoutMs: number): Promise<void> {
    const all = Promise.all([...this.chains.values()]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
    await Promise.race([all, timeout]);
    clearTimeout(timer);
    this.closed = true;
  }
}
