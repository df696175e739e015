import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { pidAlive } from './procfs.js';
import { describeExit, exitOf, isRunning, signalPid, terminate, terminatePids, waitGone } from './terminate.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (isRunning(c)) c.kill('SIGKILL');
});

function run(script: string): ChildProcess {
  const child = spawn('sh', ['-c', script], { stdio: 'ignore' });
  children.push(child);
  return child;
}

// An ignored signal stays ignored across exec, so this sleep shrugs off SIGTERM.
const STUBBORN = 'trap "" TERM; exec sleep 30';

test('terminate: a child that obeys exits of the signal, unforced', async () => {
  const child = run('exec sleep 30');
  const { status, forced } = await terminate(child, 'SIGTERM', 5000);
  assert.deepEqual(status, { code: null, signal: 'SIGTERM' });
  assert.equal(forced, false);
  assert.equal(isRunning(child), false);
});

test('terminate: a child that ignores the signal is SIGKILLed after the grace', async () => {
  const child = run(STUBBORN);
  await new Promise((r) => setTimeout(r, 200)); // let the trap take effect
  const t0 = Date.now();
  const { status, forced } = await terminate(child, 'SIGTERM', 300);
  assert.equal(forced, true);
  assert.equal(status.signal, 'SIGKILL');
  assert.ok(Date.now() - t0 >= 300, 'waited the grace first');
  assert.equal(describeExit(status), 'signal SIGKILL');
});

test('terminate: an exited child is just reported', async () => {
  const child = run('exit 3');
  await exitOf(child);
  assert.deepEqual(await terminate(child, 'SIGTERM', 100), { status: { code: 3, signal: null }, forced: false });
  assert.equal(describeExit({ code: 3, signal: null }), 'code 3');
});

test('terminatePids: pids that obey go; those that do not are SIGKILLed and returned', async () => {
  const obeying = run('exec sleep 30');
  const stubborn = run(STUBBORN);
  await new Promise((r) => setTimeout(r, 200));
  const pids = [obeying.pid!, stubborn.pid!];
  const forced = await terminatePids(pids, 'SIGTERM', 300);
  assert.deepEqual(forced, [stubborn.pid]);
  assert.deepEqual(pids.filter(pidAlive), []);
  assert.equal(await waitGone(pids, 0), true);
});

test('signalPid: false for a process that is gone', async () => {
  const child = run('exit 0');
  await exitOf(child);
  assert.equal(signalPid(child.pid!, 'SIGTERM'), false);
  const live = run('exec sleep 30');
  assert.equal(signalPid(live.pid!, 'SIGKILL'), true);
  await exitOf(live);
});
