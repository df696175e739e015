/** The one sleep and the one polling wait of every test (unit and e2e). */
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

export interface UntilOptions {
  /** Gives up after this long. Default 5 s. */
  timeoutMs?: number;
  /** Pause between two looks. Default 20 ms. */
  intervalMs?: number;
  /** Stops waiting (rejects with the signal's reason) when aborted. */
  signal?: AbortSignal;
  /** Names what is awaited in the timeout error; default: the predicate's source text. */
  what?: string;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Polls `predicate` until it returns a truthy value and resolves to that value; rejects naming `what` once
 * `timeoutMs` has passed. A throwing predicate rejects at once, so a broken check is not mistaken for a slow one.
 */
export async function until<T>(predicate: () => T | Promise<T>, options: UntilOptions = {}): Promise<Truthy<T>> {
  const { timeoutMs = 5000, intervalMs = 20, signal } = options;
  const end = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const value = await predicate();
    if (value) return value as Truthy<T>;
    if (Date.now() >= end) {
      const what = options.what ?? String(predicate).replace(/\s+/g, ' ');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, end - Date.now())), undefined, { signal }).catch((err: unknown) => {
      // The signal's own reason, as throwIfAborted gives it, rather than the timer's wrapping AbortError.
      throw signal?.aborted ? signal.reason : err;
    });
  }
}
