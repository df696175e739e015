import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { childEnv } from './child-env.js';
import { countClients, listModules, nullSinkModules, nullSinks, pactl, parseModules, unloadModule } from './pulse.js';

// Uses the PulseAudio daemon scripts/test starts (PULSE_SERVER).

test('parses `list short modules`: indexes, names, arguments, null sinks by name', () => {
  const listing =
    '0\tmodule-device-restore\t\t\n' +
    '7\tmodule-null-sink\tsink_name=EG_a rate=48000\t\n' +
    '9\tmodule-null-sink\tsink_name="EG_b"\t\n' +
    '10\tmodule-null-sink-extra\tsink_name=EG_c\t\n' +
    'x\tmodule-null-sink\tsink_name=EG_d\t\n\n';
  const modules = parseModules(listing);
  assert.deepEqual(
    modules.map((m) => m.index),
    [0, 7, 9, 10],
  );
  assert.equal(modules[1]?.args, 'sink_name=EG_a rate=48000');
  assert.deepEqual(nullSinks(modules), [
    { index: 7, sinkName: 'EG_a' },
    { index: 9, sinkName: 'EG_b' },
  ]);
});

test('a null sink loaded in the real daemon is found by name and unloaded', async () => {
  const name = `EG_hostpulse_${randomBytes(4).toString('hex')}`;
  const index = Number((await pactl(['load-module', 'module-null-sink', `sink_name=${name}`])).trim());
  try {
    assert.deepEqual(await nullSinkModules(name), [index]);
    assert.ok((await listModules()).some((m) => m.index === index && m.name === 'module-null-sink'));
  } finally {
    await unloadModule(index);
  }
  assert.deepEqual(await nullSinkModules(name), []);
  await assert.rejects(unloadModule(index), /pactl unload-module/);
});

test('clients are counted without the counting pactl; no daemon is an error naming the command', async () => {
  assert.ok(Number.isInteger(await countClients()));
  const env = childEnv({ PULSE_SERVER: 'unix:/nonexistent/pulse/native' });
  await assert.rejects(pactl(['list', 'short', 'clients'], { env }), /^Error: pactl list short clients: /);
  await assert.rejects(pactl(['info'], { pactl: '/nonexistent/pactl' }), /pactl info: .*ENOENT/);
});
