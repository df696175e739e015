/**
 * Automatic restarts, staged with the fake recorder child (real processes, real IPC); livekit-server's
 * side is an IoReporter whose calls are recorded.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EgressInfo, EgressStatus } from '@livekit/protocol';
import { createLogger, type RecordingPlan } from '@egress/shared';
import { IoReporter } from '../rpc/io-reporter.js';
import { ActiveEgress } from './active-egress.js';

const FAKE = fileURLToPath(new URL('../testing/fake-recorder.js', import.meta.url));
const log = createLogger({ level: 'error', json: true });

describe('automatic recorder restarts', () => {
  let dir: string;
  const running: ActiveEgress[] = [];
  const updates: EgressInfo[] = [];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'active-egress-test-'));
  });
  afterEach(async () => {
    for (const eg of running.splice(0)) {
      eg.kill('test over');
      await eg.ended;
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function egress(
    id: string,
    mode: string,
    restarts: number,
    restartDelayMs = 10,
    streams?: { urls: string[]; max: number },
  ): ActiveEgress {
    const plan = {
      egressId: id,
      tmpDir: path.join(dir, 'tmp', id),
      outputs: {
        file: { fileType: 'mp4', filename: `${id}.mp4`, destination: path.join(dir, 'out', `${id}.mp4`) },
        ...(streams ? { stream: { protocol: 'rtmp', urls: streams.urls } } : {}),
      },
    } as RecordingPlan; // the fake recorder reads only these fields
    const io = new IoReporter({
      log,
      call: async (_method, info) => {
        updates.push(info);
      },
    });
    const eg = new ActiveEgress(plan, new EgressInfo({ egressId: id, status: EgressStatus.EGRESS_STARTING }), {
      io,
      log,
      onOutput: () => undefined,
      recorderEntry: FAKE,
      recorderEnv: { FAKE_RECORDER_MODE: mode, FAKE_RECORDER_MARK_DIR: dir },
      hangTimeoutMs: 1500,
      restarts,
      restartDelayMs: () => restartDelayMs,
      ...(streams ? { maxStreamUrls: streams.max } : {}),
    });
    running.push(eg);
    return eg;
  }

  const until = async (what: string, cond: () => boolean, ms = 8000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const reported = (id: string) => updates.filter((u) => u.egressId === id).map((u) => EgressStatus[u.status]);

  test('UpdateStream adding past max_stream_urls is invalid_argument naming the field, before the recorder is asked', async () => {
    const url = (k: string) => `rtmp://127.0.0.1:1935/live/${k}`;
    const eg = egress('EG_cap', 'complete', 0, 10, { urls: [url('a'), url('b')], max: 3 });
    await eg.launch();
    await until('ACTIVE', () => eg.state === 'active');
    await assert.rejects(eg.updateStream([url('c'), url('d')], []), {
      code: 'invalid_argument',
      message: 'add_output_urls: at most 3 per egress (max_stream_urls) (got "4 URLs")',
    });
    // Swapping one for another stays within the cap; it reaches the recorder (the fake one never answers).
    await assert.rejects(eg.updateStream([url('c'), url('d')], [url('a')], 200), { code: 'unavailable' });
  });

  test('a recorder that crashes while ACTIVE is replaced; the egress stays ACTIVE and continues in part 2', async () => {
    const eg = egress('EG_once', 'crash-once-after-active', 2);
    await eg.launch();
    const first = eg.pid;
    const { oldPid, newPid } = (await once(eg, 'restarted'))[0] as { oldPid: number; newPid: number };
    assert.equal(oldPid, first);
    assert.notEqual(newPid, first);
    assert.equal(eg.state, 'active');
    assert.match(eg.info.details, /recorder restarted \(1\/2\): recorder process ended unexpectedly \(exit code 3\)/);
    // Past the moment the first recorder crashed: the second one records on.
    await new Promise((r) => setTimeout(r, 400));
    eg.stop('StopEgress API');
    const end = await eg.ended;
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE, `${end.error} | ${end.details}`);
    assert.deepEqual(
      end.fileResults.map((f) => path.basename(f.location)),
      ['EG_once-part2.mp4'],
      'the crashed part had no capture to deliver; the second part went to its own file',
    );
    assert.match(end.details, /End reason: StopEgress API; recorder restarted \(1\/2\)/);
    assert.ok(!reported('EG_once').includes('EGRESS_FAILED'), `reported ${reported('EG_once').join(',')}`);
  });

  test('a recorder that loses a process reports its part; the restarted one adds the next part', async () => {
    const eg = egress('EG_lose', 'lose-process-once', 1);
    await eg.launch();
    await once(eg, 'restarted');
    assert.match(eg.info.details, /recorder restarted \(1\/1\): Chromium disconnected/);
    eg.stop('StopEgress API');
    const end = await eg.ended;
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE, `${end.error} | ${end.details}`);
    assert.deepEqual(
      end.fileResults.map((f) => path.basename(f.location)),
      ['EG_lose.mp4', 'EG_lose-part2.mp4'],
    );
    // The salvaged part and the restarted one are named like their paths.
    assert.deepEqual(
      end.fileResults.map((f) => f.filename),
      ['EG_lose.mp4', 'EG_lose-part2.mp4'],
    );
  });

  test('restarts run out: FAILED naming the last cause, every restart in the details', async () => {
    const eg = egress('EG_always', 'crash-after-active', 2);
    await eg.launch();
    const end = await eg.ended;
    assert.equal(end.status, EgressStatus.EGRESS_FAILED);
    assert.match(end.error, /recorder process ended unexpectedly \(exit code 3\)/);
    assert.match(end.details, /recorder restarted \(1\/2\).*recorder restarted \(2\/2\)/);
    assert.equal(eg.restarts, 2);
  });

  test('restarts off: the first crash is FAILED', async () => {
    const eg = egress('EG_off', 'crash-once-after-active', 0);
    await eg.launch();
    const end = await eg.ended;
    assert.equal(end.status, EgressStatus.EGRESS_FAILED);
    assert.equal(eg.restarts, 0);
    assert.doesNotMatch(end.details, /restarted/);
  });

  test('a recorder that dies before ACTIVE is not restarted', async () => {
    const eg = egress('EG_early', 'crash-before-active', 2);
    await eg.launch();
    const end = await eg.ended;
    assert.equal(end.status, EgressStatus.EGRESS_FAILED);
    assert.equal(eg.restarts, 0);
  });

  test('a hang is a restartable death', async () => {
    const eg = egress('EG_hang', 'hang-after-active', 1);
    await eg.launch();
    const end = await eg.ended;
    assert.equal(end.status, EgressStatus.EGRESS_FAILED);
    assert.match(end.details, /recorder restarted \(1\/1\): .*no heartbeat for 1.5 s/);
    assert.match(end.error, /no heartbeat/);
  });

  test('a stop while no recorder runs ends COMPLETE with the parts written so far', async () => {
    // A long backoff holds the gap open for the stop, which cuts it short.
    const eg = egress('EG_gap', 'lose-process-once', 1, 60_000);
    await eg.launch();
    await until('the restart to begin', () => eg.restarts === 1);
    eg.stop('StopEgress API');
    const end = await eg.ended;
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE, `${end.error} | ${end.details}`);
    assert.deepEqual(
      end.fileResults.map((f) => path.basename(f.location)),
      ['EG_gap.mp4'],
    );
  });

  test('a kill by the supervisor is final, never restarted', async () => {
    const eg = egress('EG_killed', 'complete', 2);
    await eg.launch();
    await until('ACTIVE', () => eg.state === 'active');
    eg.kill('CPU exhausted');
    const end = await eg.ended;
    assert.equal(end.status, EgressStatus.EGRESS_FAILED);
    assert.match(end.error, /killed: CPU exhausted/);
    assert.equal(eg.restarts, 0);
  });
});
