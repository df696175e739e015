import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { childEnv } from '@egress/shared/host/child-env';

/** Unloads every PulseAudio null sink named for this egress; a crashed recorder cannot do it itself. */
export async function unloadSinksNamed(sinkName: string): Promise<number> {
  const list = await execa('pactl', ['list', 'short', 'modules'], {
    reject: false,
    timeout: 5000,
    env: childEnv(),
    extendEnv: false,
  });
  if (list.exitCode !== 0) return 0;
  const modules = String(list.stdout)
    .split('\n')
    .map((l) => l.split('\t'))
    .filter(
      ([, name, args]) =>
        name === 'module-null-sink' && new RegExp(`sink_name="?${sinkName}"?(\\s|$)`).test(args ?? ''),
    )
    .map(([idx]) => idx!);
  for (const idx of modules)
    await execa('pactl', ['unload-module', idx], { reject: false, timeout: 5000, env: childEnv(), extendEnv: false });
  return modules.length;
}

/** Removes everything a recorder owned in PulseAudio and, unless it holds undelivered media, on disk. */
export async function releaseOwned(egressId: string, tmpDir: string | undefined): Promise<void> {
  await Promise.all([unloadSinksNamed(egressId), tmpDir ? rm(tmpDir, { recursive: true, force: true }) : undefined]);
}
