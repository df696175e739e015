import winston from 'winston';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Context fields every line of a component carries (nodeID, handlerID, egressID ...). */
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface LoggerOptions {
  level: LogLevel;
  json: boolean;
  fields?: LogFields;
  /** Where lines go; stderr by default so stdout stays free for command output. */
  stream?: NodeJS.WritableStream;
}

export type Logger = winston.Logger;

/** Upstream logs zap-style: `ts` and `msg` rather than winston's `timestamp` and `message`. */
const zapShape = winston.format((info) => {
  const { message, ...rest } = info;
  return Object.assign(rest, { msg: message }) as unknown as winston.Logform.TransformableInfo;
});

export function createLogger(opts: LoggerOptions): Logger {
  const format = opts.json
    ? winston.format.combine(winston.format.timestamp({ alias: 'ts' }), zapShape(), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp(),
        winston.format.printf(({ level, message, timestamp, ...rest }) => {
          const extra = Object.entries(rest)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          return `${String(timestamp)} ${level.toUpperCase().padEnd(5)} ${String(message)}${extra ? ` ${extra}` : ''}`;
        }),
      );
  return winston.createLogger({
    level: opts.level,
    defaultMeta: opts.fields ?? {},
    format,
    transports: [new winston.transports.Stream({ stream: opts.stream ?? process.stderr })],
  });
}
