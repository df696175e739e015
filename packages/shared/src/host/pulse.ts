/**
 * Talking to the PulseAudio daemon through pactl: running it in the child environment with a bound, and reading
 * its `list short` tables (modules, sinks, clients). Recorder, reaper, supervisor and metrics all read them here.
 */
import { execFile } from 'node:child_process';
import { childEnv } from './child-env.js';

export interface PactlOptions {
  /** Give up (SIGKILL pactl) after this long; default 5000 ms. */
  timeoutMs?: number;
  /** The pactl binary (default `pactl` on PATH). */
  pactl?: string;
  /** Default {@link childEnv}(), read at each call. */
  env?: NodeJS.ProcessEnv;
}

/** A loaded module, from `pactl list short modules`. */
export interface PulseModule {
  index: number;
  name: string;
  /** Its arguments, as loaded: `sink_name=X rate=48000 ...`. */
  args: string;
}

/** A loaded null sink: its module's index and its name. */
export interface NullSinkModule {
  index: number;
  sinkName: string;
}

const DEFAULT_TIMEOUT_MS = 5000;
const SINK_NAME_ARG = /(?:^|\s)sink_name="?([^\s"]+)"?(?=\s|$)/;

/** Runs pactl; resolves its stdout, rejects naming the command and what pactl said (or why it did not run). */
export function pactl(args: readonly string[], opts: PactlOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      opts.pactl ?? 'pactl',
      args,
      {
        timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        env: opts.env ?? childEnv(),
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const why = stderr.trim() || err.message;
        reject(new Error(`pactl ${args.join(' ')}: ${why}`, { cause: err }));
      },
    );
  });
}

/** The rows of a `pactl list short ...` table (tab-separated), blank lines dropped. */
export function parseShortList(listing: string): string[][] {
  return listing
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split('\t'));
}

/** The modules of a `pactl list short modules` table; rows without a numeric index are skipped. */
export function parseModules(listing: string): PulseModule[] {
  const modules: PulseModule[] = [];
  for (const [index = '', name = '', args = ''] of parseShortList(listing)) {
    if (/^\d+$/.test(index)) modules.push({ index: Number(index), name, args });
  }
  return modules;
}

/** The null sinks among `modules`, with the name each was loaded with. */
export function nullSinks(modules: readonly PulseModule[]): NullSinkModule[] {
  const sinks: NullSinkModule[] = [];
  for (const m of modules) {
    const sinkName = m.name === 'module-null-sink' ? SINK_NAME_ARG.exec(m.args)?.[1] : undefined;
    if (sinkName !== undefined) sinks.push({ index: m.index, sinkName });
  }
  return sinks;
}

/** The loaded modules; rejects when pactl fails. */
export async function listModules(opts: PactlOptions = {}): Promise<PulseModule[]> {
  return parseModules(await pactl(['list', 'short', 'modules'], opts));
}

/** Module indexes of the loaded null sinks named `name` (normally none or one); rejects when pactl fails. */
export async function nullSinkModules(name: string, opts: PactlOptions = {}): Promise<number[]> {
  return nullSinks(await listModules(opts))
    .filter((s) => s.sinkName === name)
    .map((s) => s.index);
}

/** Unloads a module; rejects when pactl fails. */
export async function unloadModule(index: number, opts: PactlOptions = {}): Promise<void> {
  await pactl(['unload-module', String(index)], opts);
}

/** Connected clients, without the pactl that counts them; rejects when pactl fails. */
export async function countClients(opts: PactlOptions = {}): Promise<number> {
  return Math.max(0, parseShortList(await pactl(['list', 'short', 'clients'], opts)).length - 1);
}
