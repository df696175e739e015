/**
 * The Xauthority file of one private display: a fresh MIT-MAGIC-COOKIE-1, so only the processes handed the file
 * (that recording's Chromium and gst-launch) can connect. Written directly: `xauth` may not be installed.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';

// FamilyWild matches any address; an empty display number matches any display (libXau), which we need because
// Xvfb picks its number only after it has read the file.
const FAMILY_WILD = 0xffff;
const AUTH_NAME = 'MIT-MAGIC-COOKIE-1';

function counted(bytes: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** One Xauthority entry: family, address, display number, auth name, cookie (each but the family length-prefixed). */
export function xauthorityEntry(cookie: Buffer): Buffer {
  const family = Buffer.alloc(2);
  family.writeUInt16BE(FAMILY_WILD);
  return Buffer.concat([
    family,
    counted(Buffer.alloc(0)),
    counted(Buffer.alloc(0)),
    counted(Buffer.from(AUTH_NAME)),
    counted(cookie),
  ]);
}

/** Writes `file` (mode 0600) with a new random cookie, replacing a file a previous attempt left. */
export async function writeXauthority(file: string): Promise<void> {
  await rm(file, { force: true });
  // 'wx': the mode applies only to a file this call creates.
  await writeFile(file, xauthorityEntry(randomBytes(16)), { mode: 0o600, flag: 'wx' });
}
