import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, until } from './wait.js';

test('until resolves to the first truthy value of the predicate', async () => {
  let n = 0;
  const got = await until(() => (++n >= 3 ? { n } : undefined), { intervalMs: 1 });
  assert.deepEqual(got, { n: 3 });
  assert.equal(await until(async () => 'ready'), 'ready');
});

test('until gives up after timeoutMs with an error naming what it waited for', async () => {
  const t0 = Date.now();
  await assert.rejects(
    until(() => false, { timeoutMs: 100, what: 'the moon' }),
    {
      message: 'timed out after 100 ms waiting for the moon',
    },
  );
  const took = Date.now() - t0;
  assert.ok(took >= 100 && took < 1000, `${took} ms`);
  const ready = false;
  await assert.rejects(
    until(() => ready, { timeoutMs: 30 }),
    { message: /waiting for \(\) => ready$/ },
  );
});

test('until stops at once when its signal is aborted, with the signal reason', async () => {
  const ac = new AbortController();
  const t0 = Date.now();
  setTimeout(() => ac.abort(new Error('test over')), 50);
  await assert.rejects(
    until(() => false, { timeoutMs: 10_000, intervalMs: 5000, signal: ac.signal }),
    {
      message: 'test over',
    },
  );
  assert.ok(Date.now() - t0 < 1000, 'did not sleep out the interval');
});

test('until rejects at once when the predicate throws', async () => {
  await assert.rejects(
    until(() => {
      throw new Error('broken check');
    }),
    { message: 'broken check' },
  );
});

test('sleep waits about the given time', async () => {
  const t0 = Date.now();
  await sleep(50);
  assert.ok(Date.now() - t0 >= 45);
});
