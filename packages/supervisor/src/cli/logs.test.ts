import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '@egress/shared/testing/wait';
import { EgressLogFile } from '../logs/egress-log-file.js';
import { logs } from './logs.js';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'egress-cli-logs-test-'));
after(() => fs.rm(root, { recursive: true, force: true }));

/**
 * Runs `egress logs ...` with stdout and stderr captured. The CLI writes strings; anything else (the test
 * runner's own serialized reports, written to stdout while a test awaits) goes through untouched.
 */
async function run(argv: string[], during?: () => Promise<void>) {
  const out = { stdout: '', stderr: '', code: -1 };
  const saved = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture =
    (key: 'stdout' | 'stderr') =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      if (typeof chunk !== 'string')
        return (saved[key] as (...a: unknown[]) => boolean).call(process[key], chunk, ...rest);
      out[key] += chunk;
      const cb = rest.find((r): r is () => void => typeof r === 'function');
      if (cb) process.nextTick(cb);
      return true;
    };
  process.stdout.write = capture('stdout') as typeof process.stdout.write;
  process.stderr.write = capture('stderr') as typeof process.stderr.write;
  try {
    const running = logs(argv);
    await during?.();
    out.code = await running;
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  }
  return out;
}

async function finishedLog(dir: string, id: string, lines: string[]): Promise<string> {
  const log = EgressLogFile.open(dir, id);
  for (const l of lines) log.write(l);
  await log.end('complete');
  return fs.readFile(path.join(dir, `${id}.log`), 'utf8');
}

test('prints a finished log from --dir', async () => {
  const dir = path.join(root, 'a');
  const content = await finishedLog(dir, 'EG_a', ['hello', '[gst] world']);
  const r = await run(['EG_a', '--dir', dir]);
  assert.deepEqual(r, { stdout: content, stderr: '', code: 0 });
});

test('takes the directory from EGRESS_LOG_DIR when there is no --dir', async () => {
  const dir = path.join(root, 'env');
  const content = await finishedLog(dir, 'EG_env', ['from env']);
  const saved = process.env.EGRESS_LOG_DIR;
  process.env.EGRESS_LOG_DIR = dir;
  try {
    assert.deepEqual(await run(['EG_env']), { stdout: content, stderr: '', code: 0 });
    // --dir wins over the environment.
    const other = await run(['EG_env', '--dir', path.join(root, 'elsewhere')]);
    assert.equal(other.code, 1);
  } finally {
    if (saved === undefined) delete process.env.EGRESS_LOG_DIR;
    else process.env.EGRESS_LOG_DIR = saved;
  }
});

test('a missing log: one line on stderr, exit 1', async () => {
  const dir = path.join(root, 'missing');
  const r = await run(['EG_nope', '--dir', dir]);
  assert.deepEqual(r, { stdout: '', stderr: `egress logs: no log for EG_nope in ${dir}\n`, code: 1 });
  assert.equal((await run(['EG_nope', '--follow', '--dir', dir])).code, 1);
});

test('usage errors: one line on stderr, exit 2', async () => {
  for (const argv of [
    [],
    ['EG_a', 'EG_b'],
    ['EG_a', '--bogus'],
    ['EG_a', '--dir'],
    ['../etc/passwd'],
    ['EG_a', '--dir='],
  ]) {
    const r = await run(argv);
    assert.equal(r.code, 2, JSON.stringify(argv));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^egress logs: [^\n]+\n$/, JSON.stringify(argv));
  }
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: egress logs <egressID> \[--follow\] \[--dir DIR\]/);
});

test('--follow prints a live log until the egress ends, exit 0', async () => {
  const dir = path.join(root, 'follow');
  const log = EgressLogFile.open(dir, 'EG_f');
  log.write('line 0');
  const r = await run(['EG_f', '--follow', '--dir', dir], async () => {
    await sleep(100);
    log.write('line 1');
    await sleep(300);
    log.write('line 2');
    await log.end('complete');
  });
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, await fs.readFile(path.join(dir, 'EG_f.log'), 'utf8'));
  assert.match(r.stdout, /line 0\n.*line 1\n.*line 2\n--- egress ended: complete\n$/);
});

test('--follow ends on Ctrl-C with exit 0', async () => {
  const dir = path.join(root, 'ctrl-c');
  const log = EgressLogFile.open(dir, 'EG_c');
  log.write('line 0');
  const listeners = process.listenerCount('SIGINT');
  const r = await run(['-f', 'EG_c', '--dir', dir], async () => {
    await sleep(100);
    assert.equal(process.listenerCount('SIGINT'), listeners + 1);
    process.emit('SIGINT', 'SIGINT');
  });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /line 0\n$/);
  assert.equal(process.listenerCount('SIGINT'), listeners, 'its handler is gone');
  await log.end('aborted');
});
