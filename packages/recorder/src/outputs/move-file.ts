import { copyFile, rename, unlink } from 'node:fs/promises';

/** rename(), falling back to copy + unlink when the destination is on another filesystem. */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
    await unlink(from);
  }
}
