import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { nullSinkModules } from '@egress/shared/host/pulse';
import { ensurePulseDaemon, loadNullSink } from './pulse.js';

const run = promisify(execFile);
const name = (): string => `EG_pulsetest_${randomBytes(4).toString('hex')}`;

describe('pulse', () => {
  const names: string[] = [];
  before(() => ensurePulseDaemon());
  after(async () => {
    for (const n of names) assert.deepEqual(await nullSinkModules(n), [], `sink ${n} left behind`);
  });

  it('loads a 48 kHz stereo null sink and unloads it idempotently', async () => {
    const n = name();
    names.push(n);
    const sink = await loadNullSink(n);
    assert.equal(sink.sinkName, n);
    assert.equal(sink.monitor, `${n}.monitor`);
    assert.deepEqual(await nullSinkModules(n), [sink.moduleIndex]);
    const { stdout } = await run('pactl', ['list', 'short', 'sinks']);
    assert.match(stdout, new RegExp(`\\t${n}\\tmodule-null-sink\\.c\\ts16le 2ch 48000Hz`));
    await Promise.all([sink.unload(), sink.unload()]);
    await sink.unload();
    assert.deepEqual(await nullSinkModules(n), []);
  });

  it('replaces a sink of the same name left behind by a killed recorder', async () => {
    const n = name();
    names.push(n);
    await loadNullSink(n); // never unloaded: the "killed recorder"
    const logs: string[] = [];
    const sink = await loadNullSink(n, (l) => logs.push(l));
    assert.deepEqual(await nullSinkModules(n), [sink.moduleIndex]);
    assert.ok(logs.some((l) => l.includes('stale sink')));
    await sink.unload();
  });

  it('refuses names that would break module arguments', async () => {
    await assert.rejects(loadNullSink('bad name'), /invalid pulse sink name/);
    await assert.rejects(loadNullSink('a=b'), /invalid pulse sink name/);
  });

  it('ensurePulseDaemon is a no-op when the daemon answers', async () => {
    const logs: string[] = [];
    await ensurePulseDaemon({ log: (l) => logs.push(l) });
    assert.deepEqual(logs, []);
  });
});
