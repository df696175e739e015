import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  assertHttpUrl,
  encodingFromRequest,
  errors,
  x264PresetFor,
  type EndInfo,
  type RecordingPlan,
} from '@egress/shared';
import { describeExit, RecorderProcess } from '../pool/recorder-process.js';
import { newId } from '@egress/shared/psrpc/ids';

const USAGE = 'usage: egress record <url> --out FILE [--duration SECONDS] [--width W --height H --fps F]';

/** Parses `egress record` flags into a plan; throws invalid_argument naming the flag. */
export function recordPlan(argv: string[], cwd = process.cwd()): { plan: RecordingPlan; durationSec?: number } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      duration: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      fps: { type: 'string' },
      chromium: { type: 'string' },
    },
  });
  const url = positionals[0];
  if (!url || positionals.length > 1) throw errors.invalidArgument('url', positionals, `one URL is required; ${USAGE}`);
  if (!values.out) throw errors.invalidArgument('--out', values.out, `an output file is required; ${USAGE}`);
  const int = (flag: string, v: string | undefined, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw errors.invalidArgument(`--${flag}`, v, `must be an integer from ${min} to ${max}`);
    }
    return n;
  };
  const encoding = encodingFromRequest({ case: undefined }, 'record');
  encoding.width = int('width', values.width, 16, 4096) ?? encoding.width;
  encoding.height = int('height', values.height, 16, 4096) ?? encoding.height;
  encoding.framerate = int('fps', values.fps, 1, 60) ?? encoding.framerate;
  if (encoding.width % 2 || encoding.height % 2) {
    throw errors.invalidArgument('--width/--height', `${encoding.width}x${encoding.height}`, 'must be even');
  }
  encoding.x264Preset = x264PresetFor(encoding.width, encoding.height, encoding.framerate);
  const durationSec = values.duration === undefined ? undefined : Number(values.duration);
  if (durationSec !== undefined && !(durationSec > 0)) {
    throw errors.invalidArgument('--duration', values.duration, 'must be a positive number of seconds');
  }
  assertHttpUrl(url, 'url');
  const egressId = newId('EG_');
  const destination = path.resolve(cwd, values.out.endsWith('.mp4') ? values.out : `${values.out}.mp4`);
  const plan: RecordingPlan = {
    egressId,
    source: { kind: 'web', url, audioOnly: false, videoOnly: false, awaitStartSignal: false },
    encoding,
    // A local recording of a page has no egress for a manifest to describe.
    outputs: { file: { fileType: 'mp4', filename: path.basename(destination), destination, manifest: false } },
    tmpDir: path.join(os.tmpdir(), 'lk-egress', egressId),
    chrome: { executablePath: values.chromium ?? '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
  };
  return durationSec === undefined ? { plan } : { plan, durationSec };
}

/**
 * `egress record`: records a page to a local file with no server, through the same recorder child the
 * service forks. The child has its own session, so a terminal's Ctrl-C reaches only this process, which
 * turns it into a stop: EOS, finalize, deliver.
 */
export async function record(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof recordPlan>;
  try {
    parsed = recordPlan(argv);
  } catch (err) {
    process.stderr.write(`egress record: ${errors.from(err).message}\n`);
    return 2;
  }
  const { plan, durationSec } = parsed;
  const verbose = process.env.EGRESS_RECORD_VERBOSE === '1';
  const proc = new RecorderProcess({
    onOutput: (line) => verbose && process.stderr.write(`${line}\n`),
  });
  const stop = (reason: string) => {
    if (!proc.send({ type: 'stop', reason })) proc.interrupt();
  };
  const onSignal = () => {
    process.stderr.write('stopping: finalizing the file...\n');
    stop('Interrupted');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ended = new Promise<EndInfo | undefined>((resolve) => {
    proc.on('message', (ev) => {
      if (ev.type === 'active') {
        process.stderr.write(
          `recording ${plan.source.kind === 'web' ? plan.source.url : plan.source.roomName} -> ${plan.outputs.file?.destination} (Ctrl-C to stop)\n`,
        );
        if (durationSec) setTimeout(() => stop('Duration reached'), durationSec * 1000).unref();
      }
      if (ev.type === 'ended') resolve(ev.info);
    });
    void proc.exited.then(() => resolve(undefined));
  });
  try {
    await proc.waitReady();
    proc.send({ type: 'start', plan });
  } catch (err) {
    process.stderr.write(`egress record: ${errors.from(err).message}\n`);
    return 1;
  }
  const end = await ended;
  await proc.exited;
  if (!end) {
    process.stderr.write(`egress record: the recorder died (${describeExit(await proc.exited)})\n`);
    return 1;
  }
  for (const f of end.files) {
    process.stdout.write(`${f.location} (${(f.durationMs / 1000).toFixed(2)} s, ${f.size} bytes)\n`);
  }
  if (end.state !== 'complete') {
    process.stderr.write(`egress record: ${end.state}: ${end.error?.message ?? end.details}\n`);
    return 1;
  }
  return 0;
}
