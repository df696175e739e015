import { execFile } from 'node:child_process';
import { childEnv } from '@egress/shared/host/child-env';

/**
 * Live PulseAudio clients (`pactl list short clients`), for the max_pulse_clients admission check;
 * undefined when pactl or the daemon does not answer, so the caller keeps its last count.
 */
export function countPulseClients(timeoutMs = 3000): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile(
      'pactl',
      ['list', 'short', 'clients'],
      { timeout: timeoutMs, killSignal: 'SIGKILL', env: childEnv(), encoding: 'utf8' },
      (err, stdout) => {
        if (err) return resolve(undefined);
        // Our own pactl is a client while it lists them.
        resolve(Math.max(0, stdout.split('\n').filter((l) => l.trim()).length - 1));
      },
    );
  });
}
