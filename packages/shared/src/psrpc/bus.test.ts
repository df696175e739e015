import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep } from '../testing/wait.js';
import { startRedis, type TestRedis } from '../testing/redis-server.js';
import { MAX_BUS_PAYLOAD_BYTES, RedisBus, redisOptions } from './bus.js';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

test('a payload over 1 MiB reaches no handler, is reported once per 100 drops, and the bus keeps working', async () => {
  const reported: string[] = [];
  const errors: unknown[] = [];
  const bus = new RedisBus(
    redisOptions({ address: redis.address }),
    (err) => errors.push(err),
    (bad) => reported.push(`${bad.service} ${bad.channel}: ${bad.reason}`),
  );
  try {
    const got: number[] = [];
    await bus.subscribe('EgressInternal|bus-test', (payload) => {
      got.push(payload.length);
    });
    const big = Buffer.alloc(MAX_BUS_PAYLOAD_BYTES + 1, 0x0a);
    for (let i = 0; i < 101; i++) await bus.publish('EgressInternal|bus-test', big);
    await bus.publish('EgressInternal|bus-test', Buffer.alloc(MAX_BUS_PAYLOAD_BYTES, 0x0a));
    for (let i = 0; i < 200 && got.length === 0; i++) await sleep(10);
    assert.deepEqual(got, [MAX_BUS_PAYLOAD_BYTES], 'only the payload at the limit is handled');
    assert.equal(reported.length, 2, reported.join('\n'));
    assert.equal(
      reported[0],
      'EgressInternal EgressInternal|bus-test: 1048577 bytes, over the 1048576-byte limit (1 dropped so far)',
    );
    assert.match(reported[1]!, /\(101 dropped so far\)$/);
    assert.deepEqual(errors, [], 'an oversized payload is no bus error');
  } finally {
    await bus.close();
  }
});
