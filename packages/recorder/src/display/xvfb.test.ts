import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { pidAlive } from '../media/process.js';
import { startXvfb, type XvfbDisplay } from './xvfb.js';

const run = promisify(execFile);

describe('startXvfb', () => {
  const started: XvfbDisplay[] = [];
  after(async () => {
    await Promise.all(started.map((x) => x.stop()));
    for (const x of started) assert.equal(await pidAlive(x.pid), false, `Xvfb ${x.pid} left behind`);
  });

  it('starts on a free display that ximagesrc can capture, and stops', async () => {
    const t0 = Date.now();
    const x = await startXvfb({ width: 640, height: 480, depth: 24 });
    started.push(x);
    assert.match(x.display, /^:\d+$/);
    assert.ok(Date.now() - t0 < 5000);
    const { stdout } = await run('gst-launch-1.0', [
      '-v',
      'ximagesrc',
      `display-name=${x.display}`,
      'num-buffers=1',
      '!',
      'fakesink',
    ]);
    assert.match(stdout, /width=\(int\)640, height=\(int\)480/);
    await x.stop();
    assert.equal(await pidAlive(x.pid), false);
    assert.deepEqual(await x.exited, { code: 0, signal: null });
    await x.stop(); // idempotent
  });

  it('gives concurrent displays different numbers', async () => {
    const xs = await Promise.all([1, 2, 3].map(() => startXvfb({ width: 320, height: 240, depth: 24 })));
    started.push(...xs);
    assert.equal(new Set(xs.map((x) => x.display)).size, 3);
    await Promise.all(xs.map((x) => x.stop()));
  });

  it('fails clearly on a bad screen and leaves nothing running', async () => {
    const lines: string[] = [];
    await assert.rejects(
      startXvfb({ width: 100000, height: 480, depth: 7, log: (l) => lines.push(l) }),
      (err: Error) => {
        assert.match(err.message, /Xvfb exited during startup .*screen 100000x480x7/);
        return true;
      },
    );
  });
});
