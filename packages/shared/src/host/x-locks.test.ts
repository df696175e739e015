import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockedDisplays, lockPid, removeStaleXLock } from './x-locks.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

test('a lock naming a dead server goes with its socket; a live or unreadable one stays', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'x-locks-'));
  dirs.push(dir);
  await mkdir(join(dir, '.X11-unix'));
  const gone = spawn('true');
  await once(gone, 'exit');
  await writeFile(join(dir, '.X7-lock'), `${String(gone.pid).padStart(10)}\n`);
  await writeFile(join(dir, '.X11-unix', 'X7'), '');
  await writeFile(join(dir, '.X8-lock'), `${String(process.pid).padStart(10)}\n`);
  await writeFile(join(dir, '.X9-lock'), 'not a pid\n');
  await writeFile(join(dir, 'X10-lock'), '1\n');

  assert.deepEqual((await lockedDisplays(dir)).sort(), ['7', '8', '9']);
  assert.equal(await removeStaleXLock('7', dir), gone.pid);
  assert.equal(existsSync(join(dir, '.X7-lock')), false);
  assert.equal(existsSync(join(dir, '.X11-unix', 'X7')), false);
  assert.equal(await removeStaleXLock('8', dir), undefined, 'this process is alive');
  assert.equal(await removeStaleXLock('9', dir), undefined);
  assert.ok(existsSync(join(dir, '.X8-lock')) && existsSync(join(dir, '.X9-lock')));
  assert.deepEqual(await lockedDisplays(join(dir, 'missing')), []);
});

test('lockPid reads "%10d\\n" and nothing else', () => {
  assert.equal(lockPid('      1234\n'), 1234);
  for (const bad of ['', '0\n', '-5', '12a', '12345678901']) assert.equal(lockPid(bad), undefined, bad);
});
