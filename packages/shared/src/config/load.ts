/** Where the config comes from: `--config-body` / EGRESS_CONFIG_BODY, else `--config` / EGRESS_CONFIG_FILE. */
import { readFileSync } from 'node:fs';
import { EgressError } from '../errors.js';
import { MISSING_CONFIG_MESSAGE } from './config-error.js';
import { validateConfig, type ValidationResult } from './validate.js';
import { parseYaml } from './yaml.js';

export interface LoadOptions {
  /** CLI arguments (e.g. `process.argv.slice(2)`); only `--config FILE` and `--config-body YAML` are read. */
  argv?: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Reads the config file; default `fs.readFileSync(path, 'utf8')`. */
  readFile?: (path: string) => string;
  /** Base for relative directories in the config; default process.cwd(). */
  cwd?: string;
}

export interface LoadResult extends ValidationResult {
  /** Where the YAML came from, for a startup log line: `EGRESS_CONFIG_BODY`, `--config /etc/egress.yaml`, ... */
  source: string;
}

interface ConfigFlags {
  file?: string;
  body?: string;
}

/** Picks `--config[=]FILE` and `--config-body[=]YAML` (also with one dash, as urfave/cli allows) out of argv. */
export function parseConfigFlags(argv: readonly string[]): ConfigFlags {
  const flags: ConfigFlags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    const match = /^--?(config|config-body)(?:=(.*))?$/s.exec(arg);
    if (!match) continue;
    const name = match[1] === 'config' ? 'file' : 'body';
    let value = match[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) {
        throw new EgressError('invalid_argument', `--${match[1]} needs a value`);
      }
      i++;
    }
    flags[name] = value;
  }
  return flags;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Parses YAML text and validates it (env fallbacks for api_key / api_secret / ws_url come from `env`).
 * Throws a ConfigError naming every problem.
 */
export function parseConfig(
  yamlText: string,
  env: NodeJS.ProcessEnv,
  options: { origin?: string; cwd?: string } = {},
): ValidationResult {
  const parsed = parseYaml(yamlText, options.origin ?? 'config');
  const result = validateConfig(parsed.value, { env, scalarText: parsed.scalarText, cwd: options.cwd });
  return { config: result.config, warnings: [...parsed.warnings, ...result.warnings] };
}

/**
 * Loads the service config. The body (flag or EGRESS_CONFIG_BODY) wins over the file (flag or
 * EGRESS_CONFIG_FILE); a flag wins over its env variable. Neither → "missing config".
 */
export function loadConfig(options: LoadOptions): LoadResult {
  const { env } = options;
  const flags = parseConfigFlags(options.argv ?? []);
  const body = flags.body !== undefined ? { text: flags.body, source: '--config-body' } : undefined;
  const envBody = nonEmpty(env.EGRESS_CONFIG_BODY);
  const file = flags.file !== undefined ? { path: flags.file, via: '--config' } : undefined;
  const envFile = nonEmpty(env.EGRESS_CONFIG_FILE);

  const chosenBody =
    nonEmpty(body?.text) !== undefined ? body : envBody ? { text: envBody, source: 'EGRESS_CONFIG_BODY' } : undefined;
  const chosenFile =
    nonEmpty(file?.path) !== undefined ? file : envFile ? { path: envFile, via: 'EGRESS_CONFIG_FILE' } : undefined;

  const warnings: string[] = [];
  let text: string;
  let source: string;
  let origin: string;
  if (chosenBody) {
    text = chosenBody.text;
    source = chosenBody.source;
    origin = source;
    if (chosenFile) warnings.push(`both ${source} and ${chosenFile.via} are set: using ${source}`);
  } else if (chosenFile) {
    const read = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
    try {
      text = read(chosenFile.path);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new EgressError(
        'invalid_argument',
        `cannot read config file ${JSON.stringify(chosenFile.path)} (${chosenFile.via}): ${why}`,
      );
    }
    source = `${chosenFile.via} ${chosenFile.path}`;
    origin = chosenFile.path;
  } else {
    throw new EgressError('invalid_argument', MISSING_CONFIG_MESSAGE);
  }

  const result = parseConfig(text, env, { origin, cwd: options.cwd });
  return { config: result.config, warnings: [...warnings, ...result.warnings], source };
}
