/**
 * The operator's commands on one node, read from its health port (and its log dir): `egress status` and
 * `egress list --node`. They need no LiveKit server and no credentials.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { displayName, EgressError, loadConfig } from '@egress/shared';
import { END_MARKER } from '../logs/egress-log-file.js';
import { bytes, describeError, duration, table } from './cli-format.js';
import { configuredLogDir, resolveLogDir } from './logs.js';

/** One egress as the health JSON reports it (see Supervisor.status). */
export interface NodeEgress {
  egressId: string;
  type: string;
  status: string;
  ageSec: number;
  pid?: number;
  restarts: number;
  cpu: number;
  rssBytes: number;
  output?: string;
}

/** The health JSON of a node. */
export interface NodeStatus {
  nodeId: string;
  availableCpu: number;
  draining: boolean;
  egresses: NodeEgress[];
}

const HEALTH_TIMEOUT_MS = 5000;

const NODE_OPTIONS = {
  port: { type: 'string' },
  'health-url': { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Where the node's health server answers: `--health-url`, else `--port` on loopback, else the health_port of
 * the service config (`--config FILE`, EGRESS_CONFIG_BODY or EGRESS_CONFIG_FILE, as `egress serve` reads it).
 */
export function healthUrl(values: { port?: string; 'health-url'?: string; config?: string }, env: NodeJS.ProcessEnv) {
  if (values['health-url'] !== undefined) {
    let url: URL;
    try {
      url = new URL(values['health-url']);
    } catch {
      throw new EgressError('invalid_argument', `--health-url is not a URL: ${JSON.stringify(values['health-url'])}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new EgressError(
        'invalid_argument',
        `--health-url must be http(s), got ${JSON.stringify(values['health-url'])}`,
      );
    }
    return url.href;
  }
  let port: number;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port < 1 || port > 65535) {
      throw new EgressError('invalid_argument', `--port must be 1-65535, got ${JSON.stringify(values.port)}`);
    }
  } else {
    if (values.config === undefined && !env.EGRESS_CONFIG_BODY && !env.EGRESS_CONFIG_FILE) {
      throw new EgressError(
        'invalid_argument',
        'no health port: pass --port N (or --health-url), or run where EGRESS_CONFIG_BODY or EGRESS_CONFIG_FILE is set',
      );
    }
    const argv = values.config !== undefined ? ['--config', values.config] : [];
    port = loadConfig({ argv, env }).config.health_port;
    if (!port) throw new EgressError('invalid_argument', 'health_port is 0 (off) in the service config: pass --port');
  }
  return `http://127.0.0.1:${port}/`;
}

/** GETs the node's health JSON; a node that does not answer is one clear error. */
export async function fetchNodeStatus(url: string): Promise<NodeStatus> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    const why = timedOut ? 'no answer in 5 s' : (cause?.code ?? cause?.message ?? String(err));
    throw new EgressError('unavailable', `no egress service answers at ${url} (${why}): is it running on that port?`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  const s = body as Partial<NodeStatus> | undefined;
  if (!s || typeof s.nodeId !== 'string' || !Array.isArray(s.egresses)) {
    throw new EgressError('internal', `${url} did not answer with an egress health JSON (HTTP ${res.status})`);
  }
  return s as NodeStatus;
}

function egressRows(egresses: NodeEgress[]): string[][] {
  return egresses.map((e) => [
    e.egressId,
    displayName(e.type),
    e.status.toUpperCase(),
    duration(e.ageSec),
    e.pid ? String(e.pid) : '-',
    String(e.restarts),
    e.cpu.toFixed(2),
    e.rssBytes ? bytes(e.rssBytes) : '-',
    e.output ?? '-',
  ]);
}

const EGRESS_HEADERS = ['EGRESS ID', 'TYPE', 'STATUS', 'AGE', 'PID', 'RESTARTS', 'CPU', 'MEMORY', 'OUTPUT'];

/** The readable form of `egress status`. */
export function formatStatus(s: NodeStatus): string {
  const n = s.egresses.length;
  const state = s.draining
    ? `draining: taking no new requests, finishing ${n} recording${n === 1 ? '' : 's'}`
    : 'accepting requests';
  let out =
    `node      ${s.nodeId}\n` +
    `state     ${state}\n` +
    `free CPU  ${s.availableCpu.toFixed(2)} cores\n` +
    `egresses  ${n} active\n`;
  if (n) out += '\n' + table(EGRESS_HEADERS, egressRows(s.egresses));
  return out;
}

/** A finished egress, from its log file. */
export interface FinishedEgress {
  egressId: string;
  /** The end line's summary (`complete`, `failed: ...`), or `unknown` when the log has no end line. */
  result: string;
  endedAt: Date;
}

/** Egresses whose logs are in `dir` and that are not in `active`; newest first. */
export async function finishedEgresses(dir: string, active: Set<string>): Promise<FinishedEgress[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: FinishedEgress[] = [];
  for (const name of names) {
    const m = /^([A-Za-z0-9_-]{1,64})\.log$/.exec(name);
    if (!m || active.has(m[1]!)) continue;
    const file = path.join(dir, name);
    const handle = await fs.open(file, 'r');
    try {
      const { size, mtime } = await handle.stat();
      // The end line is the last one; 4 KiB covers it with room to spare.
      const tailSize = Math.min(size, 4096);
      const buf = Buffer.alloc(tailSize);
      await handle.read(buf, 0, tailSize, size - tailSize);
      const last = buf.toString('utf8').trimEnd().split('\n').pop() ?? '';
      const result = last.startsWith(END_MARKER) ? last.slice(END_MARKER.length).trim() : 'unknown';
      out.push({ egressId: m[1]!, result, endedAt: mtime });
    } finally {
      await handle.close();
    }
  }
  return out.sort((a, b) => b.endedAt.getTime() - a.endedAt.getTime());
}

function usage(command: string, text: string, err?: unknown): number {
  if (err !== undefined) {
    process.stderr.write(`egress ${command}: ${describeError(err).replace(/\s*\n\s*/g, ' ')}\n`);
    return 2;
  }
  process.stdout.write(text);
  return 0;
}

const STATUS_USAGE = `usage: egress status [--port N | --health-url URL] [--config FILE] [--json]
  The node's health: id, whether it takes requests, free CPU, and every active egress.
  The port defaults to health_port of the service config (EGRESS_CONFIG_BODY / EGRESS_CONFIG_FILE).
`;

/** `egress status`: exit 0 with the status, 1 when the node does not answer, 2 on a usage error. */
export async function status(argv: string[]): Promise<number> {
  let values: { port?: string; 'health-url'?: string; config?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: NODE_OPTIONS, allowPositionals: false }));
  } catch (err) {
    return usage('status', STATUS_USAGE, err);
  }
  if (values.help) return usage('status', STATUS_USAGE);
  let url: string;
  try {
    url = healthUrl(values, process.env);
  } catch (err) {
    return usage('status', STATUS_USAGE, err);
  }
  try {
    const s = await fetchNodeStatus(url);
    process.stdout.write(values.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
    return 0;
  } catch (err) {
    process.stderr.write(`egress status: ${describeError(err)}\n`);
    return 1;
  }
}

const LIST_USAGE = `usage: egress list --node [--port N | --health-url URL] [--config FILE] [--all [--dir DIR]] [--json]
  The egresses active on this node; --all adds those that ended, from their logs in the log dir
  (--dir, else EGRESS_LOG_DIR, else log_dir of the service config).
`;

/** `egress list --node`: exit codes as `egress status`. */
export async function listNode(argv: string[]): Promise<number> {
  let values: {
    port?: string;
    'health-url'?: string;
    config?: string;
    json?: boolean;
    help?: boolean;
    all?: boolean;
    dir?: string;
    node?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { ...NODE_OPTIONS, all: { type: 'boolean' }, dir: { type: 'string' }, node: { type: 'boolean' } },
      allowPositionals: false,
    }));
  } catch (err) {
    return usage('list', LIST_USAGE, err);
  }
  if (values.help) return usage('list', LIST_USAGE);
  if (values.dir !== undefined && !values.all) return usage('list', LIST_USAGE, new Error('--dir needs --all'));
  let url: string;
  try {
    url = healthUrl(values, process.env);
  } catch (err) {
    return usage('list', LIST_USAGE, err);
  }
  try {
    const s = await fetchNodeStatus(url);
    let finished: FinishedEgress[] = [];
    if (values.all) {
      const dir = resolveLogDir(values.dir, process.env, () => configuredLogDir(values.config));
      finished = await finishedEgresses(dir, new Set(s.egresses.map((e) => e.egressId)));
    }
    if (values.json) {
      const json = values.all ? { active: s.egresses, finished } : s.egresses;
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return 0;
    }
    let out = s.egresses.length
      ? table(EGRESS_HEADERS, egressRows(s.egresses))
      : `no active egress on node ${s.nodeId}\n`;
    if (values.all) {
      out += finished.length
        ? '\n' +
          table(
            ['EGRESS ID', 'ENDED', 'RESULT'],
            finished.map((f) => [f.egressId, f.endedAt.toISOString(), f.result]),
          )
        : '\nno finished egress in the log dir\n';
    }
    process.stdout.write(out);
    return 0;
  } catch (err) {
    process.stderr.write(`egress list: ${describeError(err)}\n`);
    return 1;
  }
}
