/**
 * Every way a recorder can die, one at a time, with a sibling egress recording throughout. Restarts off:
 * the victim ends FAILED naming the cause and what it captured is still delivered as a playable file.
 * Restarts on: the egress stays ACTIVE, a fresh recorder continues into a second part, and both parts play.
 * Either way nothing of the dead recorder's process tree or its pulse sink remains, and the sibling
 * completes untouched.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EgressStatus, EncodedFileOutput, type EgressInfo } from 'livekit-server-sdk';
import { startTestPage, type TestPageServer } from '@egress/recorder/testing/test-page';
import { memoryCgroupDir, oomKillCount } from '@egress/shared/system/oom-kills';
import { leftovers, leftoversAfter } from './fixtures/leftovers.js';
import { probe } from './fixtures/media.js';
import {
  egressClient,
  recorderPid,
  type RunningService,
  startService,
  TERMINAL,
  waitForStatus,
} from './fixtures/stack.js';
import { sleep } from '@egress/shared/testing/wait';

function groupMembers(pgid: number): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-g', String(pgid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

type Cause = [name: string, kill: (pgid: number) => void | Promise<void>, cause: RegExp];

const CAUSES: Cause[] = [
  [
    'SIGKILL of the recorder',
    (pgid) => process.kill(pgid, 'SIGKILL'),
    /recorder process ended unexpectedly \(signal SIGKILL\)/,
  ],
  ['death of its Chromium', (pgid) => killIn(pgid, '/usr/lib/chromium/chromium'), /[Cc]hromium/],
  ['death of its gst-launch', (pgid) => killIn(pgid, 'gst-launch-1.0'), /gst|pipeline/],
  ['death of its Xvfb', (pgid) => killIn(pgid, 'Xvfb'), /Xvfb|display/],
  // The recorder's own Node process freezes (its children run on): only the missed heartbeat tells.
  ['a hang of the recorder', (pgid) => process.kill(pgid, 'SIGSTOP'), /no heartbeat for 5 s/],
  ['an OOM kill in its memory cgroup', (pgid) => oomKill(pgid), /out of memory: the kernel OOM killer ran/],
];

for (const restarts of [0, 1]) {
  describe(`recorder teardown paths, recorder_restarts ${restarts}, with a sibling egress running`, () => {
    let svc: RunningService;
    let page: TestPageServer;
    let siblingId: string;
    const client = egressClient();

    /** The dead recorder's group is empty and its sink unloaded (a restarted one loads its own). */
    const assertGone = async (pgid: number, egressId: string, sinksAllowed: number) => {
      const deadline = Date.now() + 10_000;
      while (groupMembers(pgid).length && Date.now() < deadline) await sleep(100);
      assert.deepEqual(groupMembers(pgid), [], 'no process of the dead recorder remains');
      const sinks = leftovers([egressId]).filter((l) => l.startsWith('pulse sink'));
      assert.ok(sinks.length <= sinksAllowed, `sinks of ${egressId}: ${sinks.join('; ')}`);
    };

    /** Starts a victim egress, lets it record 3 s, then applies the cause of death to its recorder. */
    const recordThenKill = async (kill: Cause[1]) => {
      const info = await client.startWebEgress(
        page.urlFor(),
        new EncodedFileOutput({ filepath: `victim-${Date.now()}.mp4` }),
      );
      await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
      const pgid = await recorderPid(svc, info.egressId);
      await sleep(3000);
      await kill(pgid);
      return { info, pgid };
    };

    before(async () => {
      page = await startTestPage();
      // Two recordings fill this 2-core machine: lower the cost to admit both, and move the overload stop
      // threshold to 100 % so the CPU guard does not end the sibling while the teardown paths are under test.
      svc = await startService(
        `cpu_cost: { web_cpu_cost: 0.3, max_cpu_utilization: 1.0 }\nrecorder_restarts: ${restarts}`,
      );
      const sibling = await client.startWebEgress(page.urlFor(), new EncodedFileOutput({ filepath: 'sibling.mp4' }));
      siblingId = sibling.egressId;
      await waitForStatus(client, siblingId, [EgressStatus.EGRESS_ACTIVE]);
    });

    after(async () => {
      assert.equal(await svc.stop('SIGTERM'), 0);
      await page.close();
      await removeCgroups();
      assert.deepEqual(await leftoversAfter(3000), []);
    });

    for (const [name, kill, cause] of CAUSES) {
      if (restarts === 0) {
        test(`${name}: FAILED naming the cause, partial file delivered, nothing left`, async (t) => {
          const { info, pgid } = await recordThenKill(kill);
          const done = await waitForStatus(client, info.egressId, TERMINAL, 30_000);
          assert.equal(done.status, EgressStatus.EGRESS_FAILED);
          t.diagnostic(`error: ${done.error}`);
          assert.match(done.error, cause);
          assert.equal(done.fileResults.length, 1, 'what was captured is reported');
          const p = await probe(done.fileResults[0]!.location);
          assert.equal(p.video?.codec_name, 'h264');
          assert.ok(p.durationSec > 1, `salvaged ${p.durationSec} s`);
          await assertGone(pgid, info.egressId, 0);
          const [sibling] = await client.listEgress({ egressId: siblingId });
          assert.equal(sibling?.status, EgressStatus.EGRESS_ACTIVE, 'the sibling is untouched');
        });
      } else {
        test(`${name}: a fresh recorder continues in part 2, both parts playable`, async (t) => {
          const { info, pgid } = await recordThenKill(kill);
          const deadline = Date.now() + 30_000;
          let restarted: EgressInfo | undefined;
          while (!restarted && Date.now() < deadline) {
            const [now] = await client.listEgress({ egressId: info.egressId });
            assert.equal(now?.status, EgressStatus.EGRESS_ACTIVE, `stays ACTIVE (${now?.error})`);
            if (now && /recorder restarted \(1\/1\)/.test(now.details)) restarted = now;
            else await sleep(200);
          }
          assert.ok(restarted, 'the restart is reported in details');
          t.diagnostic(`details: ${restarted.details}`);
          assert.match(restarted.details, cause);
          await assertGone(pgid, info.egressId, 1);
          let newPid = 0;
          while (Date.now() < deadline && (!newPid || newPid === pgid)) {
            newPid = await recorderPid(svc, info.egressId).catch(() => 0);
            await sleep(100);
          }
          assert.notEqual(newPid, pgid, 'a new recorder runs');
          await sleep(4000);
          await client.stopEgress(info.egressId);
          const done = await waitForStatus(client, info.egressId, TERMINAL, 30_000);
          assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
          assert.match(done.details, /recorder restarted \(1\/1\)/);
          const names = done.fileResults.map((f) => path.basename(f.location));
          assert.equal(names.length, 2, `two parts: ${names.join(', ')}`);
          assert.match(names[1]!, /-part2\.mp4$/);
          for (const f of done.fileResults) {
            const p = await probe(f.location);
            assert.equal(p.video?.codec_name, 'h264', f.location);
            assert.ok(p.durationSec > 1, `${f.filename}: ${p.durationSec} s`);
          }
          await assertGone(newPid, info.egressId, 0);
          const [sibling] = await client.listEgress({ egressId: siblingId });
          assert.equal(sibling?.status, EgressStatus.EGRESS_ACTIVE, 'the sibling is untouched');
        });
      }
    }

    test('the sibling completes with a playable file', async () => {
      await client.stopEgress(siblingId);
      const done = await waitForStatus(client, siblingId, TERMINAL);
      assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
      const p = await probe(done.fileResults[0]!.location);
      assert.equal(p.video?.codec_name, 'h264');
      assert.ok(p.durationSec > 15, `sibling recorded ${p.durationSec} s`);
    });
  });
}

/** SIGKILLs the oldest process in the recorder's group whose command line starts with `command`. */
function killIn(pgid: number, command: string): void {
  const line = groupMembers(pgid).find((l) => l.split(' ')[1]?.startsWith(command));
  assert.ok(line, `a ${command} process in group ${pgid}`);
  process.kill(Number(line.split(' ')[0]), 'SIGKILL');
}

const cgroups: string[] = [];

/**
 * A real kernel OOM kill, as when a pod reaches its memory limit: the recorder's group moves into a memory
 * cgroup of its own, its Chromium, gst-launch and Xvfb are marked first in line (oom_score_adj 1000: lowering
 * the hog's score needs a capability root may lack), a hog fills the cgroup up to its limit, and the kernel
 * kills the marked process with the most memory. Then the hog goes and the limit is lifted, so the partial
 * file can still be finalized.
 */
async function oomKill(pgid: number): Promise<void> {
  const parent = memoryCgroupDir(pgid);
  assert.ok(parent && process.getuid?.() === 0, 'an OOM kill needs root and a memory cgroup');
  const dir = path.join(parent, `e2e-oom-${pgid}`);
  mkdirSync(dir);
  cgroups.push(dir);
  const v1 = existsSync(path.join(dir, 'memory.limit_in_bytes'));
  const limitFile = path.join(dir, v1 ? 'memory.limit_in_bytes' : 'memory.max');
  for (const pid of groupMembers(pgid).map((l) => l.split(' ')[0]!)) {
    try {
      writeFileSync(path.join(dir, 'cgroup.procs'), pid);
      if (Number(pid) !== pgid) writeFileSync(`/proc/${pid}/oom_score_adj`, '1000');
    } catch {
      // exited meanwhile
    }
  }
  const hog = spawn(
    process.execPath,
    ['-e', 'const a = []; setInterval(() => a.push(Buffer.alloc(4 << 20, 1)), 10); setTimeout(() => {}, 60_000)'],
    { stdio: 'ignore' },
  );
  try {
    writeFileSync(path.join(dir, 'cgroup.procs'), String(hog.pid));
    const usage = Number(readFileSync(path.join(dir, v1 ? 'memory.usage_in_bytes' : 'memory.current'), 'utf8'));
    writeFileSync(limitFile, String(usage + 64 * 2 ** 20));
    const deadline = Date.now() + 20_000;
    while ((oomKillCount(dir) ?? 0) < 1 && Date.now() < deadline) await sleep(5);
    assert.ok((oomKillCount(dir) ?? 0) >= 1, 'the kernel OOM killer ran');
  } finally {
    hog.kill('SIGKILL');
    writeFileSync(limitFile, v1 ? '-1' : 'max');
  }
}

/** Removes the OOM test cgroups once their processes are gone. */
async function removeCgroups(): Promise<void> {
  for (const dir of cgroups.splice(0)) {
    for (let i = 0; i < 100 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        await sleep(100);
      }
    }
    assert.ok(!existsSync(dir), `cgroup ${dir} removed`);
  }
}
