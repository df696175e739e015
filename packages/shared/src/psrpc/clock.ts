/** Wall-clock helpers for psrpc's unix-nanosecond timestamps. */

/** setTimeout's largest delay; longer ones fire immediately, so every wait is clamped to it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Now in unix nanoseconds, as psrpc's `sent_at` and `expiry` carry it. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Unix milliseconds to unix nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

/** Milliseconds from now until a unix-nanosecond instant (negative once it has passed). */
export function msUntil(ns: bigint): number {
  return Number(ns / 1_000_000n) - Date.now();
}
