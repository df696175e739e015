/**
 * What a recording's processes can see of the node: the recorder, its Chromium, gst-launch and Xvfb get an
 * allowlisted environment (no EGRESS_CONFIG_BODY, nothing else of the supervisor's), keep the markers the
 * reaper and the leftover check find them by, and only Chromium and gst-launch get the display's cookie.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { EgressStatus, EncodedFileOutput } from 'livekit-server-sdk';
import { sleep } from '@egress/shared/testing/wait';
import { egressClient, recorderPid, stackEnv, TERMINAL, waitForStatus } from './fixtures/stack.js';
import { serviceSuite } from './fixtures/service-suite.js';

const run = promisify(execFile);

/**
 * Every live process of a group with its command name and environment (a process that just went is skipped).
 * `helper`: a process Chromium forked from its zygote, whose environ area its process title has overwritten.
 */
function groupProcesses(pgid: number): { pid: number; comm: string; helper: boolean; env: string[] }[] {
  const pids = execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map(Number);
  return pids.flatMap((pid) => {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const helper = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=');
      return [{ pid, comm, helper, env: readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean) }];
    } catch {
      return [];
    }
  });
}

describe('the environment of a recording’s processes', () => {
  const client = egressClient();
  const canary = `canary-${randomBytes(8).toString('hex')}`;

  const suite = serviceSuite('', { service: { env: { EGRESS_TEST_CANARY: canary } } });

  test('holds no config and no secret of the supervisor; only Chromium and gst-launch hold the cookie', async () => {
    const info = await client.startWebEgress(
      suite.page.urlFor(),
      new EncodedFileOutput({ filepath: 'env-{time}.mp4' }),
    );
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    try {
      const pgid = await recorderPid(suite.svc, info.egressId);
      const procs = groupProcesses(pgid);
      const comms = new Set(procs.map((p) => p.comm));
      for (const name of ['node', 'Xvfb', 'chromium', 'gst-launch-1.0'])
        assert.ok(comms.has(name), `${name} in ${[...comms]}`);

      const secret = stackEnv().apiSecret;
      const authFile = path.join(suite.svc.tmpDir, info.egressId, 'xauthority');
      for (const { pid, comm, helper, env } of procs) {
        const what = `${comm} (${pid})`;
        assert.ok(!env.some((e) => e.startsWith('EGRESS_CONFIG_BODY=')), `${what} has EGRESS_CONFIG_BODY`);
        assert.ok(!env.some((e) => e.includes(canary)), `${what} has the supervisor's canary`);
        assert.ok(!env.some((e) => e.includes(secret)), `${what} has the api secret`);
        if (helper) continue;
        assert.ok(env.includes(`EGRESS_RECORDER_ROOT=${suite.svc.tmpDir}`), `${what} lacks the reaper's marker`);
        if (process.env.EGRESS_STACK_TAG)
          assert.ok(env.includes(`EGRESS_STACK_TAG=${process.env.EGRESS_STACK_TAG}`), what);
        // Chromium and gst-launch connect to the display; the recorder and Xvfb need no cookie.
        if (comm === 'chromium' || comm === 'gst-launch-1.0') assert.ok(env.includes(`XAUTHORITY=${authFile}`), what);
        if (comm === 'node' || comm === 'Xvfb') assert.ok(!env.some((e) => e.startsWith('XAUTHORITY=')), what);
      }

      assert.equal(statSync(authFile).mode & 0o777, 0o600);
      const display = procs.find((p) => p.comm === 'gst-launch-1.0')?.env.find((e) => e.startsWith('DISPLAY='));
      assert.match(display ?? '', /^DISPLAY=:\d+$/);
      // Another process of the same user, without the cookie, cannot see or drive the recording's display.
      const env = { PATH: process.env.PATH, HOME: suite.svc.tmpDir, DISPLAY: display!.slice('DISPLAY='.length) };
      await assert.rejects(run('xdpyinfo', [], { env }));
      await run('xdpyinfo', [], { env: { ...env, XAUTHORITY: authFile } });
    } finally {
      // Some media first: a stop the moment it is ACTIVE may find nothing captured yet on a loaded machine.
      await sleep(2000);
      // Also when an assertion failed: a recording left running would hold up the service's exit.
      await client.stopEgress(info.egressId);
    }
    const done = await waitForStatus(client, info.egressId, TERMINAL);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
  });
});
