#!/usr/bin/env node
/** The one entry point: `egress <command>`. */
import { logs } from './logs.js';
import { record } from './record.js';
import { serve } from './serve.js';

const USAGE = `usage: egress <command>
  serve [--config FILE]     run the service (config also from EGRESS_CONFIG_BODY / EGRESS_CONFIG_FILE)
  record <url> --out FILE   record a web page to a local MP4 with no server [--duration S --width W --height H --fps F]
  logs <egressID>           print an egress's log, live or finished [--follow] [--dir DIR (default: EGRESS_LOG_DIR)]
`;

const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, (argv: string[]) => Promise<number>> = { serve, record, logs };
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
