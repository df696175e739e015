/**
 * Service configuration: YAML (upstream livekit/egress schema plus our keys) → validated EgressConfig.
 * Start with `loadConfig`; log the result only through `redactConfig`.
 */
export { loadConfig, parseConfig, parseConfigFlags, type LoadOptions, type LoadResult } from './load.js';
export { validateConfig, generateNodeId, type ValidateOptions, type ValidationResult } from './validate.js';
export { redactConfig, isSecretPath, REDACTED } from './redact.js';
export { parseGoDuration } from './duration.js';
export { ConfigError, MISSING_CONFIG_MESSAGE } from './config-error.js';
export * from './schema.js';
