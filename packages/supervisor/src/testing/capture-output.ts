/**
 * Runs a CLI command function with process.stdout and process.stderr captured. Only strings are captured;
 * anything else (the test runner's own serialized reports, written to stdout while a test awaits) goes through.
 */
export async function captureOutput(
  run: () => Promise<number>,
  during?: () => Promise<void>,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const out = { stdout: '', stderr: '', code: -1 };
  const saved = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture =
    (key: 'stdout' | 'stderr') =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      if (typeof chunk !== 'string') {
        return (saved[key] as (...a: unknown[]) => boolean).call(process[key], chunk, ...rest);
      }
      out[key] += chunk;
      const cb = rest.find((r): r is () => void => typeof r === 'function');
      if (cb) process.nextTick(cb);
      return true;
    };
  process.stdout.write = capture('stdout') as typeof process.stdout.write;
  process.stderr.write = capture('stderr') as typeof process.stderr.write;
  try {
    const running = run();
    await during?.();
    out.code = await running;
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  }
  return out;
}
