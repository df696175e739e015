import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EgressError } from '@egress/shared';
import { DEFAULT_LOG_DIR, EgressLogFile, END_MARKER } from './egress-log-file.js';
import { readEgressLog } from './egress-logs.js';
import { sleep } from '@egress/shared/testing/wait';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'egress-log-file-test-'));
after(() => fs.rm(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => path.join(root, `d${n++}`, 'nested');

const TS = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

test('writes timestamped lines, tagged with their stream, then the end marker', async () => {
  const dir = newDir();
  const log = EgressLogFile.open(dir, 'EG_abc');
  assert.equal(log.path, path.join(dir, 'EG_abc.log'));
  log.write('recorder ready');
  log.write('[gst] Setting pipeline to PLAYING ...', 'stdout');
  log.write('[chromium] warning', 'stderr');
  log.write('two\nlines', 'stderr');
  await log.end('complete\n(exit code 0)');
  log.write('after the end is dropped');
  await log.end('again'); // idempotent

  const lines = (await fs.readFile(path.join(dir, 'EG_abc.log'), 'utf8')).split('\n');
  assert.equal(lines.length, 7);
  assert.match(lines[0]!, new RegExp(`^${TS} recorder ready$`));
  assert.match(lines[1]!, new RegExp(`^${TS} stdout \\[gst\\] Setting pipeline to PLAYING \\.\\.\\.$`));
  assert.match(lines[2]!, new RegExp(`^${TS} stderr \\[chromium\\] warning$`));
  assert.match(lines[3]!, new RegExp(`^${TS} stderr two$`));
  assert.match(lines[4]!, new RegExp(`^${TS} stderr lines$`));
  assert.equal(lines[5], `${END_MARKER} complete (exit code 0)`);
  assert.equal(lines[6], '');
  const mode = (await fs.stat(path.join(dir, 'EG_abc.log'))).mode & 0o777;
  assert.equal(mode, 0o600);
});

test('appends to an existing log', async () => {
  const dir = newDir();
  const first = EgressLogFile.open(dir, 'EG_again');
  first.write('one');
  await first.end('first');
  const second = EgressLogFile.open(dir, 'EG_again');
  second.write('two');
  await second.end('second');
  const text = await fs.readFile(path.join(dir, 'EG_again.log'), 'utf8');
  assert.match(text, /one\n--- egress ended: first\n.* two\n--- egress ended: second\n$/);
});

test('rotates once at the cap: at most 2x the cap on disk, the newest lines kept', async () => {
  const dir = newDir();
  const cap = 2048;
  const log = EgressLogFile.open(dir, 'EG_rot', { maxBytes: cap });
  const count = 400; // ~20 KB: several rotations
  for (let i = 0; i < count; i++) {
    log.write(`line ${String(i).padStart(4, '0')} ${'x'.repeat(i % 17)}`);
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  await log.end('done');

  assert.deepEqual((await fs.readdir(dir)).sort(), ['EG_rot.log', 'EG_rot.log.1']);
  const current = (await fs.stat(path.join(dir, 'EG_rot.log'))).size;
  const older = (await fs.stat(path.join(dir, 'EG_rot.log.1'))).size;
  assert.ok(current <= cap && older <= cap, `${older} + ${current}`);
  assert.ok(older + current <= 2 * cap);
  assert.ok(older > cap / 2, 'the rotated part was full');

  // What is kept is an unbroken run of the newest lines, then the marker.
  const lines = (await readEgressLog(dir, 'EG_rot')).trimEnd().split('\n');
  assert.equal(lines.pop(), `${END_MARKER} done`);
  const numbers = lines.map((l) => Number(/ line (\d{4}) /.exec(l)?.[1]));
  assert.equal(numbers.at(-1), count - 1);
  numbers.forEach((v, i) => assert.equal(v, count - numbers.length + i));
  assert.ok(numbers.length > 40);
});

test('cuts a line that would not fit in one file', async () => {
  const dir = newDir();
  const log = EgressLogFile.open(dir, 'EG_long', { maxBytes: 1024 });
  log.write('é'.repeat(2000));
  log.write('short');
  await log.end('ok');
  const text = await readEgressLog(dir, 'EG_long');
  const lines = text.trimEnd().split('\n');
  assert.ok(lines.some((l) => l.endsWith('é ...[truncated]')));
  assert.ok(!text.includes('\uFFFD'));
  assert.match(text, / short\n--- egress ended: ok\n$/);
  for (const f of await fs.readdir(dir)) assert.ok((await fs.stat(path.join(dir, f))).size <= 1024);
});

test('rejects egress ids that are not safe file names', async () => {
  const dir = newDir();
  for (const bad of ['', '../EG_x', 'EG/x', '..', '.', 'EG x', 'EG_x.log', 'x'.repeat(65), 'EG_\0', 'EG_é']) {
    assert.throws(
      () => EgressLogFile.open(dir, bad),
      (err: unknown) => err instanceof EgressError && err.code === 'invalid_argument' && /egressID/.test(err.message),
      JSON.stringify(bad),
    );
  }
  await assert.rejects(fs.stat(dir), { code: 'ENOENT' }, 'nothing was created');
  const ok = EgressLogFile.open(dir, `EG_${'a'.repeat(61)}`);
  await ok.end('fine');
  assert.throws(() => EgressLogFile.open(dir, 'EG_x', { maxBytes: 10 }), /maxBytes/);
});

test('write never throws once the file cannot be written; the failure is reported once', async () => {
  const dir = newDir();
  const reported: Error[] = [];
  const log = EgressLogFile.open(dir, 'EG_gone', { maxBytes: 1024, onError: (e) => reported.push(e) });
  log.write('first');
  await sleep(20);
  await fs.rm(path.dirname(dir), { recursive: true });
  for (let i = 0; i < 100; i++) log.write(`line ${i} ${'y'.repeat(40)}`); // forces a rotation into a missing dir
  await log.end('gone');
  assert.equal(reported.length, 1);
  assert.match(reported[0]!.message, /EG_gone\.log/);
});

test('the default directory is under the temp dir', () => {
  assert.equal(DEFAULT_LOG_DIR, path.join(os.tmpdir(), 'lk-egress-logs'));
});
