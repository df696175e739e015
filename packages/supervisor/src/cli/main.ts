#!/usr/bin/env node
/** The one entry point: `egress <command>`. */
import { logs } from './logs.js';
import { listNode, status } from './node-commands.js';
import { record } from './record.js';
import { serve } from './serve.js';
import { listServer, start, stop, updateLayout, updateStream } from './server-commands.js';

const USAGE = `usage: egress <command> [--help]
 the service
  serve [--config FILE]     run the service (config also from EGRESS_CONFIG_BODY / EGRESS_CONFIG_FILE)
  record <url> --out FILE   record a web page to a local MP4 with no server [--duration S --width W --height H --fps F]
 on a node (reads its health port: --port N, else health_port of the service config)
  status                    the node: whether it takes requests, free CPU, every active egress [--json]
  list --node               the egresses active on this node [--all: with the ended ones from their logs]
  logs <egressID>           print an egress's log, live or finished [--follow] [--dir DIR (default: EGRESS_LOG_DIR)]
 against a LiveKit server (--url --api-key --api-secret, or LIVEKIT_URL LIVEKIT_API_KEY LIVEKIT_API_SECRET)
  start TYPE [REQUEST.json] start an egress: web, room-composite, participant, track-composite, track [--wait]
  stop <egressID>...        stop egresses [--wait: until they end, with their files]
  update-layout <egressID>  --layout LAYOUT
  update-stream <egressID>  --add-urls URL --remove-urls URL
  list                      the server's egresses [--room NAME] [--id EG_] [--active]; on a node without
                            --url or LIVEKIT_URL, the node's (as list --node)
`;

/** `list` asks the server when one is named, else this node; `--node` always asks the node. */
function list(argv: string[]): Promise<number> {
  const named = argv.some((a) => a === '--url' || a.startsWith('--url=')) || !!process.env.LIVEKIT_URL;
  if (argv.includes('--node') || !named) return listNode(argv);
  return listServer(argv);
}

const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, (argv: string[]) => Promise<number>> = {
  serve,
  record,
  logs,
  status,
  list,
  start,
  stop,
  'update-layout': updateLayout,
  'update-stream': updateStream,
};
const run = command ? commands[command] : undefined;
if (!run) {
  process.stderr.write(
    command && command !== 'help' && command !== '--help' ? `egress: unknown command "${command}"\n${USAGE}` : USAGE,
  );
  process.exitCode = command && command !== 'help' && command !== '--help' ? 2 : 0;
} else {
  run(rest).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`egress ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
