/**
 * PulseAudio plumbing: one shared daemon per machine and one null sink per recording. Chromium plays
 * into the sink (PULSE_SINK) and the pipeline records its monitor, so recordings never hear each other.
 */
import { execa } from 'execa';
import { childEnv } from '@egress/shared/host/child-env';
import { nullSinkModules, pactl, unloadModule } from '@egress/shared/host/pulse';
import { delay } from '@egress/shared/host/terminate';

/** Options for {@link ensurePulseDaemon}. */
export interface PulseDaemonOptions {
  /** How long to wait for a freshly started daemon to answer (default 5000 ms). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

function daemonAnswers(): Promise<boolean> {
  return pactl(['info']).then(
    () => true,
    () => false,
  );
}

/** Makes sure a PulseAudio daemon is running, starting one if `pactl info` gets no answer. */
export async function ensurePulseDaemon(options: PulseDaemonOptions = {}): Promise<void> {
  const { timeoutMs = 5000, log = () => {} } = options;
  if (await daemonAnswers()) return;
  log('pulseaudio: no daemon answers, starting one');
  // -D forks a shared daemon outside this recorder; a concurrent start losing the race is harmless.
  const started = await execa('pulseaudio', ['-D', '--exit-idle-time=-1'], {
    timeout: timeoutMs,
    reject: false,
    env: childEnv(),
    extendEnv: false,
  });
  for (const line of `${started.stdout}\n${started.stderr}`.split('\n')) if (line.trim()) log(`pulseaudio: ${line}`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await daemonAnswers()) return;
    await delay(100);
  }
  throw new Error(`PulseAudio daemon not answering within ${timeoutMs} ms (pulseaudio -D exit ${started.exitCode})`);
}

/** A null sink owned by one recording. */
export interface NullSink {
  readonly sinkName: string;
  readonly moduleIndex: number;
  /** Source name that records what is played into the sink. */
  readonly monitor: string;
  /** Unloads the sink's module; idempotent. */
  unload(): Promise<void>;
}

/**
 * Loads a 48 kHz stereo null sink named `name`. A sink of the same name left behind by a killed
 * recorder of the same egress is unloaded first, or the load would fail.
 */
export async function loadNullSink(name: string, log: (line: string) => void = () => {}): Promise<NullSink> {
  // Module arguments are space-separated and quoting rules are loose: accept only safe names.
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`invalid pulse sink name ${JSON.stringify(name)}`);
  for (const stale of await nullSinkModules(name)) {
    log(`pulseaudio: unloading stale sink ${name} (module ${stale})`);
    await unloadModule(stale);
  }
  const output = await pactl([
    'load-module',
    'module-null-sink',
    `sink_name=${name}`,
    'rate=48000',
    'channels=2',
    `sink_properties=device.description=${name}`,
  ]);
  const moduleIndex = Number.parseInt(output.trim(), 10);
  if (!Number.isInteger(moduleIndex)) throw new Error(`pactl load-module returned ${JSON.stringify(output)}`);
  let unloading: Promise<void> | undefined;
  return {
    sinkName: name,
    moduleIndex,
    monitor: `${name}.monitor`,
    unload() {
      unloading ??= unloadModule(moduleIndex);
      return unloading;
    },
  };
}
