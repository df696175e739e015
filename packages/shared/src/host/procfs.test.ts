import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  descendantsOf,
  listPids,
  parseProcStat,
  pidAlive,
  readCmdline,
  readEnviron,
  readProcStat,
  readRssBytes,
} from './procfs.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.pid && c.exitCode === null && c.signalCode === null) process.kill(-c.pid, 'SIGKILL');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('parses /proc/<pid>/stat whose command name holds spaces and parentheses', () => {
  const stat = '4242 (a) b (c)) R 1 4240 4240 0 -1 0 0 0 0 0 17 3 0 0 20 0 1 0 999 0 0';
  assert.deepEqual(parseProcStat(stat), {
    comm: 'a) b (c)',
    state: 'R',
    ppid: 1,
    pgid: 4240,
    ticks: 20,
    starttime: 999,
  });
  assert.equal(parseProcStat('garbage'), undefined);
  assert.equal(parseProcStat('1 (x) S 0'), undefined, 'a truncated stat is not one');
});

test('reads this process: stat, environment, command line, memory, the process table', () => {
  const stat = readProcStat(process.pid);
  assert.ok(stat);
  assert.equal(stat.ppid, process.ppid);
  assert.equal(stat.state, 'R');
  assert.ok(listPids().includes(process.pid));
  assert.ok(readEnviron(process.pid)?.some((e) => e.startsWith('PATH=')));
  assert.match(readCmdline(process.pid), /node/);
  assert.ok(readRssBytes(process.pid) > 0);
  assert.equal(readProcStat(0), undefined);
});

test('a process tree: descendants, group, liveness before and after it is killed', async () => {
  const sh = spawn('sh', ['-c', 'sleep 300 & (sleep 300 & wait) & wait'], { detached: true, stdio: 'ignore' });
  children.push(sh);
  const pid = sh.pid!;
  let tree: number[] = [];
  // Three: both sleeps and the subshell between the shell and the second one.
  for (let i = 0; i < 100 && tree.length < 3; i++) {
    await sleep(20);
    tree = descendantsOf(pid);
  }
  assert.equal(tree.length, 3, `descendants of ${pid}: ${tree.join(' ')}`);
  for (const p of tree) {
    assert.equal(readProcStat(p)?.pgid, pid, 'all in the shell group');
    assert.ok(pidAlive(p));
  }
  assert.ok(pidAlive(pid));
  process.kill(-pid, 'SIGKILL');
  await once(sh, 'exit');
  for (let i = 0; i < 100 && tree.some(pidAlive); i++) await sleep(20);
  assert.deepEqual(tree.filter(pidAlive), [], 'killed processes are not alive (zombies included)');
  assert.equal(pidAlive(pid), false);
  assert.deepEqual(descendantsOf(pid), []);
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.equal(pidAlive(bad), false, String(bad));
});
