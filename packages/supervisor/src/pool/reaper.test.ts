import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { EncodedFileOutput, WebEgressRequest } from '@livekit/protocol';
import { planFromRequest } from '@egress/shared';
import { scratchDir, sinkName } from '@egress/shared/host/resource-names';
import { Reaper, reapOrphans, type ReapOptions } from './reaper.js';
import { sleep, until } from '@egress/shared/testing/wait';

/** Running and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

interface Logged {
  msg: string;
  fields?: object;
}

function logger(): { lines: Logged[]; log: ReapOptions['log'] } {
  const lines: Logged[] = [];
  return { lines, log: (msg, fields) => lines.push(fields ? { msg, fields } : { msg }) };
}

const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.EGRESS_RECORDER_ROOT;
  return env;
};

const started: number[] = [];
const temps: string[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/**
 * Runs `script` in `sh` in a session of its own; the script starts processes in the background, prints
 * their pids and exits, so they are left orphaned like the tree of a recorder that was killed.
 * The group id of what is left is the (dead) shell's pid.
 */
async function orphanedTree(script: string, env: NodeJS.ProcessEnv): Promise<{ pgid: number; pids: number[] }> {
  const sh = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  (sh.stdout as Readable).on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => sh.once('close', resolve));
  const pids = out.split(/\s+/).filter(Boolean).map(Number);
  started.push(...pids);
  assert.ok(pids.length > 0 && pids.every((p) => alive(p)), `started: ${out}`);
  return { pgid: sh.pid!, pids };
}

const SLEEPER = 'sleep 300 </dev/null >/dev/null 2>&1 & echo $!';

after(async () => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe('processes', () => {
  test('marked orphans are killed with their group; live groups, live trees and unmarked ones are left', async () => {
    const root = await tempDir('reaper-proc-');
    const marked = { ...cleanEnv(), EGRESS_RECORDER_ROOT: root };
    const orphan = await orphanedTree(`${SLEEPER}; ${SLEEPER}`, marked);
    const liveGroup = await orphanedTree(SLEEPER, marked);
    // A live recorder leading its own group, with a child in yet another group (as a detached browser is).
    const recorderTree = await orphanedTree(
      `setsid sh -c 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $$ $!; exec sleep 300 </dev/null >/dev/null 2>&1' &`,
      marked,
    );
    const [recorderPid, recorderChild] = recorderTree.pids;
    const unmarked = await orphanedTree(SLEEPER, cleanEnv());
    const otherRoot = await orphanedTree(SLEEPER, { ...cleanEnv(), EGRESS_RECORDER_ROOT: `${root}-other` });
    // A child of the caller itself: a recorder forked but not registered yet.
    const direct: ChildProcess = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: marked });
    started.push(direct.pid!);

    const { log, lines } = logger();
    const report = await reapOrphans({
      tmpRoot: root,
      isActive: () => true,
      livePgids: new Set([liveGroup.pgid, recorderPid!]),
      graceMs: 30_000,
      seen: new Map(),
      log,
      xLockDir: await tempDir('reaper-x-'),
    });

    assert.deepEqual(
      [...report.processes].sort((a, b) => a - b),
      [...orphan.pids].sort((a, b) => a - b),
      'exactly the orphans are reported',
    );
    await until(() => orphan.pids.every((p) => !alive(p)));
    for (const pid of [...liveGroup.pids, recorderPid!, recorderChild!, ...unmarked.pids, ...otherRoot.pids]) {
      assert.ok(alive(pid), `pid ${pid} was left alone`);
    }
    assert.ok(alive(direct.pid!), 'a child of the caller was left alone');
    assert.ok(alive(process.pid));
    assert.equal(lines.filter((l) => l.msg.includes('killed orphaned')).length, 2);
    assert.deepEqual(report.sinks, []);
    assert.deepEqual(report.dirs, []);

    // Once the recorder is no longer live, its whole tree goes (the child in another group too).
    const second = await reapOrphans({
      tmpRoot: root,
      isActive: () => true,
      livePgids: new Set([liveGroup.pgid]),
      graceMs: 30_000,
      seen: new Map(),
      log,
      xLockDir: await tempDir('reaper-x-'),
    });
    assert.deepEqual(
      [...second.processes].sort((a, b) => a - b),
      [recorderPid!, recorderChild!].sort((a, b) => a - b),
    );
    await until(() => !alive(recorderPid!) && !alive(recorderChild!));
    assert.ok(liveGroup.pids.every((p) => alive(p)));
    direct.kill('SIGKILL');
  });
});

describe('pulse sinks', () => {
  const tag = `EG_reaptest${randomBytes(4).toString('hex')}`;
  const orphanSink = `${tag}_orphan`;
  const activeSink = `${tag}_active`;

  const modules = async () => String((await execa('pactl', ['list', 'short', 'modules'], { timeout: 5000 })).stdout);
  const loaded = async (name: string) => (await modules()).split('\n').some((l) => l.includes(`sink_name=${name}`));

  before(async () => {
    const info = await execa('pactl', ['info'], { reject: false, timeout: 5000 });
    if (info.exitCode !== 0) {
      // Not the case on the development machine; scripts/test starts a daemon the same way.
      console.log('# no PulseAudio daemon answered: starting one with pulseaudio -D --exit-idle-time=-1');
      await execa('pulseaudio', ['-D', '--exit-idle-time=-1'], { timeout: 10_000 });
      await until(async () => (await execa('pactl', ['info'], { reject: false, timeout: 5000 })).exitCode === 0);
    }
    for (const name of [orphanSink, activeSink]) {
      await execa('pactl', ['load-module', 'module-null-sink', `sink_name=${name}`], { timeout: 5000 });
    }
  });

  after(async () => {
    for (const line of (await modules()).split('\n')) {
      if (line.includes(tag)) await execa('pactl', ['unload-module', line.split('\t')[0]!], { reject: false });
    }
  });

  test('an inactive egress sink is unloaded after the grace only; an active one is kept', async () => {
    const root = await tempDir('reaper-sink-');
    const seen = new Map<string, number>();
    const { log } = logger();
    // Every other sink counts as active: sinks of recordings running elsewhere on this machine are not ours.
    const base = {
      tmpRoot: join(root, 'missing'),
      isActive: (id: string) => id !== orphanSink,
      livePgids: new Set<number>(),
      seen,
      log,
      xLockDir: root,
    };
    const t0 = Date.now();

    const disabled = await reapOrphans({ ...base, graceMs: -1, now: t0 + 3_600_000 });
    assert.deepEqual(disabled.sinks, [], 'a negative grace disables sink reaping');
    assert.ok(await loaded(orphanSink));

    const first = await reapOrphans({ ...base, graceMs: 1000, now: t0 });
    assert.deepEqual(first.sinks, [], 'first seen: within the grace');
    const within = await reapOrphans({ ...base, graceMs: 1000, now: t0 + 500 });
    assert.deepEqual(within.sinks, []);
    assert.ok(await loaded(orphanSink), 'kept during the grace');

    const later = await reapOrphans({ ...base, graceMs: 1000, now: t0 + 1500 });
    assert.deepEqual(later.sinks, [orphanSink]);
    assert.equal(await loaded(orphanSink), false, 'unloaded after the grace');
    assert.ok(await loaded(activeSink), 'the active sink is kept');
    assert.equal([...seen.keys()].filter((k) => k.includes(orphanSink)).length, 0, 'nothing left in seen');
  });
});

describe('scratch dirs', () => {
  test('orphan dirs go after the grace; undelivered media, active and foreign dirs stay', async () => {
    const root = await tempDir('reaper-dirs-');
    for (const d of ['EG_orphan', 'EG_undelivered', 'EG_nested/segments/x', 'EG_active', 'not-an-egress']) {
      await mkdir(join(root, d), { recursive: true });
    }
    await writeFile(join(root, 'EG_undelivered', 'capture.mp4'), randomBytes(1024));
    await writeFile(join(root, 'EG_nested', 'segments', 'seg_0001.TS'), randomBytes(16));
    await writeFile(join(root, 'EG_orphan-file'), 'x');
    await mkdir(join(root, 'EG_orphan', 'chrome', 'Default'), { recursive: true });
    await writeFile(join(root, 'EG_orphan', 'chrome', 'Default', 'Preferences'), '{}');

    const seen = new Map<string, number>();
    const { log, lines } = logger();
    const opts = {
      tmpRoot: root,
      isActive: (id: string) => id === 'EG_active',
      livePgids: new Set<number>(),
      graceMs: 1000,
      seen,
      log,
      xLockDir: await tempDir('reaper-x-'),
    };
    const t0 = Date.now();
    const first = await reapOrphans({ ...opts, now: t0 });
    assert.deepEqual(first.dirs, [], 'fresh dirs are within the grace');
    assert.deepEqual(first.keptUndelivered, []);

    const later = await reapOrphans({ ...opts, now: t0 + 5000 });
    assert.deepEqual(later.dirs, [join(root, 'EG_orphan')]);
    assert.deepEqual(later.keptUndelivered.sort(), [join(root, 'EG_nested'), join(root, 'EG_undelivered')]);
    assert.equal(existsSync(join(root, 'EG_orphan')), false);
    for (const kept of ['EG_undelivered/capture.mp4', 'EG_nested/segments/seg_0001.TS', 'EG_active', 'not-an-egress']) {
      assert.ok(existsSync(join(root, kept)), `${kept} kept`);
    }
    assert.ok(existsSync(join(root, 'EG_orphan-file')), 'plain files are not scratch dirs');
    const warnings = () => lines.filter((l) => l.msg.includes('never delivered'));
    assert.equal(warnings().length, 2);

    const again = await reapOrphans({ ...opts, now: t0 + 10_000 });
    assert.equal(again.keptUndelivered.length, 2, 'still reported');
    assert.equal(warnings().length, 2, 'warned once per dir');
  });

  test('a dir left over from before (old mtime) goes at the first pass; a missing root is nothing to do', async () => {
    const root = await tempDir('reaper-dirs-');
    await mkdir(join(root, 'EG_stale'));
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(root, 'EG_stale'), hourAgo, hourAgo);
    const { log, lines } = logger();
    const opts = {
      isActive: () => false,
      livePgids: new Set<number>(),
      graceMs: 30_000,
      seen: new Map<string, number>(),
      log,
      xLockDir: root,
    };
    const report = await reapOrphans({ ...opts, tmpRoot: root });
    assert.deepEqual(report.dirs, [join(root, 'EG_stale')]);
    const none = await reapOrphans({ ...opts, tmpRoot: join(root, 'does-not-exist') });
    assert.deepEqual(none, { processes: [], sinks: [], dirs: [], displays: [], keptUndelivered: [] });
    assert.equal(lines.filter((l) => l.msg.includes('failed')).length, 0);
  });
});

describe('egress ids and resource names', () => {
  const tag = randomBytes(3).toString('hex');
  // Shaped like livekit-server's ids, at the length limit, and not "EG_" at all (which the planner once accepted).
  const candidates = [
    `EG_${tag}`,
    `EG_${tag}-a_b`,
    `EG_${tag}${'x'.repeat(61 - tag.length)}`,
    `leftover${tag}`,
    `${tag}-x`,
  ];
  const ctx = {
    tmpRoot: '/tmp/egress-test',
    localOutputDir: '/srv/out',
    chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
  };
  const plannerAccepts = (egressId: string) =>
    planFromRequest(
      {
        egressId,
        roomId: '',
        roomName: '',
        request: {
          case: 'web',
          value: new WebEgressRequest({
            url: 'http://127.0.0.1:1/',
            fileOutputs: [new EncodedFileOutput({ filepath: 'x.mp4' })],
          }),
        },
      },
      ctx,
    ).then(
      () => true,
      () => false,
    );
  const sinksLoaded = async () =>
    String((await execa('pactl', ['list', 'short', 'modules'], { timeout: 5000 })).stdout)
      .split('\n')
      .filter((l) => l.includes(tag));

  after(async () => {
    for (const line of await sinksLoaded()) {
      await execa('pactl', ['unload-module', line.split('\t')[0]!], { reject: false });
    }
  });

  test('the leftover sink and dir of every id the planner accepts are reaped; other names are kept', async () => {
    const root = await tempDir('reaper-names-');
    for (const id of candidates) {
      await execa('pactl', ['load-module', 'module-null-sink', `sink_name=${sinkName(id)}`], { timeout: 5000 });
      await mkdir(scratchDir(root, id));
    }
    const accepted: string[] = [];
    for (const id of candidates) if (await plannerAccepts(id)) accepted.push(id);
    assert.ok(accepted.length >= 3, `the EG_ ids are accepted: ${accepted.join(' ')}`);
    const { log } = logger();
    const report = await reapOrphans({
      tmpRoot: root,
      // Sinks of recordings running elsewhere on this machine are not ours: only the candidates may be orphans.
      isActive: (id) => !candidates.includes(id),
      livePgids: new Set<number>(),
      graceMs: 0,
      seen: new Map(),
      log,
      xLockDir: root,
    });
    assert.deepEqual(report.sinks.sort(), accepted.map(sinkName).sort(), 'every accepted id: its sink is reaped');
    assert.deepEqual(report.dirs.sort(), accepted.map((id) => scratchDir(root, id)).sort(), 'and its dir');
    const left = await sinksLoaded();
    for (const id of candidates.filter((c) => !accepted.includes(c))) {
      assert.ok(
        left.some((l) => l.includes(`sink_name=${id}`)),
        `a sink no egress could own is kept: ${id}`,
      );
      assert.ok(existsSync(scratchDir(root, id)), `a dir no egress could own is kept: ${id}`);
    }
  });
});

describe('X displays', () => {
  test('a lock of a dead server goes with its socket; a live server keeps its lock', async () => {
    const lockDir = await tempDir('reaper-x-');
    await mkdir(join(lockDir, '.X11-unix'));
    // A real Xvfb on a display of its own: its lock in /tmp is copied into the test lock dir. (With -displayfd,
    // as the recorder starts it, Xvfb writes no lock at all.)
    let liveDisplay = 5000 + Math.floor(Math.random() * 1000);
    while (existsSync(`/tmp/.X${liveDisplay}-lock`) || existsSync(`/tmp/.X11-unix/X${liveDisplay}`)) liveDisplay++;
    const xvfb = spawn('/usr/bin/Xvfb', [`:${liveDisplay}`, '-screen', '0', '64x64x24', '-nolisten', 'tcp'], {
      stdio: 'ignore',
    });
    started.push(xvfb.pid!);
    const xvfbExit = new Promise((resolve) => xvfb.once('exit', resolve));
    await until(async () => Number((await readFile(`/tmp/.X${liveDisplay}-lock`, 'utf8').catch(() => '')).trim()) > 0);
    const liveLock = await readFile(`/tmp/.X${liveDisplay}-lock`, 'utf8');
    assert.equal(Number(liveLock.trim()), xvfb.pid);
    await writeFile(join(lockDir, `.X${liveDisplay}-lock`), liveLock);
    await writeFile(join(lockDir, '.X11-unix', `X${liveDisplay}`), '');

    // A dead server's lock: the pid of a process that has exited.
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    const deadDisplay = liveDisplay + 1000;
    await writeFile(join(lockDir, `.X${deadDisplay}-lock`), `${String(gone.pid).padStart(10)}\n`);
    await writeFile(join(lockDir, '.X11-unix', `X${deadDisplay}`), '');
    await writeFile(join(lockDir, `.X${deadDisplay + 1}-lock`), 'not a pid\n');

    const { log } = logger();
    const opts = {
      tmpRoot: join(lockDir, 'missing'),
      isActive: () => true,
      livePgids: new Set<number>(),
      graceMs: 30_000,
      seen: new Map<string, number>(),
      log,
      xLockDir: lockDir,
    };
    const report = await reapOrphans(opts);
    assert.deepEqual(report.displays, [`:${deadDisplay}`]);
    assert.equal(existsSync(join(lockDir, `.X${deadDisplay}-lock`)), false);
    assert.equal(existsSync(join(lockDir, '.X11-unix', `X${deadDisplay}`)), false);
    assert.ok(existsSync(join(lockDir, `.X${liveDisplay}-lock`)), 'live lock kept');
    assert.ok(existsSync(join(lockDir, '.X11-unix', `X${liveDisplay}`)), 'live socket kept');
    assert.ok(existsSync(join(lockDir, `.X${deadDisplay + 1}-lock`)), 'unreadable lock kept');

    xvfb.kill('SIGTERM');
    await xvfbExit;
    const afterExit = await reapOrphans(opts);
    assert.deepEqual(afterExit.displays, [`:${liveDisplay}`], 'once its server is gone the lock is stale');
    assert.equal(existsSync(join(lockDir, '.X11-unix', `X${liveDisplay}`)), false);
  });
});

describe('Reaper', () => {
  test('runs at start and on every tick, skips overlapping runs, and stop leaves no timer', async () => {
    const root = await tempDir('reaper-class-');
    const { log } = logger();
    const reaper = new Reaper({
      tmpRoot: join(root, 'missing'),
      isActive: () => true,
      livePgids: new Set<number>(),
      graceMs: 30_000,
      log,
      xLockDir: root,
    });
    const a = reaper.runOnce();
    const b = reaper.runOnce();
    assert.equal(a, b, 'a run in progress is not doubled');
    await a;
    assert.equal(reaper.runs, 1);

    reaper.start(20);
    await until(() => reaper.runs >= 4);
    await reaper.stop();
    const runs = reaper.runs;
    await sleep(150);
    assert.equal(reaper.runs, runs, 'no run after stop');
  });

  test('an idle node with nothing pending slows to the idle interval; work brings the short one back', async () => {
    const root = await tempDir('reaper-idle-');
    const { log } = logger();
    let idle = false;
    const reaper = new Reaper({
      tmpRoot: join(root, 'missing'),
      isActive: () => true,
      livePgids: new Set<number>(),
      graceMs: 0,
      log,
      xLockDir: root,
      idle: () => idle,
    });
    reaper.start(20, 3_600_000);
    await until(() => reaper.runs >= 3);
    idle = true;
    const settled = reaper.runs;
    await sleep(200);
    assert.ok(reaper.runs <= settled + 1, `idle: ${reaper.runs - settled} more runs in 200 ms`);
    await reaper.stop();
  });
});
