/** Delivery to a directory on this machine (no upload provider configured). */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '@egress/shared';
import { StorageBackendError, type StorageBackend } from './backend.js';

export class LocalBackend implements StorageBackend {
  readonly description: string;

  /** @param root absolute directory that relative keys resolve against (config `local_output_dir`). */
  constructor(private readonly root: string) {
    if (!path.isAbsolute(root)) throw new Error(`local storage root must be an absolute path (got ${root})`);
    this.description = `local directory ${root}`;
  }

  /** The absolute path a key is delivered to; absolute keys stay where they point. */
  pathOf(key: string): string {
    return path.resolve(this.root, key);
  }

  /** Checks that the root (or its nearest existing ancestor) is a directory this process can write to. */
  async verify(): Promise<void> {
    let dir = this.root;
    for (;;) {
      const s = await stat(dir).catch(() => undefined);
      if (s) {
        if (!s.isDirectory()) throw new StorageBackendError(this.description, 'verify', `${dir} is not a directory`);
        break;
      }
      const parent = path.dirname(dir);
      if (parent === dir) throw new StorageBackendError(this.description, 'verify', 'no existing parent directory');
      dir = parent;
    }
    // A real write, because access(2) says yes to root even where writes fail (read-only mounts).
    const probe = path.join(dir, `.egress-write-probe-${randomUUID()}`);
    try {
      await writeFile(probe, '', { flag: 'wx' });
    } catch (err) {
      throw new StorageBackendError(this.description, 'verify', `${dir} is not writable: ${describeError(err)}`, {
        cause: err,
      });
    }
    await rm(probe, { force: true });
  }

  async upload(localPath: string, key: string): Promise<string> {
    const dest = this.pathOf(key);
    const partial = `${dest}.partial-${randomUUID()}`;
    try {
      await mkdir(path.dirname(dest), { recursive: true });
      // Copy beside the destination, then rename: a reader never sees half a file. FICLONE shares blocks
      // on filesystems that can, else it is a plain copy.
      await copyFile(localPath, partial, constants.COPYFILE_FICLONE);
      await rename(partial, dest);
    } catch (err) {
      await rm(partial, { force: true });
      throw new StorageBackendError(this.description, 'upload', `${dest}: ${describeError(err)}`, { cause: err });
    }
    return dest;
  }

  /** Local files have no URL to sign: the location is the path. */
  async presign(key: string): Promise<string> {
    return this.pathOf(key);
  }
}
