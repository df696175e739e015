/** Which config values are secrets, and how to print a config without them. */
import type { EgressConfig } from './schema.js';

export const REDACTED = '***';

/**
 * Secret by key name, at any depth: api_secret, redis.password, proxy passwords, S3/AliOSS access_key,
 * secret and session_token, azure account_key, gcp credentials_json, upstream's s3_assume_role_key/secret
 * and sentinel_password.
 */
const SECRET_KEY = /(^|_)(password|secret|session_token|credentials_json|account_key|access_key|assume_role_key)$/;

/** True when the last segment of a dotted key path names a secret. */
export function isSecretPath(path: string): boolean {
  const leaf = path.slice(path.lastIndexOf('.') + 1);
  return SECRET_KEY.test(leaf);
}

function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSecretPath(key) && typeof inner === 'string' && inner !== '' ? REDACTED : redactValue(inner);
  }
  return out;
}

/**
 * A deep copy of the config with every set secret replaced by `***` (empty secrets stay empty, so the
 * log still shows what is unset). Use it whenever the effective config is logged or printed.
 */
export function redactConfig(config: EgressConfig): EgressConfig {
  return redactValue(config) as EgressConfig;
}
