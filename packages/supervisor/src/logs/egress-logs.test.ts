import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '@egress/shared/testing/wait';
import { EgressError } from '@egress/shared';
import { EgressLogFile, END_MARKER } from './egress-log-file.js';
import { followEgressLog, readEgressLog } from './egress-logs.js';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'egress-logs-test-'));
after(() => fs.rm(root, { recursive: true, force: true }));
let n = 0;
const newDir = async () => {
  const dir = path.join(root, `d${n++}`);
  await fs.mkdir(dir);
  return dir;
};

/** The numbers of `line NNNN` lines, in the order they appear. */
const lineNumbers = (text: string) => [...text.matchAll(/ line (\d+)\b/g)].map((m) => Number(m[1]));
const range = (k: number) => Array.from({ length: k }, (_, i) => i);

test('reads a finished log: the rotated part, then the current one', async () => {
  const dir = await newDir();
  await fs.writeFile(path.join(dir, 'EG_r.log.1'), 'old 1\nold 2\n');
  await fs.writeFile(path.join(dir, 'EG_r.log'), `new 1\n${END_MARKER} complete\n`);
  assert.equal(await readEgressLog(dir, 'EG_r'), `old 1\nold 2\nnew 1\n${END_MARKER} complete\n`);

  const log = EgressLogFile.open(dir, 'EG_w');
  log.write('hello', 'stderr');
  await log.end('failed: boom');
  assert.match(await readEgressLog(dir, 'EG_w'), /^\S+Z stderr hello\n--- egress ended: failed: boom\n$/);
});

test('a missing log is a not_found error naming the egress and the directory', async () => {
  const dir = await newDir();
  const expected = (err: unknown) =>
    err instanceof EgressError && err.code === 'not_found' && err.message === `no log for EG_x in ${dir}`;
  await assert.rejects(readEgressLog(dir, 'EG_x'), expected);
  await assert.rejects(
    followEgressLog(dir, 'EG_x', () => {}),
    expected,
  );
  await assert.rejects(
    followEgressLog(path.join(dir, 'nope'), 'EG_x', () => {}),
    /no log for EG_x in .*nope/,
  );
  await assert.rejects(readEgressLog(dir, '../EG_x'), { code: 'invalid_argument' });
});

test('following a finished log prints it and ends at once', async () => {
  const dir = await newDir();
  const log = EgressLogFile.open(dir, 'EG_done');
  log.write('line 0');
  await log.end('complete');
  let text = '';
  const started = Date.now();
  assert.equal(await followEgressLog(dir, 'EG_done', (t) => void (text += t), { pollMs: 1000 }), 'ended');
  assert.ok(Date.now() - started < 500);
  assert.equal(text, await readEgressLog(dir, 'EG_done'));
});

test('follows a live log until its end marker, every line in order', async () => {
  const dir = await newDir();
  const log = EgressLogFile.open(dir, 'EG_live');
  log.write('line 0');
  await sleep(20);
  let text = '';
  const chunks: string[] = [];
  const following = followEgressLog(
    dir,
    'EG_live',
    (t) => {
      chunks.push(t);
      text += t;
    },
    { pollMs: 10 },
  );
  for (let i = 1; i < 60; i++) {
    log.write(`line ${i}`, i % 2 ? 'stdout' : 'stderr');
    // A recorder printing the marker text cannot end the follow: its line starts with a timestamp.
    if (i === 30) log.write(`${END_MARKER} not really`);
    if (i % 10 === 0) await sleep(25);
  }
  await sleep(25);
  assert.ok(chunks.length > 1, 'read in several steps');
  await log.end('complete (exit code 0)');
  assert.equal(await following, 'ended');
  assert.deepEqual(lineNumbers(text), range(60));
  assert.ok(text.endsWith(`\n${END_MARKER} complete (exit code 0)\n`));
  assert.equal(text, await readEgressLog(dir, 'EG_live'));
});

test('follows across rotations, losing nothing', async () => {
  const dir = await newDir();
  const log = EgressLogFile.open(dir, 'EG_rot', { maxBytes: 1024 });
  let text = '';
  log.write('line 0');
  await sleep(20);
  const following = followEgressLog(dir, 'EG_rot', (t) => void (text += t), { pollMs: 5 });
  const count = 300; // ~45 bytes each: about a dozen rotations
  for (let i = 1; i < count; i++) {
    log.write(`line ${i} ${'z'.repeat(i % 7)}`);
    if (i % 5 === 0) await sleep(25);
  }
  await log.end('complete');
  assert.equal(await following, 'ended');
  assert.deepEqual(lineNumbers(text), range(count));
  assert.ok(text.endsWith(`${END_MARKER} complete\n`));
  const onDisk =
    (await fs.stat(path.join(dir, 'EG_rot.log'))).size + (await fs.stat(path.join(dir, 'EG_rot.log.1'))).size;
  assert.ok(onDisk <= 2048);
});

test('starts following while a rotation is half done (only the .1 file there)', async () => {
  const dir = await newDir();
  await fs.writeFile(path.join(dir, 'EG_half.log.1'), '1 line 0\n');
  let text = '';
  const following = followEgressLog(dir, 'EG_half', (t) => void (text += t), { pollMs: 5 });
  await sleep(30);
  await fs.writeFile(path.join(dir, 'EG_half.log'), `1 line 1\n${END_MARKER} ok\n`);
  assert.equal(await following, 'ended');
  assert.equal(text, `1 line 0\n1 line 1\n${END_MARKER} ok\n`);
});

test('an abort ends a follow promptly', async () => {
  const dir = await newDir();
  const log = EgressLogFile.open(dir, 'EG_abort');
  log.write('line 0');
  await sleep(20);
  const ac = new AbortController();
  let text = '';
  const following = followEgressLog(dir, 'EG_abort', (t) => void (text += t), { signal: ac.signal, pollMs: 10_000 });
  await sleep(50);
  const t0 = Date.now();
  ac.abort();
  assert.equal(await following, 'aborted');
  assert.ok(Date.now() - t0 < 200, 'did not wait out the poll interval');
  assert.deepEqual(lineNumbers(text), [0]);

  // An already aborted signal still ends the follow (after what is there).
  assert.equal(await followEgressLog(dir, 'EG_abort', () => {}, { signal: AbortSignal.abort() }), 'aborted');
  await log.end('aborted');
});
