import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { pidAlive } from '@egress/shared/host/procfs';
import { startXvfb, type XvfbDisplay } from './xvfb.js';

const run = promisify(execFile);

describe('startXvfb', () => {
  const started: XvfbDisplay[] = [];
  let dir: string;
  let n = 0;
  const authFile = () => join(dir, `xauthority-${n++}`);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xvfb-test-'));
  });
  after(async () => {
    await Promise.all(started.map((x) => x.stop()));
    for (const x of started) assert.equal(pidAlive(x.pid), false, `Xvfb ${x.pid} left behind`);
    await rm(dir, { recursive: true, force: true });
  });

  it('starts on a free display that ximagesrc can capture with its cookie, and stops', async () => {
    const t0 = Date.now();
    const x = await startXvfb({ width: 640, height: 480, depth: 24, authFile: authFile() });
    started.push(x);
    assert.match(x.display, /^:\d+$/);
    assert.ok(Date.now() - t0 < 5000);
    const { stdout } = await run(
      'gst-launch-1.0',
      ['-v', 'ximagesrc', `display-name=${x.display}`, 'num-buffers=1', '!', 'fakesink'],
      { env: { PATH: process.env.PATH, XAUTHORITY: x.authFile } },
    );
    assert.match(stdout, /width=\(int\)640, height=\(int\)480/);
    await x.stop();
    assert.equal(pidAlive(x.pid), false);
    assert.deepEqual(await x.exited, { code: 0, signal: null });
    await x.stop(); // idempotent
  });

  it('refuses a client without the display cookie and accepts one with it', async () => {
    const x = await startXvfb({ width: 320, height: 240, depth: 24, authFile: authFile() });
    started.push(x);
    assert.equal((await stat(x.authFile)).mode & 0o777, 0o600);
    // HOME points at an empty dir, so no ~/.Xauthority of this machine can stand in for the cookie.
    const env = { PATH: process.env.PATH, HOME: dir, DISPLAY: x.display };
    await assert.rejects(run('xdpyinfo', [], { env }), (err: Error & { stderr: string }) => {
      assert.match(err.stderr, /Authorization required|unable to open display/);
      return true;
    });
    const { stdout } = await run('xdpyinfo', [], { env: { ...env, XAUTHORITY: x.authFile } });
    assert.match(stdout, /dimensions: {4}320x240 pixels/);
    // Another display's cookie does not open this one.
    const other = await startXvfb({ width: 320, height: 240, depth: 24, authFile: authFile() });
    started.push(other);
    await assert.rejects(run('xdpyinfo', [], { env: { ...env, XAUTHORITY: other.authFile } }));
  });

  it('gives concurrent displays different numbers', async () => {
    const xs = await Promise.all(
      [1, 2, 3].map(() => startXvfb({ width: 320, height: 240, depth: 24, authFile: authFile() })),
    );
    started.push(...xs);
    assert.equal(new Set(xs.map((x) => x.display)).size, 3);
    await Promise.all(xs.map((x) => x.stop()));
  });

  it('fails clearly on a bad screen and leaves nothing running', async () => {
    const lines: string[] = [];
    await assert.rejects(
      startXvfb({ width: 100000, height: 480, depth: 7, authFile: authFile(), log: (l) => lines.push(l) }),
      (err: Error) => {
        assert.match(err.message, /Xvfb exited during startup .*screen 100000x480x7/);
        return true;
      },
    );
  });
});
