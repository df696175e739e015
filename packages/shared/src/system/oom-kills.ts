/**
 * Whether the kernel's OOM killer ran: a process it kills just dies of SIGKILL, and only its memory
 * cgroup's counter (`oom_kill` in v1 `memory.oom_control`, v2 `memory.events`) tells why.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CgroupMount {
  root: string;
  point: string;
  fstype: string;
  superOptions: string[];
}

function cgroupMounts(): CgroupMount[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    // "id parent major:minor root mountpoint options [optional...] - fstype source superoptions"
    const [left = '', right = ''] = line.split(' - ');
    const fields = left.split(' ');
    const [fstype = '', , superOpts = ''] = right.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    mounts.push({ root: fields[3] ?? '/', point: fields[4] ?? '', fstype, superOptions: superOpts.split(',') });
  }
  return mounts;
}

/** The directory of the memory cgroup `pid` is in (v1 `memory` hierarchy, else the v2 tree), if mounted. */
export function memoryCgroupDir(pid: number | 'self' = 'self'): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  const entries = text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', controllers = '', ...rest] = line.split(':');
      return { id, controllers: controllers.split(','), cgPath: rest.join(':') };
    });
  const mounts = cgroupMounts();
  const v1 = entries.find((e) => e.controllers.includes('memory'));
  const v1Mount = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes('memory'));
  if (v1 && v1Mount) return join(v1Mount, v1.cgPath);
  const v2 = entries.find((e) => e.id === '0');
  const v2Mount = mounts.find((m) => m.fstype === 'cgroup2');
  if (v2 && v2Mount) return join(v2Mount, v2.cgPath);
  return undefined;
}

function join(mount: CgroupMount, cgPath: string): string {
  const rel = mount.root !== '/' && cgPath.startsWith(mount.root) ? cgPath.slice(mount.root.length) : cgPath;
  return path.join(mount.point, rel);
}

/** OOM kills the kernel has counted in the memory cgroup at `dir`; undefined when it keeps no count there. */
export function oomKillCount(dir: string): number | undefined {
  for (const file of ['memory.events', 'memory.oom_control']) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(path.join(dir, file), 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // not this cgroup version's file
    }
  }
  return undefined;
}

/**
 * Counts OOM kills in a process's memory cgroup from now on. The cgroup is looked up again at each
 * question (a process can be moved); one it was not in at the start counts from zero, and once the
 * process is gone the cgroup it was last seen in is asked.
 */
export class OomKillWatch {
  private readonly baseline = new Map<string, number>();
  private lastDir: string | undefined;

  constructor(private readonly pid: number | 'self' = 'self') {
    const dir = this.currentDir();
    const count = dir ? oomKillCount(dir) : undefined;
    if (dir && count !== undefined) this.baseline.set(dir, count);
  }

  /** OOM kills since the watch began (0 where the kernel keeps no count we can read). */
  killsSince(): number {
    const dir = this.currentDir();
    const count = dir ? oomKillCount(dir) : undefined;
    if (!dir || count === undefined) return 0;
    return count - (this.baseline.get(dir) ?? 0);
  }

  private currentDir(): string | undefined {
    this.lastDir = memoryCgroupDir(this.pid) ?? this.lastDir;
    return this.lastDir;
  }
}

/** The phrase a death's description gets when the OOM killer ran meanwhile. */
export const OOM_NOTE = 'out of memory: the kernel OOM killer ran in its memory cgroup';
