import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '@egress/shared/testing/wait';
import { consoleRelay } from './console-relay.js';

test('a long line is cut at the limit with a marker naming what was cut; a short one is unchanged', () => {
  const out: string[] = [];
  const relay = consoleRelay((l) => out.push(l));
  relay('short');
  relay('x'.repeat(5000));
  assert.equal(out[0], 'short');
  assert.equal(out[1], `${'x'.repeat(2048)}… [cut 2952 chars]`);
});

test('a flood passes the burst, then the rate, and the rest is one "dropped K console lines" line', async () => {
  const out: string[] = [];
  const relay = consoleRelay((l) => out.push(l), { linesPerSecond: 10, burst: 5 });
  for (let i = 0; i < 1000; i++) relay(`line ${i}`);
  assert.deepEqual(out, ['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
  await sleep(1100);
  assert.equal(out.length, 6);
  assert.equal(out[5], 'dropped 995 console lines (over 10 per second)');
  // The bucket refilled meanwhile (10 per second, at most the burst of 5).
  for (let i = 0; i < 10; i++) relay(`after ${i}`);
  assert.deepEqual(out.slice(6), ['after 0', 'after 1', 'after 2', 'after 3', 'after 4']);
  await sleep(1100);
  assert.equal(out.at(-1), 'dropped 5 console lines (over 10 per second)');
});
