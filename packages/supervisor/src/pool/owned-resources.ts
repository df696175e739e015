import { rm } from 'node:fs/promises';
import { nullSinkModules, unloadModule } from '@egress/shared/host/pulse';
import { sinkName } from '@egress/shared/host/resource-names';

/** Unloads every PulseAudio null sink named `name`; a crashed recorder cannot do it itself. 0 when pactl fails. */
export async function unloadSinksNamed(name: string): Promise<number> {
  const modules = await nullSinkModules(name).catch(() => [] as number[]);
  for (const index of modules) await unloadModule(index).catch(() => {});
  return modules.length;
}

/** Removes everything a recorder owned in PulseAudio and, unless it holds undelivered media, on disk. */
export async function releaseOwned(egressId: string, tmpDir: string | undefined): Promise<void> {
  await Promise.all([
    unloadSinksNamed(sinkName(egressId)),
    tmpDir ? rm(tmpDir, { recursive: true, force: true }) : undefined,
  ]);
}
