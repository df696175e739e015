/** Hooks through which psrpc reports what it cannot throw to a caller. */

/** A payload that was dropped or refused because it did not decode. */
export interface BadInput {
  /** psrpc service name, e.g. `EgressInternal`. */
  service: string;
  /** Redis channel it arrived on. */
  channel: string;
  /** Why it was rejected. */
  reason: string;
}

/** Observers for logging and metrics; every one is optional. */
export interface PsrpcHooks {
  /** A malformed envelope or undecodable payload arrived. */
  onBadInput?: (input: BadInput) => void;
  /** Something failed with nobody to throw to: a publish, a throwing handler or affinity function. */
  onError?: (err: unknown, context: string) => void;
}

/** Calls a hook without letting a throwing observer break the caller. */
export function safeCall<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
  try {
    hook?.(...args);
  } catch {
    // An observer's own failure has nowhere better to go.
  }
}
