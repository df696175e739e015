import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Capacity } from './capacity.js';

const costs = { max_cpu_utilization: 0.8, web_cpu_cost: 4, audio_web_cpu_cost: 1 };

test('an idle node accepts a request costlier than its cores', () => {
  const c = new Capacity(costs, 2);
  assert.equal(c.canAccept('web'), true);
  assert.equal(c.available(), 2);
});

test('a busy node accepts only what fits under max_cpu_utilization', () => {
  const c = new Capacity(costs, 8);
  c.reserve('EG_a', 'web');
  assert.equal(c.available(), 8 * 0.8 - 4);
  assert.equal(c.canAccept('web'), false);
  assert.equal(c.canAccept('audio_web'), true);
  c.release('EG_a');
  assert.equal(c.canAccept('web'), true);
  assert.equal(c.activeCount, 0);
});
