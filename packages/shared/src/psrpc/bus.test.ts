import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
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
  const bus = new RedisBus(redisOptions({ address: redis.address }), (err, context) =>
    reported.push(`${context}: ${err instanceof Error ? err.message : String(err)}`),
  );
  try {
    const got: number[] = [];
    await bus.subscribe('bus-test', (payload) => {
      got.push(payload.length);
    });
    const big = Buffer.alloc(MAX_BUS_PAYLOAD_BYTES + 1, 0x0a);
    for (let i = 0; i < 101; i++) await bus.publish('bus-test', big);
    await bus.publish('bus-test', Buffer.alloc(MAX_BUS_PAYLOAD_BYTES, 0x0a));
    for (let i = 0; i < 200 && got.length === 0; i++) await sleep(10);
    assert.deepEqual(got, [MAX_BUS_PAYLOAD_BYTES], 'only the payload at the limit is handled');
    assert.equal(reported.length, 2, reported.join('\n'));
    assert.match(reported[0]!, /^dropped 1 oversized message\(s\) on bus-test: payload: over 1048576 bytes/);
    assert.match(reported[1]!, /^dropped 101 oversized message\(s\) on bus-test/);
  } finally {
    await bus.close();
  }
});
