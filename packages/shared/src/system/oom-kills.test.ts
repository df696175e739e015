import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { memoryCgroupDir, oomKillCount, OomKillWatch } from './oom-kills.js';
import { sleep } from '../testing/wait.js';

test('this process has a memory cgroup with an OOM kill count', (t) => {
  const dir = memoryCgroupDir();
  if (!dir) return t.skip('no memory cgroup mounted here');
  assert.ok(existsSync(dir), dir);
  assert.equal(typeof oomKillCount(dir), 'number', `oom_kill readable in ${dir}`);
});

test('a real OOM kill in a memory-limited cgroup is counted for a process moved there', async (t) => {
  const parent = memoryCgroupDir();
  if (!parent || process.getuid?.() !== 0) return t.skip('needs root and a memory cgroup');
  const dir = path.join(parent, `oom-test-${process.pid}`);
  try {
    mkdirSync(dir);
    // v1 takes a byte limit in memory.limit_in_bytes, v2 in memory.max.
    const limitFile = existsSync(path.join(dir, 'memory.limit_in_bytes')) ? 'memory.limit_in_bytes' : 'memory.max';
    writeFileSync(path.join(dir, limitFile), String(64 * 2 ** 20));
  } catch (err) {
    return t.skip(`cannot create a limited memory cgroup here: ${(err as Error).message}`);
  }
  // A bystander (like a recorder whose child is killed) and a hog, both moved into the limited cgroup.
  const bystander = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  const hog = spawn(
    process.execPath,
    ['-e', 'const a = []; setInterval(() => a.push(Buffer.alloc(8 << 20, 1)), 20); setTimeout(() => {}, 60_000)'],
    { stdio: 'ignore' },
  );
  try {
    const watch = new OomKillWatch(bystander.pid!);
    assert.equal(watch.killsSince(), 0);
    writeFileSync(path.join(dir, 'cgroup.procs'), String(bystander.pid));
    writeFileSync(path.join(dir, 'cgroup.procs'), String(hog.pid));
    const [code, signal] = (await once(hog, 'exit')) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL', `the hog was OOM-killed (exit code ${code})`);
    assert.equal(memoryCgroupDir(bystander.pid!), dir);
    assert.equal(watch.killsSince(), 1, 'the kill is counted for the bystander, in the cgroup it was moved to');
  } finally {
    hog.kill('SIGKILL');
    bystander.kill('SIGKILL');
    const exited = (c: typeof hog) => (c.exitCode !== null || c.signalCode !== null ? undefined : once(c, 'exit'));
    await Promise.all([exited(hog), exited(bystander)]);
    // The cgroup can only go once it is empty of processes.
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        await sleep(100);
      }
    }
  }
});
