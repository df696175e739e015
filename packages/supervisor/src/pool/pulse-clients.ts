import { countClients } from '@egress/shared/host/pulse';

/**
 * Live PulseAudio clients (`pactl list short clients`), for the max_pulse_clients admission check;
 * undefined when pactl or the daemon does not answer, so the caller keeps its last count.
 */
export function countPulseClients(timeoutMs = 3000): Promise<number | undefined> {
  return countClients({ timeoutMs }).catch(() => undefined);
}
