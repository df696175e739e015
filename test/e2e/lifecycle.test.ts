import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressStatus, EncodedFileOutput, FileOutput, Output, StartEgressRequest, WebSource } from 'livekit-server-sdk';
import { startTestPage, type TestPageServer } from '@egress/recorder/testing/test-page';
import { leftoversAfter } from './fixtures/leftovers.js';
import { probe } from './fixtures/media.js';
import { egressClient, type RunningService, startService, TERMINAL, waitForStatus } from './fixtures/stack.js';
import { sleep } from '@egress/shared/testing/wait';

describe('how a web egress ends', () => {
  let page: TestPageServer;
  const client = egressClient();

  before(async () => {
    page = await startTestPage();
  });
  after(async () => {
    await page.close();
  });

  describe('with one service for the page-driven cases', () => {
    let svc: RunningService;
    before(async () => {
      svc = await startService();
    });
    after(async () => {
      assert.equal(await svc.stop('SIGTERM'), 0);
      assert.deepEqual(await leftoversAfter(3000), []);
    });

    test('await_start_signal waits for START_RECORDING; END_RECORDING completes it (unified request)', async () => {
      const info = await client.startEgress(
        new StartEgressRequest({
          source: {
            case: 'web',
            value: new WebSource({
              url: page.urlFor({ startSignalAfterMs: 1500, endSignalAfterMs: 6000 }),
              awaitStartSignal: true,
            }),
          },
          outputs: [new Output({ config: { case: 'file', value: new FileOutput({ filepath: 'signals.mp4' }) } })],
        }),
      );
      const done = await waitForStatus(client, info.egressId, TERMINAL, 30_000);
      assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
      assert.match(done.details, /Source closed/);
      const p = await probe(done.fileResults[0]!.location);
      assert.equal(p.video?.codec_name, 'h264');
      // Recorded from START_RECORDING (1.5 s) to END_RECORDING (6 s), not from page load.
      assert.ok(p.durationSec > 3 && p.durationSec < 5.5, `duration ${p.durationSec}`);
    });

    test('a stop before the start signal ends ABORTED with upstream words and no file', async () => {
      const info = await client.startEgress(
        new StartEgressRequest({
          source: { case: 'web', value: new WebSource({ url: page.urlFor(), awaitStartSignal: true }) },
          outputs: [new Output({ config: { case: 'file', value: new FileOutput({ filepath: 'never.mp4' }) } })],
        }),
      );
      await sleep(2000);
      await client.stopEgress(info.egressId);
      const done = await waitForStatus(client, info.egressId, TERMINAL);
      assert.equal(done.status, EgressStatus.EGRESS_ABORTED);
      assert.equal(done.error, 'Start signal not received');
      assert.equal(done.errorCode, 412);
      assert.deepEqual(done.fileResults, []);
    });

    test('a page that shows div.error fails the egress with its text', async () => {
      const info = await client.startWebEgress(
        page.urlFor({ error: 'template broke' }),
        new EncodedFileOutput({ filepath: 'err.mp4' }),
      );
      const done = await waitForStatus(client, info.egressId, TERMINAL);
      assert.equal(done.status, EgressStatus.EGRESS_FAILED);
      assert.match(done.error, /template broke/);
    });
  });

  // Kubernetes may delete a pod while it starts: the default handler would end it without a clean-up.
  for (const [moment, readyLog] of [
    ['before the supervisor starts', /effective config/],
    ['the moment it is ready', /egress service ready/],
  ] as const) {
    test(`SIGTERM ${moment} exits 0 after a clean shut-down`, async () => {
      const svc = await startService('', { readyLog });
      assert.equal(await svc.stop('SIGTERM'), 0);
      assert.ok(
        svc.logs.some((l) => l.includes('shut down cleanly')),
        svc.logs.slice(-5).join('\n'),
      );
      assert.deepEqual(await leftoversAfter(3000), []);
    });
  }

  test('SIGINT to the service finalizes every recording, reports it, and exits 0', async () => {
    const svc = await startService();
    const info = await client.startWebEgress(page.urlFor(), new EncodedFileOutput({ filepath: 'sigint.mp4' }));
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    await sleep(4000);
    const code = await svc.stop('SIGINT');
    assert.equal(code, 0);
    const [done] = await client.listEgress({ egressId: info.egressId });
    assert.equal(done?.status, EgressStatus.EGRESS_COMPLETE, done?.error);
    assert.match(done!.details, /Process killed/);
    const p = await probe(done!.fileResults[0]!.location);
    assert.equal(p.video?.codec_name, 'h264');
    assert.ok(p.durationSec > 3, `duration ${p.durationSec}`);
    assert.deepEqual(await leftoversAfter(3000), []);
  });

  test('SIGTERM lets an active recording finish, stops bidding, then exits 0', async () => {
    const svc = await startService();
    const info = await client.startWebEgress(
      page.urlFor({ endSignalAfterMs: 5000 }),
      new EncodedFileOutput({ filepath: 'drain.mp4' }),
    );
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    const exited = svc.stop('SIGTERM', 60_000);
    await svc.waitForLog(/draining/);
    // The node no longer bids: with no other egress node, the server finds none.
    await assert.rejects(
      client.startWebEgress(page.urlFor(), new EncodedFileOutput({ filepath: 'late.mp4' })),
      /no response|unavailable|timed out|aborted/i,
    );
    assert.equal(await exited, 0);
    const [done] = await client.listEgress({ egressId: info.egressId });
    assert.equal(done?.status, EgressStatus.EGRESS_COMPLETE, done?.error);
    assert.match(done!.details, /Source closed/);
    assert.deepEqual(await leftoversAfter(3000), []);
  });

  test('a session limit ends the egress LIMIT_REACHED (413) with its file finalized', async () => {
    const svc = await startService('session_limits: { file_output_max_duration: 3s }');
    try {
      const info = await client.startWebEgress(page.urlFor(), new EncodedFileOutput({ filepath: 'limited.mp4' }));
      const done = await waitForStatus(client, info.egressId, TERMINAL, 30_000);
      assert.equal(done.status, EgressStatus.EGRESS_LIMIT_REACHED, done.error);
      assert.equal(done.error, 'Session limit reached');
      assert.equal(done.errorCode, 413);
      assert.equal(done.details, 'End reason: Session limit reached');
      const p = await probe(done.fileResults[0]!.location);
      assert.equal(p.video?.codec_name, 'h264');
      assert.ok(Math.abs(p.durationSec - 3) <= 1.5, `recorded ${p.durationSec} s of a 3 s limit`);
    } finally {
      assert.equal(await svc.stop('SIGTERM'), 0);
    }
    assert.deepEqual(await leftoversAfter(3000), []);
  });
});
