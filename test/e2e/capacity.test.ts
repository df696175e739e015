/**
 * Admission through the real livekit-server: with one web egress holding its 15 s reservation, a second
 * web request does not fit, so this node does not bid and livekit-server answers the SDK `unavailable` (503);
 * a smaller (audio-only) request still fits and records.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressClient, EgressStatus, EncodedFileOutput } from 'livekit-server-sdk';
import { probe } from './fixtures/media.js';
import { stackEnv, TERMINAL, waitForStatus } from './fixtures/stack.js';
import { serviceSuite } from './fixtures/service-suite.js';
import { sleep } from '@egress/shared/testing/wait';

describe('capacity through livekit-server', () => {
  // livekit-server retries an unanswered StartEgress before it gives up (about 20-30 s): wait it out.
  const env = stackEnv();
  const client = new EgressClient(env.wsUrl.replace(/^ws/, 'http'), env.apiKey, env.apiSecret, {
    requestTimeout: 90,
  });

  // 2 cores x 0.8 = 1.6 available: one web egress (1.2) leaves room for an audio-only one (0.3), not a web one.
  const suite = serviceSuite('cpu_cost: { web_cpu_cost: 1.2, audio_web_cpu_cost: 0.3, max_cpu_utilization: 0.8 }');

  test('beyond capacity: no bid, livekit-server answers an error; a smaller request still fits', async (t) => {
    const first = await client.startWebEgress(
      suite.page.urlFor(),
      new EncodedFileOutput({ filepath: 'cap-first.mp4' }),
    );
    await waitForStatus(client, first.egressId, [EgressStatus.EGRESS_ACTIVE]);

    const refused = await client
      .startWebEgress(suite.page.urlFor(), new EncodedFileOutput({ filepath: 'cap-refused.mp4' }))
      .then(
        (info) => assert.fail(`a request beyond capacity was accepted: ${info.egressId}`),
        (err: unknown) => err as Error & { code?: string; status?: number },
      );
    t.diagnostic(`refused: HTTP ${refused.status} ${refused.code}: ${refused.message}`);
    assert.equal(refused.status, 503, refused.message);
    assert.equal(refused.code, 'unavailable', refused.message);
    await suite.svc.waitForLog(/not bidding for a request.*(cpu|CPU)/, 1000);
    const active = (await client.listEgress({ active: true })).map((e) => e.egressId);
    assert.deepEqual(active, [first.egressId], 'nothing was started for the refused request');

    const small = await client.startWebEgress(
      suite.page.urlFor(),
      new EncodedFileOutput({ filepath: 'cap-small.mp4' }),
      {
        audioOnly: true,
      },
    );
    await waitForStatus(client, small.egressId, [EgressStatus.EGRESS_ACTIVE]);
    await sleep(3000);
    for (const id of [small.egressId, first.egressId]) {
      await client.stopEgress(id);
      const done = await waitForStatus(client, id, TERMINAL);
      assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, `${id}: ${done.error}`);
      const p = await probe(done.fileResults[0]!.location);
      assert.ok(p.audio, `${id} has audio`);
    }
  });
});
