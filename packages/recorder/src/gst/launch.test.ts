import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatGstError, GstLaunch, type GstError } from './launch.js';

const once = <T>(gst: GstLaunch, event: 'playing' | 'eos' | 'pipelineError'): Promise<T> =>
  new Promise((resolve) => gst.once(event, ((v: T) => resolve(v)) as never));

describe('GstLaunch', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gst launch '));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports PLAYING, then EOS on stop, and the file is finished', async () => {
    const lines: string[] = [];
    const out = join(dir, 'a b.mp4');
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
      { log: (l) => lines.push(l) },
    );
    await once(gst, 'playing');
    assert.equal(gst.running, true);
    const exit = await gst.stop({ timeoutMs: 10_000 });
    assert.equal(exit.eos, true);
    assert.equal(exit.killed, false);
    assert.equal(exit.code, 0);
    assert.equal(exit.error, undefined);
    assert.ok((await stat(out)).size > 0, 'a path with spaces reaches filesink intact');
    assert.ok(lines.some((l) => l.startsWith('Got EOS from element "pipeline0"')));
    assert.ok(
      !lines.some((l) => /from element "videotestsrc0" \(state-changed\)/.test(l)),
      'element chatter is not logged',
    );
  });

  it('reports an element error with the element name, and exits', async () => {
    const gst = new GstLaunch([
      'videotestsrc',
      '!',
      'x264enc',
      '!',
      'mp4mux',
      '!',
      'filesink',
      'location=/nonexistent/dir/x.mp4',
    ]);
    const error = await once<GstError>(gst, 'pipelineError');
    assert.equal(error.element, 'filesink0');
    assert.match(error.message, /Could not open file "\/nonexistent\/dir\/x\.mp4" for writing/);
    assert.equal(formatGstError(error), `filesink0: ${error.message}`);
    const exit = await gst.exited;
    assert.notEqual(exit.code, 0);
    assert.equal(exit.eos, false);
    assert.deepEqual(exit.error, error);
    assert.ok(gst.recentStderr().some((l) => l.includes('Could not open file')));
  });

  it('reports a pipeline description error', async () => {
    const gst = new GstLaunch(['videotestsrc', '!', 'no_such_element', '!', 'fakesink']);
    const exit = await gst.exited;
    assert.equal(exit.error?.element, undefined);
    assert.match(exit.error?.message ?? '', /no element "no_such_element"/);
  });

  it('kills a pipeline whose EOS does not get through in time, and says so', async () => {
    // The first buffer is stamped an hour ahead: the sink prerolls it before PLAYING, then waits on the clock for
    // that hour with it, and EOS queues up behind it. No timing of ours decides whether EOS is stuck.
    const gst = new GstLaunch(['videotestsrc', 'timestamp-offset=3600000000000', '!', 'fakesink', 'sync=true']);
    await once(gst, 'playing');
    const t0 = Date.now();
    const exit = await gst.stop({ timeoutMs: 500 });
    assert.ok(Date.now() - t0 < 2500, 'the bound is respected');
    assert.equal(exit.eos, false);
    assert.equal(exit.killed, true);
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(gst.running, false);
  });

  it('reports a spawn failure as an exit with an error', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const gst = new GstLaunch(['fakesrc', '!', 'fakesink']);
      const exit = await gst.exited;
      assert.match(exit.error?.message ?? '', /could not run gst-launch-1\.0/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('gives gst-launch the allowlisted environment and its extra, not the rest of its parent environment', async () => {
    const canary = `canary-${process.pid}`;
    process.env.EGRESS_CONFIG_BODY = `api_secret: ${canary}`;
    try {
      const gst = new GstLaunch(['videotestsrc', 'is-live=true', '!', 'fakesink'], { env: { XAUTHORITY: '/s/xa' } });
      await once(gst, 'playing');
      const environ = (await readFile(`/proc/${gst.pid}/environ`, 'utf8')).split('\0');
      await gst.kill();
      assert.ok(!environ.some((e) => e.includes(canary)), 'the parent config reached gst-launch');
      assert.ok(environ.includes('XAUTHORITY=/s/xa') && environ.includes(`PATH=${process.env.PATH}`));
    } finally {
      delete process.env.EGRESS_CONFIG_BODY;
    }
  });
});
