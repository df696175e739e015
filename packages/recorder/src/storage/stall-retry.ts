/**
 * Retries for an SDK call that has no client-side stall detection (the Azure SDK only sends a server-side
 * timeout; a GCS write stream has none): a watchdog aborts an attempt that reports no progress for `idleMs`,
 * and the attempt is retried with exponential backoff.
 */

export interface StallRetryOptions {
  /** Attempts in all, the first included. */
  tries: number;
  /** An attempt with no progress for this long is aborted and retried. */
  idleMs: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** The caller's own cancellation: never retried. */
  signal?: AbortSignal;
  /** Other errors worth a new attempt (e.g. a reset connection the SDK does not retry itself). Default none. */
  retryable?: (err: unknown) => boolean;
}

/** Thrown into an attempt that stopped making progress. */
export class StalledError extends Error {
  override readonly name = 'StalledError';
}

/**
 * Runs `attempt(signal, progress)`; `progress()` is called by the attempt whenever bytes move. Stalls, and
 * errors `retryable` accepts, are retried; the last error is rethrown.
 */
export async function withStallRetry<T>(
  o: StallRetryOptions,
  attempt: (signal: AbortSignal, progress: () => void) => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    o.signal?.throwIfAborted();
    const ac = new AbortController();
    const onAbort = () => ac.abort(o.signal?.reason);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ac.abort(new StalledError(`no progress for ${o.idleMs} ms`)), o.idleMs);
    };
    arm();
    try {
      return await attempt(ac.signal, arm);
    } catch (err) {
      const stalled = ac.signal.aborted && ac.signal.reason instanceof StalledError;
      const again = stalled || (!o.signal?.aborted && (o.retryable?.(err) ?? false));
      if (!again || n >= o.tries) throw stalled ? ac.signal.reason : err;
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    }
    const delay = Math.min(o.maxDelayMs, o.minDelayMs * 2 ** (n - 1));
    await new Promise((resolve) => setTimeout(resolve, Math.round(delay / 2 + (Math.random() * delay) / 2)));
  }
}
