/**
 * Bounds what a recorded page can push into the recorder's logs through its console: each line is cut at
 * `maxLineChars`, and lines pass a token bucket (`linesPerSecond`, bursts of `burst`); lines over the rate
 * are counted and reported as one "dropped K console lines" line a second later.
 */
export interface ConsoleRelayOptions {
  /** Longest line relayed, in characters (default 2048); the rest is replaced by a marker. */
  maxLineChars?: number;
  /** Steady rate of lines relayed (default 20 per second). */
  linesPerSecond?: number;
  /** Lines that may pass at once after a quiet spell (default 50). */
  burst?: number;
}

export const DEFAULT_CONSOLE_RELAY = { maxLineChars: 2048, linesPerSecond: 20, burst: 50 } as const;

/** A relay function writing to `out`; call it with each console line. */
export function consoleRelay(out: (line: string) => void, options: ConsoleRelayOptions = {}): (line: string) => void {
  const { maxLineChars, linesPerSecond, burst } = { ...DEFAULT_CONSOLE_RELAY, ...options };
  let tokens = burst;
  let refilledAt = Date.now();
  let dropped = 0;
  let report: NodeJS.Timeout | undefined;
  return (line) => {
    const now = Date.now();
    tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * linesPerSecond);
    refilledAt = now;
    if (tokens < 1) {
      dropped++;
      // One summary per second of flood; unref'd, so a pending summary never keeps the recorder alive.
      report ??= setTimeout(() => {
        report = undefined;
        out(`dropped ${dropped} console lines (over ${linesPerSecond} per second)`);
        dropped = 0;
      }, 1000).unref();
      return;
    }
    tokens--;
    out(
      line.length > maxLineChars ? `${line.slice(0, maxLineChars)}… [cut ${line.length - maxLineChars} chars]` : line,
    );
  };
}
