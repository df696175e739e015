import { test } from 'node:test';
import assert from 'node:assert/strict';
import { egressIdOfScratchDir, egressIdOfSink, isEgressId, scratchDir, sinkName } from './resource-names.js';

test('an egress id is "EG_" and 1 to 61 letters, digits, "_" or "-"', () => {
  for (const id of ['EG_a', 'EG_abc123XYZ', 'EG_a-b_c', `EG_${'x'.repeat(61)}`]) assert.ok(isEgressId(id), id);
  for (const id of [
    '',
    'EG_',
    'abc',
    'eg_abc',
    'not-an-egress',
    `EG_${'x'.repeat(62)}`,
    'EG_a b',
    'EG_a/..',
    'EG_a.b',
  ]) {
    assert.equal(isEgressId(id), false, JSON.stringify(id));
  }
  assert.equal(isEgressId(undefined), false);
  assert.equal(isEgressId(42), false);
});

test('sink and scratch dir are named after the egress, and only such names are recognised as ours', () => {
  assert.equal(sinkName('EG_abc'), 'EG_abc');
  assert.equal(scratchDir('/var/tmp/lk-egress', 'EG_abc'), '/var/tmp/lk-egress/EG_abc');
  assert.equal(egressIdOfSink(sinkName('EG_a-b')), 'EG_a-b');
  assert.equal(egressIdOfScratchDir('EG_a-b'), 'EG_a-b');
  for (const foreign of ['auto_null', 'not-an-egress', 'EG_']) {
    assert.equal(egressIdOfSink(foreign), undefined, foreign);
    assert.equal(egressIdOfScratchDir(foreign), undefined, foreign);
  }
});
