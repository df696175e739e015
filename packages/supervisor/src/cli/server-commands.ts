/**
 * The operator's commands against a LiveKit server, through livekit-server-sdk as `lk egress` does:
 * `egress start`, `stop`, `update-layout`, `update-stream` and `list`. The server and credentials come from
 * --url / --api-key / --api-secret, else LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET.
 * Exit codes: 0 done, 1 the server refused or the egress failed, 2 a usage error.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EgressClient, EgressInfo, EgressStatus } from 'livekit-server-sdk';
import { displayName, EgressError } from '@egress/shared';
import { isEgressId } from '@egress/shared/host/resource-names';
import { describeError, duration, FINAL_STATUSES, Progress, statusName, table } from './cli-format.js';
import { buildStartRequest, parseStartType, sendStart, START_TYPES, type StartFlags } from './egress-requests.js';

const POLL_MS = 500;

const SERVER_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  'api-secret': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const SERVER_HELP = `  --url URL          LiveKit server (ws, wss, http or https; env LIVEKIT_URL)
  --api-key KEY      (env LIVEKIT_API_KEY)
  --api-secret SECRET (env LIVEKIT_API_SECRET)
  --json             print the server's EgressInfo JSON`;

/** Where the server is and how to sign requests; missing values are errors naming the flag and the env var. */
export interface ServerConnection {
  /** http(s) URL (ws(s) turned into http(s), as the SDK's Twirp client needs). */
  url: string;
  apiKey: string;
  apiSecret: string;
}

/** Resolves the connection from flags, then the LIVEKIT_* environment. */
export function serverConnection(
  values: { url?: string; 'api-key'?: string; 'api-secret'?: string },
  env: NodeJS.ProcessEnv,
): ServerConnection {
  const raw = values.url ?? env.LIVEKIT_URL;
  if (!raw) throw new EgressError('invalid_argument', 'no LiveKit server: pass --url or set LIVEKIT_URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EgressError('invalid_argument', `--url is not a URL: ${JSON.stringify(raw)}`);
  }
  const scheme = { 'ws:': 'http:', 'wss:': 'https:', 'http:': 'http:', 'https:': 'https:' }[url.protocol];
  if (!scheme)
    throw new EgressError('invalid_argument', `--url must be ws, wss, http or https, got ${JSON.stringify(raw)}`);
  const apiKey = values['api-key'] ?? env.LIVEKIT_API_KEY;
  const apiSecret = values['api-secret'] ?? env.LIVEKIT_API_SECRET;
  if (!apiKey) throw new EgressError('invalid_argument', 'no API key: pass --api-key or set LIVEKIT_API_KEY');
  if (!apiSecret)
    throw new EgressError('invalid_argument', 'no API secret: pass --api-secret or set LIVEKIT_API_SECRET');
  return { url: `${scheme}//${url.host}${url.pathname.replace(/\/$/, '')}`, apiKey, apiSecret };
}

/** One line per egress: id, status, type, what it records, and its error if any. */
export function summary(info: EgressInfo): string {
  const r = info.request;
  const source =
    r.case === 'web' ? r.value.url : r.case && 'roomName' in r.value ? r.value.roomName : info.roomName || '-';
  const parts = [info.egressId, statusName(info.status), displayName(r.case), source];
  if (info.error) parts.push(`error: ${info.error}`);
  return parts.join('  ');
}

/** What an ended egress produced, one line per file, playlist or stream. */
export function results(info: EgressInfo): string {
  const lines: string[] = [];
  for (const f of info.fileResults) {
    lines.push(`  file      ${f.location || f.filename}  ${duration(Number(f.duration) / 1e9)}  ${f.size} bytes`);
  }
  for (const s of info.segmentResults) lines.push(`  playlist  ${s.playlistLocation || s.playlistName}`);
  for (const s of info.streamResults) lines.push(`  stream    ${s.url}  ${s.error || ''}`.trimEnd());
  if (info.manifestLocation) lines.push(`  manifest  ${info.manifestLocation}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Polls the server until `done` holds for the egress, showing progress; bounded by `timeoutSec`. */
export async function waitFor(
  client: EgressClient,
  egressId: string,
  done: (status: EgressStatus) => boolean,
  timeoutSec: number,
): Promise<EgressInfo> {
  const progress = new Progress();
  const deadline = Date.now() + timeoutSec * 1000;
  try {
    for (;;) {
      const [info] = await client.listEgress({ egressId });
      if (!info) throw new EgressError('not_found', `the server does not know egress ${egressId}`);
      progress.update(`${egressId} ${statusName(info.status)}`);
      if (done(info.status)) return info;
      if (Date.now() >= deadline) {
        throw new EgressError(
          'deadline_exceeded',
          `${egressId} is still ${statusName(info.status)} after ${timeoutSec} s`,
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    progress.done();
  }
}

function timeoutOf(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0) {
    throw new EgressError(
      'invalid_argument',
      `--timeout must be a positive number of seconds, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/**
 * Runs one server command: parses argv with the common options plus `options`, resolves the connection, and
 * turns every error into one line and an exit code.
 */
async function runServerCommand<O extends NonNullable<ParseArgsConfig['options']>>(
  name: string,
  usage: string,
  argv: string[],
  options: O,
  run: (ctx: {
    values: Record<string, string | boolean | string[] | undefined>;
    positionals: string[];
    client: EgressClient;
    json: boolean;
    /** For errors that name the server. */
    serverUrl: string;
  }) => Promise<number>,
): Promise<number> {
  const fail = (code: number, message: string) => {
    process.stderr.write(`egress ${name}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return code;
  };
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...SERVER_OPTIONS, ...options }, allowPositionals: true }) as never;
  } catch (err) {
    return fail(2, `${describeError(err)}; see egress ${name} --help`);
  }
  if (parsed.values.help) {
    process.stdout.write(usage);
    return 0;
  }
  let conn: ServerConnection;
  try {
    conn = serverConnection(parsed.values as never, process.env);
  } catch (err) {
    return fail(2, describeError(err));
  }
  const client = new EgressClient(conn.url, conn.apiKey, conn.apiSecret);
  try {
    return await run({ ...parsed, client, json: parsed.values.json === true, serverUrl: conn.url });
  } catch (err) {
    const usageError = err instanceof EgressError && err.code === 'invalid_argument';
    return fail(usageError ? 2 : 1, describeError(err, conn.url));
  }
}

/** IDs from positionals and --id, at least one. */
function egressIds(values: Record<string, unknown>, positionals: string[], max = Infinity): string[] {
  const ids = [...positionals, ...((values.id as string[] | undefined) ?? [])];
  if (!ids.length) throw new EgressError('invalid_argument', 'an egress ID is required');
  if (ids.length > max) throw new EgressError('invalid_argument', `one egress ID only, got ${ids.join(' ')}`);
  for (const id of ids) {
    if (!isEgressId(id)) throw new EgressError('invalid_argument', `not an egress ID: ${JSON.stringify(id)}`);
  }
  return ids;
}

const printInfo = (info: EgressInfo, json: boolean) =>
  process.stdout.write(json ? `${info.toJsonString({ prettySpaces: 2 })}\n` : `${summary(info)}\n`);

const START_FLAG_OPTIONS = {
  type: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  page: { type: 'string' },
  room: { type: 'string' },
  identity: { type: 'string' },
  track: { type: 'string' },
  'audio-track': { type: 'string' },
  'video-track': { type: 'string' },
  layout: { type: 'string' },
  'custom-base-url': { type: 'string' },
  'audio-only': { type: 'boolean' },
  'video-only': { type: 'boolean' },
  'await-start-signal': { type: 'boolean' },
  'screen-share': { type: 'boolean' },
  file: { type: 'string' },
  'file-type': { type: 'string' },
  'disable-manifest': { type: 'boolean' },
  stream: { type: 'string', multiple: true },
  segments: { type: 'string' },
  playlist: { type: 'string' },
  'segment-duration': { type: 'string' },
  images: { type: 'string' },
  'image-interval': { type: 'string' },
  websocket: { type: 'string' },
  preset: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  framerate: { type: 'string' },
  'video-bitrate': { type: 'string' },
  'audio-bitrate': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const START_USAGE = `usage: egress start [TYPE | --type TYPE] [REQUEST.json | -] [flags] [--wait [--timeout S]]
  TYPE: ${START_TYPES.join(', ')} (start: the unified StartEgressRequest, JSON only).
  REQUEST.json: the request as protobuf JSON (as lk egress start takes it); flags override its fields.
  web:             --page URL [--audio-only] [--video-only] [--await-start-signal]
  room-composite:  --room NAME [--layout L] [--custom-base-url URL] [--audio-only] [--video-only]
  participant:     --room NAME --identity ID [--screen-share]
  track-composite: --room NAME [--audio-track TR_] [--video-track TR_]
  track:           --room NAME --track TR_ (--file PATH | --websocket URL)
  outputs:   --file PATH [--file-type mp4|ogg|mp3] [--disable-manifest]  --stream URL[,URL] (repeatable)
             --segments PREFIX [--playlist NAME] [--segment-duration S]  --images PREFIX [--image-interval S]
  encoding:  --preset H264_720P_30|... or --width --height --framerate --video-bitrate --audio-bitrate
  --wait     wait until the egress is ACTIVE (or ended), showing its status; --timeout S (default 60)
${SERVER_HELP}
`;

/** `egress start`. */
export function start(argv: string[]): Promise<number> {
  return runServerCommand(
    'start',
    START_USAGE,
    argv,
    START_FLAG_OPTIONS,
    async ({ values, positionals, client, json }) => {
      const pos = [...positionals];
      let typeArg = values.type as string | undefined;
      if (typeArg === undefined && pos.length && (START_TYPES as readonly string[]).includes(pos[0]!))
        typeArg = pos.shift();
      const type = parseStartType(typeArg);
      if (pos.length > 1) throw new EgressError('invalid_argument', `one JSON request only, got ${pos.join(' ')}`);
      const request = pos.length ? await readJsonRequest(pos[0]!) : undefined;
      const flags: StartFlags = {};
      for (const [k, v] of Object.entries(values)) {
        if (k in START_FLAG_OPTIONS && !['type', 'wait', 'timeout'].includes(k)) {
          (flags as Record<string, unknown>)[k] = v;
        }
      }
      const built = buildStartRequest(type, flags, request);
      const timeout = timeoutOf(values.timeout as string | undefined, 60);
      let info = await sendStart(client, built);
      if (values.wait && info.status === EgressStatus.EGRESS_STARTING) {
        info = await waitFor(client, info.egressId, (s) => s !== EgressStatus.EGRESS_STARTING, timeout);
      }
      printInfo(info, json);
      if (FINAL_STATUSES.has(info.status) && info.status !== EgressStatus.EGRESS_COMPLETE) {
        throw new EgressError(
          'internal',
          `${info.egressId} ended ${statusName(info.status)}: ${info.error || 'no reason given'}`,
        );
      }
      return 0;
    },
  );
}

async function readJsonRequest(file: string): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new EgressError('invalid_argument', `cannot read the request ${file}: ${describeError(err)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new EgressError('invalid_argument', `the request ${file} is not JSON: ${describeError(err)}`);
  }
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

const STOP_USAGE = `usage: egress stop <egressID>... [--wait [--timeout S]] [--json]
  Stops egresses (their files are finalized). --wait waits until each has ended and prints what it produced;
  --timeout S bounds that wait (default 300).
${SERVER_HELP}
`;

/** `egress stop`. */
export function stop(argv: string[]): Promise<number> {
  const options = {
    id: { type: 'string', multiple: true },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  } as const;
  return runServerCommand(
    'stop',
    STOP_USAGE,
    argv,
    options,
    async ({ values, positionals, client, json, serverUrl }) => {
      const ids = egressIds(values, positionals);
      const timeout = timeoutOf(values.timeout as string | undefined, 300);
      const problems: string[] = [];
      for (const id of ids) {
        // One egress that cannot be stopped must not keep the others running.
        try {
          let info = await client.stopEgress(id);
          if (values.wait && !FINAL_STATUSES.has(info.status)) {
            info = await waitFor(client, id, (s) => FINAL_STATUSES.has(s), timeout);
          }
          printInfo(info, json);
          if (!json && FINAL_STATUSES.has(info.status)) process.stdout.write(results(info));
          if (info.status === EgressStatus.EGRESS_FAILED) problems.push(`${id} ended FAILED: ${info.error}`);
        } catch (err) {
          problems.push(`${id}: ${describeError(err, serverUrl)}`);
        }
      }
      for (const p of problems) process.stderr.write(`egress stop: ${p.replace(/\s*\n\s*/g, ' ')}\n`);
      return problems.length ? 1 : 0;
    },
  );
}

const UPDATE_LAYOUT_USAGE = `usage: egress update-layout <egressID> --layout LAYOUT [--json]
  Changes the layout of a room composite egress while it records.
${SERVER_HELP}
`;

/** `egress update-layout`. */
export function updateLayout(argv: string[]): Promise<number> {
  const options = { id: { type: 'string', multiple: true }, layout: { type: 'string' } } as const;
  return runServerCommand(
    'update-layout',
    UPDATE_LAYOUT_USAGE,
    argv,
    options,
    async ({ values, positionals, client, json }) => {
      const [id] = egressIds(values, positionals, 1);
      const layout = values.layout as string | undefined;
      if (!layout) throw new EgressError('invalid_argument', '--layout is required');
      printInfo(await client.updateLayout(id!, layout), json);
      return 0;
    },
  );
}

const UPDATE_STREAM_USAGE = `usage: egress update-stream <egressID> [--add-urls URL[,URL]] [--remove-urls URL[,URL]] [--json]
  Adds or removes stream URLs of an egress while it records (both flags repeatable).
${SERVER_HELP}
`;

/** `egress update-stream`. */
export function updateStream(argv: string[]): Promise<number> {
  const options = {
    id: { type: 'string', multiple: true },
    'add-urls': { type: 'string', multiple: true },
    'remove-urls': { type: 'string', multiple: true },
  } as const;
  return runServerCommand(
    'update-stream',
    UPDATE_STREAM_USAGE,
    argv,
    options,
    async ({ values, positionals, client, json }) => {
      const [id] = egressIds(values, positionals, 1);
      const split = (v: unknown) =>
        ((v as string[] | undefined) ?? [])
          .flatMap((s) => s.split(','))
          .map((s) => s.trim())
          .filter(Boolean);
      const add = split(values['add-urls']);
      const remove = split(values['remove-urls']);
      if (!add.length && !remove.length) throw new EgressError('invalid_argument', 'give --add-urls or --remove-urls');
      for (const u of [...add, ...remove]) {
        if (!/^(rtmps?|srt):\/\/./.test(u)) {
          throw new EgressError('invalid_argument', `stream URLs must be rtmp, rtmps or srt, got ${JSON.stringify(u)}`);
        }
      }
      const info = await client.updateStream(id!, add, remove);
      printInfo(info, json);
      return 0;
    },
  );
}

const LIST_USAGE = `usage: egress list [--room NAME] [--id EG_...] [--active] [--json]
  Egresses the LiveKit server knows (with --url or LIVEKIT_URL; without either, or with --node, this node's:
  see egress list --node --help).
${SERVER_HELP}
`;

/** `egress list` against the server. */
export function listServer(argv: string[]): Promise<number> {
  const options = { room: { type: 'string' }, id: { type: 'string' }, active: { type: 'boolean' } } as const;
  return runServerCommand('list', LIST_USAGE, argv, options, async ({ values, positionals, client, json }) => {
    if (positionals.length) throw new EgressError('invalid_argument', `unexpected ${positionals.join(' ')}`);
    const list = await client.listEgress({
      roomName: values.room as string | undefined,
      egressId: values.id as string | undefined,
      active: values.active === true,
    });
    if (json) {
      process.stdout.write(
        `${JSON.stringify(
          list.map((i) => i.toJson()),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    if (!list.length) {
      process.stdout.write('no egress\n');
      return 0;
    }
    const now = Date.now();
    const rows = list.map((i) => {
      const startedMs = Number(i.startedAt / 1_000_000n);
      const endedMs = Number(i.endedAt / 1_000_000n);
      const r = i.request;
      const source = r.case === 'web' ? r.value.url : i.roomName || '-';
      return [
        i.egressId,
        statusName(i.status),
        displayName(r.case),
        source,
        startedMs ? new Date(startedMs).toISOString() : '-',
        startedMs ? duration(((endedMs || now) - startedMs) / 1000) : '-',
        i.error || '',
      ];
    });
    process.stdout.write(table(['EGRESS ID', 'STATUS', 'TYPE', 'SOURCE', 'STARTED', 'DURATION', 'ERROR'], rows));
    return 0;
  });
}
