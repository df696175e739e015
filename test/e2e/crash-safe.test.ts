/**
 * Crash-safe files: a SIGKILL at a random moment of an MP4 recording still yields a delivered file that
 * decodes cleanly and misses at most the last 2 s before the kill. Ten kill points from a printed seed
 * (CRASH_SEED replays a run); even runs kill the recorder process alone, odd ones its whole group at once
 * (gst-launch cut mid-fragment).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressStatus, EncodedFileOutput } from 'livekit-server-sdk';
import { decodeErrors, probe } from './fixtures/media.js';
import { egressClient, recorderPid, TERMINAL, waitForStatus } from './fixtures/stack.js';
import { serviceSuite } from './fixtures/service-suite.js';
import { sleep } from '@egress/shared/testing/wait';

const RUNS = 10;

/** mulberry32: a small seeded generator, so a failing kill point can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('crash-safe MP4: SIGKILL at random moments', () => {
  const client = egressClient();
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
  const random = seeded(seed);

  const suite = serviceSuite('recorder_restarts: 0');

  test(`${RUNS} kills, each leaves a playable file missing at most 2 s`, async (t) => {
    t.diagnostic(`CRASH_SEED=${seed}`);
    for (let i = 0; i < RUNS; i++) {
      const info = await client.startWebEgress(
        suite.page.urlFor(),
        new EncodedFileOutput({ filepath: `crash-${i}.mp4` }),
      );
      const active = await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
      const activeAt = Number(active.startedAt / 1_000_000n);
      const pid = await recorderPid(suite.svc, info.egressId);
      await sleep(500 + random() * 5500);
      const wholeGroup = i % 2 === 1;
      const killedAt = Date.now();
      process.kill(wholeGroup ? -pid : pid, 'SIGKILL');
      const done = await waitForStatus(client, info.egressId, TERMINAL, 30_000);
      const what = `run ${i} (${wholeGroup ? 'group' : 'recorder'} killed ${((killedAt - activeAt) / 1000).toFixed(2)} s after ACTIVE)`;
      assert.equal(done.status, EgressStatus.EGRESS_FAILED, what);
      assert.match(done.error, /SIGKILL/, what);
      const recorded = (killedAt - activeAt) / 1000;
      if (done.fileResults.length === 0 && recorded < 2) {
        // Killed before the muxer's first fragment (it waits for the first audio): nothing to lose but
        // those first seconds, which the 2 s allowance covers.
        t.diagnostic(`${what}: nothing written yet, no file`);
        continue;
      }
      assert.equal(done.fileResults.length, 1, `${what}: the partial file is reported (${done.error})`);
      const file = done.fileResults[0]!;
      const p = await probe(file.location);
      assert.equal(p.video?.codec_name, 'h264', what);
      assert.equal(await decodeErrors(file.location), '', `${what}: decodes cleanly`);
      assert.ok(p.durationSec >= recorded - 2, `${what}: ${p.durationSec} s of ${recorded.toFixed(2)} s`);
      assert.ok(Math.abs(Number(file.duration) / 1e9 - p.durationSec) < 0.2, `${what}: FileInfo matches the file`);
      t.diagnostic(`${what}: ${p.durationSec.toFixed(2)} s delivered`);
    }
  });
});
