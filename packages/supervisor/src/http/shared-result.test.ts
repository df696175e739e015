import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sleep } from '@egress/shared/testing/wait';
import { countPulseSinks } from './metrics.js';
import { sharedResult } from './shared-result.js';

test('concurrent callers share one pactl run, later ones reuse it until the ttl, then it runs again', async () => {
  // A PATH-style shim standing for pactl that counts its runs, so the test sees how many processes started.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pactl-count-'));
  try {
    const calls = path.join(dir, 'calls');
    const shim = path.join(dir, 'pactl');
    fs.writeFileSync(
      shim,
      `#!/bin/sh\necho x >> '${calls}'\nsleep 0.2\nprintf "7\\tmodule-null-sink\\tsink_name=EG_a\\t\\n"\n`,
      { mode: 0o755 },
    );
    const runs = (): number => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').split('\n').length - 1 : 0);
    const sinks = sharedResult(() => countPulseSinks({ pactl: shim }), 300);

    const counts = await Promise.all(Array.from({ length: 20 }, () => sinks()));
    assert.deepEqual(new Set(counts), new Set([1]));
    assert.equal(runs(), 1, '20 concurrent scrapes, one pactl');
    assert.equal(await sinks(), 1);
    assert.equal(runs(), 1, 'a scrape within the ttl reuses the result');
    await sleep(400);
    assert.equal(await sinks(), 1);
    assert.equal(runs(), 2, 'after the ttl pactl runs again');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed read is not kept', async () => {
  let n = 0;
  const read = sharedResult(async () => {
    n++;
    if (n === 1) throw new Error('first fails');
    return n;
  }, 10_000);
  await assert.rejects(read(), /first fails/);
  assert.equal(await read(), 2);
  assert.equal(await read(), 2);
});
