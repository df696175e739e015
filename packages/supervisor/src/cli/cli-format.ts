/** What the operator's commands print: aligned tables, durations, sizes, one-line errors and progress. */
import { EgressStatus, TwirpError } from 'livekit-server-sdk';
import { errorMessage } from '@egress/shared';

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** 59s, 1m05s, 2h03m. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** 512 B, 1.5 MB, 2.0 GB (powers of 1024, as RSS is usually read). */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** EGRESS_ACTIVE -> ACTIVE. */
export function statusName(status: EgressStatus): string {
  return (EgressStatus[status] ?? String(status)).replace(/^EGRESS_/, '');
}

/** Statuses after which an egress changes no more. */
export const FINAL_STATUSES = new Set([
  EgressStatus.EGRESS_COMPLETE,
  EgressStatus.EGRESS_FAILED,
  EgressStatus.EGRESS_ABORTED,
  EgressStatus.EGRESS_LIMIT_REACHED,
]);

const HTTP_CODES: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  500: 'internal',
  503: 'unavailable',
};

/** livekit-server quotes the rejected access token in its 401 message: never print one. */
function redactTokens(text: string): string {
  return text.replace(/\beyJ[\w-]*\.[\w-]+\.[\w-]+/g, '<token>');
}

/**
 * One line for any error: Twirp errors with their code and HTTP status, unreachable servers with the address
 * and the system error, everything else by its message.
 */
export function describeError(err: unknown, serverUrl?: string): string {
  if (err instanceof TwirpError) {
    // A server answering outside Twirp (401 from its auth middleware) leaves the code empty.
    const code = err.code || HTTP_CODES[err.status] || 'error';
    return `${code}: ${redactTokens(err.message)} (HTTP ${err.status})`;
  }
  if (err instanceof TypeError && /fetch failed/.test(err.message) && serverUrl) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return `cannot reach the LiveKit server at ${serverUrl}: ${cause?.code ?? cause?.message ?? err.message}`;
  }
  return errorMessage(err);
}

/**
 * Progress of a long wait on stderr: on a terminal one line rewritten in place with the elapsed time; elsewhere
 * (logs, pipes) one line per change of text, so a log does not fill with ticks.
 */
export class Progress {
  private last = '';
  private drawn = false;
  private readonly started = Date.now();

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  update(text: string): void {
    if (this.out.isTTY) {
      const elapsed = ((Date.now() - this.started) / 1000).toFixed(0);
      this.out.write(`\r\x1b[K${text} (${elapsed}s)`);
      this.drawn = true;
    } else if (text !== this.last) {
      this.out.write(`${text}\n`);
    }
    this.last = text;
  }

  /** Ends the in-place line, so what follows starts on a fresh one. */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
