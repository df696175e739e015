import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GstLaunch } from './launch.js';

describe('GstLaunch with privatePipeline', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gst private '));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the pipeline under the name gst-launch-1.0 with nothing of it in argv; SIGINT ends it with EOS', async () => {
    const out = join(dir, 'canary secret 0815.mp4');
    const lines: string[] = [];
    const gst = new GstLaunch(
      [
        'videotestsrc',
        'is-live=true',
        '!',
        'x264enc',
        'tune=zerolatency',
        '!',
        'mp4mux',
        '!',
        'filesink',
        `location=${out}`,
      ],
      { privatePipeline: true, log: (l) => lines.push(l) },
    );
    try {
      await new Promise<void>((resolve) => gst.once('playing', resolve));
      const argv = readFileSync(`/proc/${gst.pid}/cmdline`, 'utf8').split('\0');
      assert.equal(argv[0], 'gst-launch-1.0', 'argv[0] as the leftover checks look for it');
      assert.equal(readFileSync(`/proc/${gst.pid}/comm`, 'utf8').trim(), 'gst-launch-1.0');
      assert.ok(!argv.join(' ').includes('canary'), `nothing of the description in ${argv.join(' ')}`);
    } catch (err) {
      await gst.kill();
      throw err;
    }
    const exit = await gst.stop({ timeoutMs: 10_000 });
    assert.deepEqual(exit, { code: 0, signal: null, eos: true, killed: false });
    assert.ok((await stat(out)).size > 0, 'a path with spaces reaches filesink intact');
    assert.ok(lines.some((l) => l === 'Got EOS from element "pipeline0".'));
  });

  it('ends with EOS when its input ends', async () => {
    const gst = new GstLaunch(['fdsrc', 'fd=0', '!', 'fakesink'], { privatePipeline: true, stdin: true });
    gst.input!.end(Buffer.alloc(4096));
    const exit = await gst.exited;
    assert.equal(exit.code, 0);
    assert.equal(exit.eos, true);
  });

  it('reports description and element errors as gst-launch does, exiting 1', async () => {
    const parse = await new GstLaunch(['fakesrc', '!', 'nosuchelement'], { privatePipeline: true }).exited;
    assert.equal(parse.code, 1);
    assert.deepEqual(parse.error, { message: 'no element "nosuchelement"' });
    const missing = join(dir, 'no such dir', 'x');
    const element = await new GstLaunch(['fakesrc', '!', 'filesink', `location=${missing}`], { privatePipeline: true })
      .exited;
    assert.equal(element.code, 1);
    assert.equal(element.error?.element, 'filesink0');
    assert.match(element.error?.message ?? '', /Could not open file/);
  });
});
