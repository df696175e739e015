import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { countPulseClients } from './pulse-clients.js';
import { sleep } from '@egress/shared/testing/wait';

// Uses the PulseAudio daemon scripts/test starts (PULSE_SERVER).
test('live PulseAudio clients are counted, without the counting pactl itself', async () => {
  const before = await countPulseClients();
  assert.equal(typeof before, 'number', 'pactl answers');
  const holder = spawn('pactl', ['subscribe'], { stdio: 'ignore' });
  try {
    let during: number | undefined;
    for (let i = 0; i < 50 && during !== before! + 1; i++) {
      await sleep(100);
      during = await countPulseClients();
    }
    assert.equal(during, before! + 1, 'a connected client is counted');
  } finally {
    holder.kill('SIGKILL');
    await once(holder, 'exit');
  }
  let after: number | undefined;
  for (let i = 0; i < 50 && after !== before; i++) {
    after = await countPulseClients();
    if (after !== before) await sleep(100);
  }
  assert.equal(after, before, 'a disconnected client is not');
});

test('no daemon: undefined, so the caller keeps its last count', async () => {
  const saved = process.env.PULSE_SERVER;
  process.env.PULSE_SERVER = 'unix:/nonexistent/pulse/native';
  try {
    assert.equal(await countPulseClients(), undefined);
  } finally {
    if (saved === undefined) delete process.env.PULSE_SERVER;
    else process.env.PULSE_SERVER = saved;
  }
});
