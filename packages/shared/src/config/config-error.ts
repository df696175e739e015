import { EgressError } from '../errors.js';

/**
 * Every problem found in a config, reported at once. The message is one line:
 * `invalid config: <problem>; <problem>`; each problem names the dotted key and, unless it is a secret,
 * the offending value.
 */
export class ConfigError extends EgressError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('invalid_argument', `invalid config: ${problems.join('; ')}`);
    this.problems = [...problems];
  }
}

export const MISSING_CONFIG_MESSAGE = 'missing config: set EGRESS_CONFIG_BODY, EGRESS_CONFIG_FILE or --config';
