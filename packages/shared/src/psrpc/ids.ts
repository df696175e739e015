import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ID_LENGTH = 12;
// Largest multiple of 62 below 256: bytes at or above it are rejected so every character is equally likely.
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

/**
 * A psrpc id: `prefix` followed by 12 random characters from [a-zA-Z0-9], e.g. `newId('SRV_')`.
 * Prefixes in use: `CLI_` (client), `SRV_` (server), `REQ_` (request).
 */
export function newId(prefix: string): string {
  let id = prefix;
  while (id.length < prefix.length + ID_LENGTH) {
    for (const byte of randomBytes(ID_LENGTH * 2)) {
      if (byte >= UNBIASED_LIMIT) continue;
      id += ALPHABET[byte % ALPHABET.length];
      if (id.length === prefix.length + ID_LENGTH) break;
    }
  }
  return id;
}
