/**
 * GCP credentials JSON as this service accepts it: a service-account key and nothing else. Other credential types
 * (external_account, authorized_user, impersonated_service_account...) make google-auth-library read local files
 * and POST to URLs named in the JSON, so they never reach it; of a key only the email and private key are kept.
 */
import { createPrivateKey } from 'node:crypto';
import { errors } from '../errors.js';

/** The parts of a service-account key the JWT client is built from; token_uri and every other URL are dropped. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  project_id?: string;
}

// A credential type is a short identifier; anything else is not echoed (it might be a secret pasted in the wrong place).
const SHOWABLE_TYPE = /^[a-z_]{1,40}$/;

/**
 * Parses `json` as a service-account key. Throws invalid_argument naming `field` (and the key's field) for anything
 * else, never echoing the secret.
 */
export function parseServiceAccountKey(json: string, field: string): ServiceAccountKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    // No cause kept: JSON.parse quotes the text around the fault, which may be the key.
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw errors.invalidArgument(field, '(not shown)', 'must be the service-account JSON text');
  }
  const key = parsed as Record<string, unknown>;
  if (key['type'] !== 'service_account') {
    const type = key['type'];
    const shown = typeof type === 'string' && SHOWABLE_TYPE.test(type) ? type : '(not shown)';
    throw errors.invalidArgument(
      `${field}.type`,
      shown,
      'only "service_account" keys are accepted (other credential types read local files or call URLs named in the JSON)',
    );
  }
  const email = key['client_email'];
  if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email)) {
    throw errors.invalidArgument(`${field}.client_email`, '(not shown)', 'must be the service account email');
  }
  const privateKey = key['private_key'];
  if (typeof privateKey !== 'string' || privateKey === '') {
    throw errors.invalidArgument(`${field}.private_key`, '(empty)', 'is required');
  }
  try {
    createPrivateKey(privateKey);
  } catch {
    throw errors.invalidArgument(`${field}.private_key`, '(not shown)', 'is not a PEM private key');
  }
  const project = key['project_id'];
  return {
    client_email: email,
    private_key: privateKey,
    ...(typeof project === 'string' && project !== '' ? { project_id: project } : {}),
  };
}
