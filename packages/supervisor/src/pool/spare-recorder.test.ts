import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@egress/shared';
import { fakeRecorder } from '../testing/fake-recorders/index.js';
import { RecorderProcess } from './recorder-process.js';
import { SpareRecorder } from './spare-recorder.js';
import { until } from '@egress/shared/testing/wait';

const log = createLogger({ level: 'error', json: true });

test('a spare is booted ahead, handed out once, and replaced; a dead spare is replaced too', async () => {
  const spawned: RecorderProcess[] = [];
  const spare = new SpareRecorder(
    () => {
      const p = new RecorderProcess({ onOutput: () => undefined, entry: fakeRecorder('complete') });
      spawned.push(p);
      return p;
    },
    log,
    50,
  );
  try {
    spare.fill();
    await until(() => spawned.length === 1);
    const first = await spare.take();
    assert.ok(first && !first.hasExited, 'the first take gets a ready child');
    await until(() => spawned.length === 2);
    spawned[1]!.kill('test');
    await until(() => spawned.length === 3);
    const third = await spare.take();
    assert.equal(third, spawned[2], 'the dead spare was replaced and the replacement handed out');
    first.kill('done');
    third!.kill('done');
    await Promise.all([first.exited, third!.exited]);
  } finally {
    spare.close();
    await Promise.all(spawned.map((p) => p.exited));
  }
});
