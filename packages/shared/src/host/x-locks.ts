/**
 * X server lock files: `<dir>/.X<n>-lock` holds the pid of the server on display :n ("%10d\n"), and
 * `<dir>/.X11-unix/X<n>` is its socket. A server that died without cleaning up leaves both, and its display
 * number then looks taken.
 */
import { lstat, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from './procfs.js';

/** Where X servers write their locks. */
export const X_LOCK_DIR = '/tmp';

const X_LOCK = /^\.X(\d+)-lock$/;
/** A lock larger than this is not one an X server wrote. */
const MAX_LOCK_BYTES = 64;

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The display numbers (as written in the file names) that have a lock file in `dir`; none when `dir` is missing. */
export async function lockedDisplays(dir = X_LOCK_DIR): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return [];
    throw err;
  }
  return names.flatMap((name) => {
    const display = X_LOCK.exec(name)?.[1];
    return display === undefined ? [] : [display];
  });
}

/** The lock file of display `display` in `dir`. */
export function xLockPath(display: string, dir = X_LOCK_DIR): string {
  return path.join(dir, `.X${display}-lock`);
}

/** The pid in an X lock file's content, or undefined when the content is not a pid. */
export function lockPid(content: string): number | undefined {
  const text = content.trim();
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const pid = Number(text);
  return pid > 0 ? pid : undefined;
}

/**
 * Removes the lock of `display` (and its socket) when the server it names is no longer running. Returns that
 * server's pid, or undefined when the lock was kept: not a lock file, a live server, or replaced meanwhile.
 */
export async function removeStaleXLock(display: string, dir = X_LOCK_DIR): Promise<number | undefined> {
  const lock = xLockPath(display, dir);
  const st = await lstat(lock);
  if (!st.isFile() || st.size > MAX_LOCK_BYTES) return undefined;
  const content = await readFile(lock, 'utf8');
  const pid = lockPid(content);
  if (pid === undefined || pidAlive(pid)) return undefined;
  // An X server may have replaced the stale lock meanwhile; that one is not ours to remove.
  if ((await readFile(lock, 'utf8').catch(() => '')) !== content) return undefined;
  await unlink(lock);
  const socket = path.join(dir, '.X11-unix', `X${display}`);
  try {
    if (!(await lstat(socket)).isDirectory()) await unlink(socket);
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
  }
  return pid;
}
