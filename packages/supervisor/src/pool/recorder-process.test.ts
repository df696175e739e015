import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RecordingPlan } from '@egress/shared';
import { fakeRecorder } from '../testing/fake-recorders/index.js';
import { RecorderProcess } from './recorder-process.js';
import { sleep } from '@egress/shared/testing/wait';

test('a slowly watched spare switched to a short hang timeout is declared hung on that timeout', async () => {
  const proc = new RecorderProcess({
    onOutput: () => undefined,
    entry: fakeRecorder('hang-after-active'),
    hangTimeoutMs: 60_000,
  });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rp-test-'));
  try {
    await proc.waitReady();
    proc.setHangTimeout(600);
    const hung = once(proc, 'hung');
    // The fake recorder reads only tmpDir from the plan.
    proc.send({ type: 'start', plan: { tmpDir: path.join(tmp, 'eg') } as RecordingPlan });
    // With the spare's 60 s timeout this would outlast the test's own timeout.
    await Promise.race([
      hung,
      new Promise((_, reject) => setTimeout(() => reject(new Error('not declared hung within 10 s')), 10_000).unref()),
    ]);
    const exit = await proc.exited;
    assert.match(exit.killedFor ?? '', /no heartbeat for 0.6 s/);
  } finally {
    proc.kill('test over');
    await proc.exited;
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a child answers a metrics request; a silent one yields undefined after the timeout', async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rp-test-'));
  const proc = new RecorderProcess({
    onOutput: () => undefined,
    entry: fakeRecorder('hang-after-active'),
    hangTimeoutMs: 60_000,
  });
  try {
    await proc.waitReady();
    assert.equal(await proc.requestMetrics(2000), `fake_recorder_up{pid="${proc.pid}"} 1\n`);
    proc.send({ type: 'start', plan: { tmpDir: path.join(tmp, 'eg') } as RecordingPlan });
    await sleep(300); // past ACTIVE: the fake has gone silent
    // Without the timeout this would wait forever and the test would time out.
    assert.equal(await proc.requestMetrics(300), undefined);
  } finally {
    proc.kill('test over');
    await proc.exited;
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("a recorder's environment holds the markers and none of the supervisor's config or secrets", async () => {
  const canary = `canary-${process.pid}-${Date.now()}`;
  const saved = { body: process.env.EGRESS_CONFIG_BODY, canary: process.env.EGRESS_TEST_CANARY };
  process.env.EGRESS_CONFIG_BODY = `api_secret: ${canary}`;
  process.env.EGRESS_TEST_CANARY = canary;
  const proc = new RecorderProcess({
    onOutput: () => undefined,
    entry: fakeRecorder('complete'),
    env: { EGRESS_RECORDER_ROOT: '/tmp/rp-test-root' },
  });
  try {
    await proc.waitReady();
    const environ = readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0');
    assert.ok(!environ.some((e) => e.startsWith('EGRESS_CONFIG_BODY=')), 'EGRESS_CONFIG_BODY reached the recorder');
    assert.ok(!environ.some((e) => e.includes(canary)), 'the canary reached the recorder');
    assert.ok(environ.includes('EGRESS_RECORDER_ROOT=/tmp/rp-test-root'), 'the reaper marker is missing');
    assert.ok(environ.includes(`PATH=${process.env.PATH}`));
  } finally {
    if (saved.body === undefined) delete process.env.EGRESS_CONFIG_BODY;
    else process.env.EGRESS_CONFIG_BODY = saved.body;
    if (saved.canary === undefined) delete process.env.EGRESS_TEST_CANARY;
    else process.env.EGRESS_TEST_CANARY = saved.canary;
    proc.kill('test over');
    await proc.exited;
  }
});
