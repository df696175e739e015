/**
 * The orphan reaper: removes what a recorder left behind when it died without cleaning up (SIGKILL, crash,
 * a supervisor restart): its processes, its PulseAudio null sink, its scratch dir and stale X display locks.
 * Like upstream's pulse sink reaper (`pkg/stats/pulse_reaper.go`), it runs at start-up and every 30 s.
 *
 * What belongs to whom:
 * - every recorder child (and so everything it starts) carries `EGRESS_RECORDER_ROOT=<tmp_dir>` in its
 *   environment; a marked process is live when its process group is a live recorder's, or when it descends
 *   from a live recorder or from the calling process; everything else marked is an orphan;
 * - sinks and scratch dirs are named after the egress id (`resource-names.ts`: the rule the planner accepts);
 * - X locks name the pid of the server holding the display.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { RECORDER_ROOT_ENV } from '@egress/shared/host/child-env';
import { listPids, readCmdline, readEnviron, readProcStat } from '@egress/shared/host/procfs';
import { listModules, nullSinks, unloadModule, type NullSinkModule } from '@egress/shared/host/pulse';
import { egressIdOfScratchDir, egressIdOfSink } from '@egress/shared/host/resource-names';
import { signalPid } from '@egress/shared/host/terminate';
import { lockedDisplays, removeStaleXLock, X_LOCK_DIR, xLockPath } from '@egress/shared/host/x-locks';

export { RECORDER_ROOT_ENV };

export interface ReapReport {
  /** Pids sent SIGKILL. */
  processes: number[];
  /** Names of the null sinks unloaded. */
  sinks: string[];
  /** Scratch dirs removed (absolute paths). */
  dirs: string[];
  /** Displays whose stale lock was removed, e.g. ":12". */
  displays: string[];
  /** Orphan scratch dirs kept because they hold media that was never delivered (absolute paths). */
  keptUndelivered: string[];
}

export type ReapLog = (msg: string, fields?: object) => void;

export interface ReapOptions {
  /** `tmp_dir`: the root of the per-egress scratch dirs, and the value of the recorders' marker env. */
  tmpRoot: string;
  /** Whether an egress id is active on this node (sinks and dirs of active egresses are never touched). */
  isActive: (egressId: string) => boolean;
  /**
   * Process group ids of the live recorder children, including a spare (= their pids). Read when the
   * decision is made, so a Set the caller keeps up to date (or a function) sees recorders forked meanwhile.
   */
  livePgids: ReadonlySet<number> | (() => Iterable<number>);
  /**
   * How long a sink or dir of an inactive egress must have been seen before it is removed
   * (upstream's `pulse_sink_reap_grace_sec`, 30 s). Negative disables sink reaping; dirs then use 30 s.
   */
  graceMs: number;
  /** When each candidate was first seen; keep it across runs (the Reaper does). */
  seen: Map<string, number>;
  log: ReapLog;
  /** The current time, for tests (default Date.now()). */
  now?: number;
  /** Where X servers write `.X<N>-lock` (and `.X11-unix/X<N>`); default /tmp. */
  xLockDir?: string;
}

export type ReaperOptions = Omit<ReapOptions, 'now' | 'seen'> & {
  /** No egress runs: with nothing pending either, passes slow to the idle interval. */
  idle?: () => boolean;
};

const MEDIA = /\.(?:mp4|m4a|ogg|webm|mp3|ts|m3u8|jpeg|jpg)$/i;
const DEFAULT_DIR_GRACE_MS = 30_000;
/** A scratch dir with more entries than this is not searched to the end; it is kept. */
const MAX_DIR_ENTRIES = 20_000;
const MAX_ANCESTRY = 256;

function emptyReport(): ReapReport {
  return { processes: [], sinks: [], dirs: [], displays: [], keptUndelivered: [] };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * One pass over processes, sinks, scratch dirs and X locks. Every item is handled on its own: an error is
 * logged and the item skipped. Never throws.
 */
export async function reapOrphans(opts: ReapOptions): Promise<ReapReport> {
  const report = emptyReport();
  const now = opts.now ?? Date.now();
  const log: ReapLog = (msg, fields) => {
    try {
      opts.log(msg, fields);
    } catch {
      // a broken logger must not stop the reaper
    }
  };
  const o = { ...opts, log };
  const passes: [string, () => Promise<void>][] = [
    ['processes', () => reapProcesses(o, report)],
    ['sinks', () => reapSinks(o, now, report)],
    ['dirs', () => reapDirs(o, now, report)],
    ['displays', () => reapDisplays(o.xLockDir ?? X_LOCK_DIR, log, report)],
  ];
  for (const [pass, run] of passes) {
    try {
      await run();
    } catch (err) {
      log('reaper: pass failed', { pass, error: message(err) });
    }
  }
  return report;
}

/** First time `key` was seen, recording `now` when it is new. */
function firstSeen(seen: Map<string, number>, key: string, now: number): number {
  const first = seen.get(key);
  if (first !== undefined) return first;
  seen.set(key, now);
  return now;
}

/** Forgets entries under `prefix` that were not candidates in this pass, so the map stays small. */
function prune(seen: Map<string, number>, prefixes: string[], current: Set<string>): void {
  for (const key of [...seen.keys()]) {
    const prefix = prefixes.find((p) => key.startsWith(p));
    if (prefix !== undefined && !current.has(key.slice(prefix.length))) seen.delete(key);
  }
}

// ---------------------------------------------------------------------------------------------- processes

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  marked: boolean;
}

function readProc(pid: number, isMarker: (entry: string) => boolean): Proc | undefined {
  const stat = readProcStat(pid);
  if (!stat) return undefined; // gone meanwhile
  // Another user's process, or gone: not ours.
  const marked = readEnviron(pid)?.some(isMarker) ?? false;
  return { pid, ppid: stat.ppid, pgid: stat.pgid, state: stat.state, marked };
}

function markerMatcher(tmpRoot: string): (entry: string) => boolean {
  const prefix = `${RECORDER_ROOT_ENV}=`;
  const root = path.resolve(tmpRoot);
  return (entry) => {
    if (!entry.startsWith(prefix)) return false;
    const value = entry.slice(prefix.length);
    return value === tmpRoot || (path.isAbsolute(value) && path.resolve(value) === root);
  };
}

async function reapProcesses(o: ReapOptions, report: ReapReport): Promise<void> {
  if (!o.tmpRoot) return;
  const isMarker = markerMatcher(o.tmpRoot);
  const pids = listPids();
  const procs = new Map<number, Proc>();
  for (const pid of pids) {
    const p = readProc(pid, isMarker);
    if (p) procs.set(p.pid, p);
  }

  const live = new Set(typeof o.livePgids === 'function' ? o.livePgids() : o.livePgids);
  const protectedPids = new Set([0, 1, process.pid, process.ppid]);
  const protectedPgids = new Set([0, 1, procs.get(process.pid)?.pgid, procs.get(process.ppid)?.pgid]);
  // Alive for us: a live recorder's group, or below a live recorder (a child in a group of its own) or below
  // the caller (a recorder forked but not registered yet). An orphan has been reparented away from both.
  const belongsToLive = (p: Proc): boolean => {
    if (live.has(p.pgid)) return true;
    let cur: number | undefined = p.pid;
    for (let hops = 0; cur !== undefined && cur > 1 && hops < MAX_ANCESTRY; hops++) {
      if (live.has(cur) || cur === process.pid) return true;
      cur = procs.get(cur)?.ppid;
    }
    return false;
  };
  const orphans = [...procs.values()].filter(
    (p) => p.marked && p.state !== 'Z' && !protectedPids.has(p.pid) && !belongsToLive(p),
  );
  if (orphans.length === 0) return;
  const orphanPids = new Set(orphans.map((p) => p.pid));

  const killedGroups = new Set<number>();
  for (const p of orphans) {
    try {
      const cmd = readCmdline(p.pid).slice(0, 200);
      // The whole group goes, so what it forks meanwhile goes too; only when all of it is ours and orphaned.
      const group = [...procs.values()].filter((q) => q.pgid === p.pgid && q.state !== 'Z');
      const wholeGroup =
        !killedGroups.has(p.pgid) &&
        !protectedPgids.has(p.pgid) &&
        !live.has(p.pgid) &&
        group.every((q) => orphanPids.has(q.pid));
      if (wholeGroup) {
        killedGroups.add(p.pgid);
        signalPid(-p.pgid, 'SIGKILL');
      }
      signalPid(p.pid, 'SIGKILL');
      report.processes.push(p.pid);
      o.log('reaper: killed orphaned recorder process', { pid: p.pid, pgid: p.pgid, cmd });
    } catch (err) {
      o.log('reaper: could not kill orphaned process', { pid: p.pid, pgid: p.pgid, error: message(err) });
    }
  }
}

// -------------------------------------------------------------------------------------------------- sinks

async function reapSinks(o: ReapOptions, now: number, report: ReapReport): Promise<void> {
  if (o.graceMs < 0) return;
  let sinks: NullSinkModule[];
  try {
    sinks = nullSinks(await listModules());
  } catch {
    return; // no pactl, or no daemon: nothing to reap
  }
  const current = new Set<string>();
  for (const { index, sinkName: name } of sinks) {
    if (egressIdOfSink(name) === undefined) continue;
    try {
      if (o.isActive(name)) continue;
      current.add(name);
      const key = `sink:${name}`;
      if (now - firstSeen(o.seen, key, now) < o.graceMs) continue;
      try {
        await unloadModule(index);
      } catch (err) {
        o.log('reaper: could not unload orphaned sink', { sink: name, module: index, error: message(err) });
        continue;
      }
      report.sinks.push(name);
      o.seen.delete(key);
      o.log('reaper: unloaded orphaned pulse sink', { sink: name, module: index });
    } catch (err) {
      o.log('reaper: could not unload orphaned sink', { sink: name, error: message(err) });
    }
  }
  prune(o.seen, ['sink:'], current);
}

// --------------------------------------------------------------------------------------------------- dirs

/** Media files under `dir` (up to a few), breadth first; `complete` is false when the search was cut short. */
async function findMedia(dir: string): Promise<{ media: string[]; complete: boolean }> {
  const media: string[] = [];
  const queue = [dir];
  let seen = 0;
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    let entries: Dirent[];
    try {
      entries = await readdir(next, { withFileTypes: true });
    } catch (err) {
      if (errCode(err) === 'ENOENT') continue;
      throw err;
    }
    seen += entries.length;
    if (seen > MAX_DIR_ENTRIES) return { media, complete: false };
    for (const e of entries) {
      const full = path.join(next, e.name);
      if (e.isDirectory()) queue.push(full);
      else if (!e.isSymbolicLink() && MEDIA.test(e.name)) media.push(path.relative(dir, full));
    }
    if (media.length >= 5) break;
  }
  return { media, complete: true };
}

async function reapDirs(o: ReapOptions, now: number, report: ReapReport): Promise<void> {
  const root = path.resolve(o.tmpRoot || '/');
  if (!o.tmpRoot || !path.isAbsolute(o.tmpRoot) || root === path.parse(root).root) {
    o.log('reaper: not reaping scratch dirs: tmp root must be an absolute path below /', { tmpRoot: o.tmpRoot });
    return;
  }
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    if (errCode(err) === 'ENOENT') {
      prune(o.seen, ['dir:', 'undelivered:'], new Set());
      return;
    }
    throw err;
  }
  const grace = o.graceMs >= 0 ? o.graceMs : DEFAULT_DIR_GRACE_MS;
  const current = new Set<string>();
  for (const e of entries) {
    // Only egress-shaped names: a tmp_dir shared with other programs (say /tmp) keeps their dirs.
    if (!e.isDirectory() || egressIdOfScratchDir(e.name) === undefined) continue;
    const dir = path.join(root, e.name);
    try {
      if (o.isActive(e.name)) continue;
      current.add(e.name);
      const first = firstSeen(o.seen, `dir:${e.name}`, now);
      const { mtimeMs } = await lstat(dir);
      if (now - Math.min(mtimeMs, first) < grace) continue;
      const { media, complete } = await findMedia(dir);
      if (media.length > 0 || !complete) {
        report.keptUndelivered.push(dir);
        if (!o.seen.has(`undelivered:${e.name}`)) {
          o.seen.set(`undelivered:${e.name}`, now);
          o.log(
            media.length > 0
              ? 'reaper: WARNING keeping orphaned scratch dir: it holds a recording that was never delivered'
              : 'reaper: WARNING keeping orphaned scratch dir: too large to search for undelivered recordings',
            { dir, egressID: e.name, media },
          );
        }
        continue;
      }
      if (o.isActive(e.name)) continue; // became active while we looked
      await rm(dir, { recursive: true, force: true });
      report.dirs.push(dir);
      o.seen.delete(`dir:${e.name}`);
      o.log('reaper: removed orphaned scratch dir', { dir, egressID: e.name });
    } catch (err) {
      o.log('reaper: could not remove orphaned scratch dir', { dir, error: message(err) });
    }
  }
  prune(o.seen, ['dir:', 'undelivered:'], current);
}

// ----------------------------------------------------------------------------------------------- displays

async function reapDisplays(lockDir: string, log: ReapLog, report: ReapReport): Promise<void> {
  for (const display of await lockedDisplays(lockDir)) {
    const lock = xLockPath(display, lockDir);
    try {
      const pid = await removeStaleXLock(display, lockDir);
      if (pid === undefined) continue;
      report.displays.push(`:${display}`);
      log('reaper: removed stale X display lock', { display: `:${display}`, pid, lock });
    } catch (err) {
      log('reaper: could not remove stale X display lock', { lock, error: message(err) });
    }
  }
}

// -------------------------------------------------------------------------------------------------- Reaper

/**
 * Runs {@link reapOrphans} now and every `intervalMs`, keeping the first-seen times across runs; every
 * `idleIntervalMs` instead while the node is idle and the last pass left nothing waiting out its grace
 * (orphans come from recorders that died, and an idle node has none left to die). A run still in progress
 * makes the next tick a no-op. The timer is unref'd: it never keeps the process alive.
 */
export class Reaper {
  private readonly seen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<ReapReport> | undefined;
  private completed = 0;
  private started = false;
  private stopped = false;

  constructor(private readonly opts: ReaperOptions) {}

  /** Runs completed so far. */
  get runs(): number {
    return this.completed;
  }

  /** Runs once at once, then on the schedule above; a second start is ignored. */
  start(intervalMs = 30_000, idleIntervalMs = 300_000): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const next = () => {
      const quiet = this.opts.idle?.() === true && this.seen.size === 0;
      this.timer = setTimeout(
        () => void this.runOnce().then(() => !this.stopped && next()),
        quiet ? idleIntervalMs : intervalMs,
      );
      this.timer.unref();
    };
    void this.runOnce().then(() => !this.stopped && next());
  }

  /** Stops the timer; resolves when a run in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** One pass; while a pass is in progress, returns that pass instead of starting another. Never rejects. */
  runOnce(): Promise<ReapReport> {
    this.inFlight ??= reapOrphans({ ...this.opts, seen: this.seen })
      .catch((err: unknown) => {
        try {
          this.opts.log('reaper: run failed', { error: message(err) });
        } catch {
          // nothing left to tell
        }
        return emptyReport();
      })
      .finally(() => {
        this.completed++;
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
