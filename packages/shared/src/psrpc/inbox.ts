/** A per-call mailbox: messages routed to one pending call, read one at a time with a deadline. */
import type { EgressError } from '../errors.js';
import { MAX_TIMER_MS } from './clock.js';

/** What a wait on an Inbox ends with. */
export type InboxResult<T> = { kind: 'item'; item: T } | { kind: 'timeout' } | { kind: 'canceled'; error: EgressError };

// Enough for every bid and reply of a large cluster; beyond it a flood is dropped instead of buffered.
const DEFAULT_CAPACITY = 1024;

/** Single-reader queue whose waits are bounded by a deadline and end early on cancel. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private waiter: ((result: InboxResult<T>) => void) | undefined;
  private canceledWith: EgressError | undefined;

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** Delivers an item to the waiting reader, or queues it. */
  push(item: T): void {
    if (this.canceledWith) return;
    if (this.waiter) this.waiter({ kind: 'item', item });
    else if (this.items.length < this.capacity) this.items.push(item);
  }

  /** Ends the current and every later wait with `error`. */
  cancel(error: EgressError): void {
    if (this.canceledWith) return;
    this.canceledWith = error;
    this.items.length = 0;
    this.waiter?.({ kind: 'canceled', error });
  }

  /** The next item, or `timeout` once `untilMs` (unix ms) has passed, or `canceled`. */
  next(untilMs: number): Promise<InboxResult<T>> {
    if (this.canceledWith) return Promise.resolve({ kind: 'canceled', error: this.canceledWith });
    if (this.items.length > 0) return Promise.resolve({ kind: 'item', item: this.items.shift() as T });
    const waitMs = untilMs - Date.now();
    if (waitMs <= 0) return Promise.resolve({ kind: 'timeout' });
    return new Promise((resolve) => {
      const finish = (result: InboxResult<T>): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(result);
      };
      const timer = setTimeout(() => finish({ kind: 'timeout' }), Math.min(waitMs, MAX_TIMER_MS));
      this.waiter = finish;
    });
  }
}
