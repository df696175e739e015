import path from 'node:path';
import { parseArgs } from 'node:util';
import { EgressError, errors, loadConfig } from '@egress/shared';
import { assertEgressId, DEFAULT_LOG_DIR } from '../logs/egress-log-file.js';
import { followEgressLog, readEgressLog } from '../logs/egress-logs.js';

const USAGE = 'usage: egress logs <egressID> [--follow] [--dir DIR]';

/**
 * `egress logs <egressID> [--follow] [--dir DIR]`: prints an egress's log (the directory is `--dir`, else
 * EGRESS_LOG_DIR, else the log_dir of the service's config in EGRESS_CONFIG_BODY/FILE, else DEFAULT_LOG_DIR). With --follow, keeps printing until the egress ends or Ctrl-C.
 * Exit codes: 0 done, 1 no such log (or it cannot be read), 2 usage error.
 */
export async function logs(argv: string[]): Promise<number> {
  const fail = (code: number, message: string) => {
    process.stderr.write(`egress logs: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return code;
  };
  let values: { follow?: boolean; dir?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        follow: { type: 'boolean', short: 'f' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return fail(2, `${err instanceof Error ? err.message : String(err)}; ${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [egressId, ...extra] = positionals;
  if (!egressId || extra.length) return fail(2, `one egress ID is required; ${USAGE}`);
  try {
    assertEgressId(egressId);
  } catch (err) {
    return fail(2, errors.from(err).message);
  }
  if (values.dir === '') return fail(2, `--dir must not be empty; ${USAGE}`);
  const dir = resolveLogDir(values.dir, process.env, () => configuredLogDir());

  // Ctrl-C (or SIGTERM) ends a follow normally; so does a closed stdout (`| head`), which must not crash us.
  const ac = new AbortController();
  const stop = () => ac.abort();
  const signals = values.follow ? (['SIGINT', 'SIGTERM'] as const) : [];
  for (const s of signals) process.on(s, stop);
  process.stdout.on('error', stop);
  try {
    if (values.follow) await followEgressLog(dir, egressId, writeOut, { signal: ac.signal });
    else await writeOut(await readEgressLog(dir, egressId));
    return 0;
  } catch (err) {
    if (err instanceof EgressError && err.code === 'invalid_argument') return fail(2, err.message);
    return fail(1, errors.from(err).message);
  } finally {
    for (const s of signals) process.off(s, stop);
    process.stdout.off('error', stop);
  }
}

/** Resolves once stdout has taken the text (so a slow reader slows the reading, and exit loses nothing). */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.write(text, () => resolve());
  });
}

/** The log dir: the flag, else EGRESS_LOG_DIR, else the service config's log_dir, else DEFAULT_LOG_DIR. */
export function resolveLogDir(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  fromConfig: () => string | undefined,
): string {
  return path.resolve(flag ?? (env.EGRESS_LOG_DIR || fromConfig() || DEFAULT_LOG_DIR));
}

/** On a node, the service's own config (`configFile`, else from the env) says where its logs are. */
export function configuredLogDir(configFile?: string): string | undefined {
  if (configFile === undefined && !process.env.EGRESS_CONFIG_BODY && !process.env.EGRESS_CONFIG_FILE) return undefined;
  try {
    const argv = configFile === undefined ? [] : ['--config', configFile];
    return loadConfig({ argv, env: process.env }).config.log_dir;
  } catch {
    return undefined;
  }
}
