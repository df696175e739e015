import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CpuMonitor, parseAggregateCpu } from './cpu-monitor.js';
import { sleep } from '@egress/shared/testing/wait';

/** A child in its own process group that says "ready" once booted, so its start-up CPU is behind it. */
function spawnGroup(script: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `process.stdout.write('ready\\n');${script}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve(child));
  });
}

function killGroup(child: ChildProcess | undefined): void {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('CpuMonitor on real processes', () => {
  let busy: ChildProcess | undefined;
  let idle: ChildProcess | undefined;

  before(async () => {
    [busy, idle] = await Promise.all([spawnGroup('for(;;){}'), spawnGroup('setInterval(() => {}, 60000)')]);
    await sleep(300); // let the idle one's boot settle
  });

  after(() => {
    killGroup(busy);
    killGroup(idle);
  });

  test('a busy-loop group reads about one core, an idle group about none, both with RSS', async () => {
    const busyPg = busy!.pid!;
    const idlePg = idle!.pid!;
    const mon = new CpuMonitor({ intervalMs: 500 });
    mon.watch(busyPg);
    mon.watch(idlePg);
    mon.start();
    try {
      assert.equal(mon.groupCpu(busyPg), 0, 'no rate before a second sample');
      await sleep(1600);
      const busyCores = mon.groupCpu(busyPg);
      const idleCores = mon.groupCpu(idlePg);
      // A busy loop gets a whole core on a quiet machine, less when others compete for the 2 cores: the reading
      // must show it clearly busy, and never more than one core.
      assert.ok(busyCores > 0.25 && busyCores < 1.3, `busy group: ${busyCores} cores`);
      assert.ok(idleCores >= 0 && idleCores < 0.1, `idle group: ${idleCores} cores`);
      assert.ok(mon.groupRssBytes(busyPg) > 1024 * 1024, 'busy group RSS');
      assert.ok(mon.groupRssBytes(idlePg) > 1024 * 1024, 'idle group RSS');
      assert.equal(mon.totalRssBytes(), mon.groupRssBytes(busyPg) + mon.groupRssBytes(idlePg));
      const load = mon.nodeLoad();
      assert.ok(load >= 0 && load <= 1, `node load ${load}`);
      assert.ok(load >= Math.min(0.9, 0.25 / mon.numCpus), `one busy core shows in the node load: ${load}`);
      assert.ok(mon.numCpus >= 1);

      mon.unwatch(busyPg);
      assert.equal(mon.groupCpu(busyPg), 0);
      assert.equal(mon.groupRssBytes(busyPg), 0);
    } finally {
      mon.stop();
    }
  });

  test('an unknown or dead group reads zero', () => {
    const mon = new CpuMonitor();
    mon.watch(2 ** 22 + 12345); // above pid_max's default, never a live group
    mon.sample();
    mon.sample();
    assert.equal(mon.groupCpu(2 ** 22 + 12345), 0);
    assert.equal(mon.groupRssBytes(2 ** 22 + 12345), 0);
  });
});

describe('CpuMonitor arithmetic on a fake /proc', () => {
  let root: string;

  const writeStat = (busy: number, idle: number) =>
    fs.writeFileSync(
      path.join(root, 'stat'),
      `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 ${busy} 0 0 ${idle} 0 0 0 0 0 0\nintr 1\n`,
    );
  const writePid = (pid: number, pgrp: number, utime: number, stime: number, start: number, rssKb: number) => {
    const dir = path.join(root, String(pid));
    fs.mkdirSync(dir, { recursive: true });
    const after = ['S', '1', String(pgrp), String(pgrp), '0', '-1', '0', '0', '0', '0', '0', String(utime)];
    after.push(String(stime), '0', '0', '20', '0', '1', '0', String(start), '1000', '10');
    fs.writeFileSync(path.join(dir, 'stat'), `${pid} (we(ird) name) ${after.join(' ')} 0 0\n`);
    fs.writeFileSync(path.join(dir, 'status'), `Name:\tx\nVmRSS:\t  ${rssKb} kB\nThreads:\t1\n`);
  };
  const removePid = (pid: number) => fs.rmSync(path.join(root, String(pid)), { recursive: true, force: true });

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cpu-monitor-'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('deltas per group: survivors by difference, newborns in full, reused pids and other groups apart', () => {
    let now = 0;
    const mon = new CpuMonitor({ procRoot: root, clockTicks: 100, numCpus: 2, now: () => now });
    writeStat(100, 900);
    writePid(100, 100, 8, 2, 50, 1000);
    writePid(101, 100, 5, 0, 60, 500);
    writePid(200, 200, 0, 0, 70, 200);
    writePid(300, 999, 400, 0, 80, 9999);
    mon.watch(100);
    mon.watch(200);
    mon.sample();
    assert.equal(mon.groupCpu(100), 0, 'first sample has no interval');
    assert.equal(mon.groupRssBytes(100), 1500 * 1024);
    assert.equal(mon.nodeLoad(), 0);

    now = 2000;
    writeStat(250, 950); // +150 busy of +200
    writePid(100, 100, 58, 52, 50, 1200); // +100 ticks
    removePid(101); // exited
    writePid(102, 100, 40, 0, 150, 300); // born since: all 40 ticks count
    writePid(200, 200, 30, 0, 170, 100); // pid reused by a new process of the group: 30 ticks
    writePid(300, 999, 800, 0, 80, 9999); // not watched
    mon.sample();
    assert.equal(mon.nodeLoad(), 0.75);
    assert.equal(mon.groupCpu(100), 140 / 100 / 2);
    assert.equal(mon.groupRssBytes(100), 1500 * 1024);
    assert.equal(mon.groupCpu(200), 30 / 100 / 2);
    assert.equal(mon.groupCpu(999), 0);

    mon.watch(999); // newly watched: baseline only, no rate from its lifetime total
    now = 3000;
    mon.sample();
    assert.equal(mon.groupCpu(999), 0);
    assert.equal(mon.groupCpu(100), 0, 'nothing ran');
    now = 4000;
    writePid(300, 999, 850, 0, 80, 9999);
    mon.sample();
    assert.equal(mon.groupCpu(999), 0.5);
  });

  test('one /proc scan per tick for all groups, none while nothing is watched', (t) => {
    const readdir = t.mock.method(fs, 'readdirSync');
    const mon = new CpuMonitor({ procRoot: root, clockTicks: 100 });
    mon.sample();
    mon.sample();
    assert.equal(readdir.mock.callCount(), 0);
    mon.watch(100);
    mon.watch(200);
    mon.watch(999);
    mon.sample();
    assert.equal(readdir.mock.callCount(), 1);
    mon.unwatch(100);
    mon.unwatch(200);
    mon.unwatch(999);
    mon.sample();
    assert.equal(readdir.mock.callCount(), 1);
  });
});

test('parser: aggregate cpu line', () => {
  assert.deepEqual(parseAggregateCpu('cpu  10 1 4 80 5 0 0 0 0 0\n'), { busy: 15, total: 100 });
  assert.equal(parseAggregateCpu('intr 1\n'), undefined);
});
