import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Counter, Registry } from 'prom-client';
import { EgressMetrics, countPulseSinks, mergeMetricsText, startMetricsServer, type MetricsSource } from './metrics.js';

const LABELS = 'node_id="NE_test",cluster_id="c1"';

function stubSource(over: Partial<MetricsSource> = {}): MetricsSource {
  return {
    activeByType: () => ({ web: 2, audio_web: 1 }),
    canAcceptRequest: () => true,
    isDisabled: () => false,
    isTerminating: () => true,
    nodeCpuLoad: () => 0.42,
    procRssBytes: () => 123456789,
    pulseSinks: async () => 3,
    loadRatio: () => ({ cpu: 0.5, memory: 0.25, pulse: 0.05 }),
    ...over,
  };
}

/** The value of the one sample whose name and labels (in any order) match. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test('every upstream metric is exposed with the const labels and the source values', async () => {
  const m = new EgressMetrics(stubSource(), { nodeId: 'NE_test', clusterId: 'c1' });
  m.recordResult('web', 'completed');
  const text = await m.text();
  const base = { node_id: 'NE_test', cluster_id: 'c1' };
  const expect: [string, Record<string, string>, number][] = [
    ['livekit_egress_available', {}, 0],
    ['livekit_egress_can_accept_request', {}, 1],
    ['livekit_egress_is_disabled', {}, 0],
    ['livekit_egress_is_terminating', {}, 1],
    ['livekit_node_cpu_load', { node_type: 'EGRESS' }, 0.42],
    ['livekit_egress_requests', { type: 'web' }, 2],
    ['livekit_egress_requests', { type: 'audio_web' }, 1],
    ['livekit_egress_proc_rss_bytes', {}, 123456789],
    ['livekit_egress_pulse_sinks', {}, 3],
    ['livekit_egress_handler_results_total', { type: 'web', result: 'completed' }, 1],
    ['livekit_load_ratio', { type: 'cpu' }, 0.5],
    ['livekit_load_ratio', { type: 'memory' }, 0.25],
    ['livekit_load_ratio', { type: 'pulse' }, 0.05],
  ];
  for (const [name, labels, value] of expect) {
    assert.equal(sample(text, name, { ...base, ...labels }), value, `${name} ${JSON.stringify(labels)}`);
  }
  assert.match(text, /^# TYPE livekit_egress_handler_results_total counter$/m);
  assert.match(text, /^# TYPE livekit_egress_available gauge$/m);
  assert.ok(text.includes(`livekit_egress_available{${LABELS}} 0`), text);
  assert.ok(sample(text, 'process_cpu_seconds_total', base)! >= 0, 'default process metrics on the same registry');
  assert.ok(sample(text, 'process_resident_memory_bytes', base)! > 0);
  assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
});

test('gauges follow the source at each scrape; a type once seen reports 0; disabled means cannot accept', async () => {
  let active: Record<string, number> = { web: 1 };
  let disabled = false;
  const m = new EgressMetrics(
    stubSource({
      activeByType: () => active,
      isDisabled: () => disabled,
      pulseSinks: async () => {
        throw new Error('pactl gone');
      },
    }),
    { nodeId: 'NE_x', clusterId: '' },
  );
  let text = await m.text();
  assert.equal(sample(text, 'livekit_egress_available', { node_id: 'NE_x', cluster_id: '' }), 0);
  assert.equal(sample(text, 'livekit_egress_pulse_sinks', {}), 0, 'a failing count does not fail the scrape');
  active = {};
  disabled = true;
  text = await m.text();
  assert.equal(sample(text, 'livekit_egress_available', {}), 1);
  assert.equal(sample(text, 'livekit_egress_requests', { type: 'web' }), 0);
  assert.equal(sample(text, 'livekit_egress_is_disabled', {}), 1);
  assert.equal(sample(text, 'livekit_egress_can_accept_request', {}), 0);
});

test('the handler results counter increments per type and result', async () => {
  const m = new EgressMetrics(stubSource(), { nodeId: 'NE_c', clusterId: 'c1' });
  m.recordResult('web', 'completed');
  m.recordResult('web', 'completed');
  m.recordResult('web', 'killed_oom');
  m.recordResult('audio_web', 'completed');
  const text = await m.text();
  const name = 'livekit_egress_handler_results_total';
  assert.equal(sample(text, name, { type: 'web', result: 'completed' }), 2);
  assert.equal(sample(text, name, { type: 'web', result: 'killed_oom' }), 1);
  assert.equal(sample(text, name, { type: 'audio_web', result: 'completed' }), 1);
  assert.equal(sample(text, name, { type: 'web', result: 'aborted' }), undefined);
});

test('two instances do not share a registry (nor use the global one)', async () => {
  const a = new EgressMetrics(stubSource(), { nodeId: 'NE_a', clusterId: '' });
  const b = new EgressMetrics(stubSource(), { nodeId: 'NE_b', clusterId: '' });
  a.recordResult('web', 'aborted');
  assert.equal(sample(await b.text(), 'livekit_egress_handler_results_total', { result: 'aborted' }), undefined);
  assert.equal(sample(await a.text(), 'livekit_egress_handler_results_total', { node_id: 'NE_a' }), 1);
});

test('merge keeps one HELP/TYPE per family and keeps each family contiguous', async () => {
  const childText = async (egressId: string, uploads: number) => {
    const r = new Registry();
    r.setDefaultLabels({ egress_id: egressId });
    new Counter({
      name: 'livekit_egress_pipeline_uploads',
      help: 'uploads',
      labelNames: ['type'] as const,
      registers: [r],
    }).inc({ type: 'file' }, uploads);
    new Counter({ name: 'process_cpu_seconds_total', help: 'cpu', registers: [r] }).inc(7);
    return r.metrics();
  };
  const own = await new EgressMetrics(stubSource(), { nodeId: 'NE_m', clusterId: '' }).text();
  const merged = mergeMetricsText(own, [await childText('EG_1', 1), await childText('EG_2', 5)]);
  for (const fam of ['process_cpu_seconds_total', 'livekit_egress_pipeline_uploads', 'livekit_egress_available']) {
    for (const kind of ['HELP', 'TYPE']) {
      const n = merged.split('\n').filter((l) => l.startsWith(`# ${kind} ${fam} `)).length;
      assert.equal(n, 1, `${kind} ${fam}`);
    }
  }
  assert.equal(sample(merged, 'livekit_egress_pipeline_uploads', { egress_id: 'EG_1', type: 'file' }), 1);
  assert.equal(sample(merged, 'livekit_egress_pipeline_uploads', { egress_id: 'EG_2', type: 'file' }), 5);
  assert.equal(sample(merged, 'process_cpu_seconds_total', { egress_id: 'EG_2' }), 7);
  assert.ok(sample(merged, 'process_cpu_seconds_total', { node_id: 'NE_m' })! >= 0, 'own sample kept');
  // Every sample line sits under its own family's TYPE line.
  let family = '';
  for (const line of merged.split('\n')) {
    const t = /^# TYPE (\S+)/.exec(line);
    if (t) family = t[1]!;
    else if (line && !line.startsWith('#')) assert.ok(line.startsWith(family), `${line} under ${family}`);
  }
  assert.equal(mergeMetricsText(own, []), own);
});

test('merge folds a histogram child into the family its _bucket/_sum/_count belong to', () => {
  const own = '# HELP h latency\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 0.5\nh_count 1\n';
  const child = '# HELP h latency\n# TYPE h histogram\nh_bucket{le="1",e="2"} 2\nh_sum{e="2"} 1\nh_count{e="2"} 2\n';
  const merged = mergeMetricsText(own, [child]);
  assert.equal(
    merged,
    '# HELP h latency\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 0.5\nh_count 1\n' +
      'h_bucket{le="1",e="2"} 2\nh_sum{e="2"} 1\nh_count{e="2"} 2\n',
  );
});

test('the source may hand in children metrics, merged into the scrape', async () => {
  const child = '# HELP livekit_egress_pulse_sinks x\n# TYPE livekit_egress_pulse_sinks gauge\nchild_only_metric 4\n';
  const m = new EgressMetrics(stubSource({ childMetrics: async () => [child] }), { nodeId: 'NE_k', clusterId: '' });
  const text = await m.text();
  assert.equal(sample(text, 'child_only_metric', {}), 4);
  assert.equal(text.split('\n').filter((l) => l.startsWith('# TYPE livekit_egress_pulse_sinks ')).length, 1);
});

test('the HTTP server answers /metrics and / on a free port and closes cleanly', async () => {
  const m = new EgressMetrics(stubSource(), { nodeId: 'NE_h', clusterId: 'c1' });
  const server = await startMetricsServer(0, m);
  try {
    const { port } = server.address() as AddressInfo;
    for (const p of ['/metrics', '/']) {
      const res = await fetch(`http://127.0.0.1:${port}${p}`);
      assert.equal(res.status, 200, p);
      assert.equal(res.headers.get('content-type'), m.contentType);
      const body = await res.text();
      assert.equal(sample(body, 'livekit_egress_pulse_sinks', { node_id: 'NE_h' }), 3);
    }
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  }
  assert.equal(server.listening, false);
});

test('a busy port is reported, not thrown later', async () => {
  const m = new EgressMetrics(stubSource(), { nodeId: 'NE_p', clusterId: '' });
  const first = await startMetricsServer(0, m);
  try {
    const { port } = first.address() as AddressInfo;
    await assert.rejects(startMetricsServer(port, m), /EADDRINUSE/);
  } finally {
    first.close();
  }
});

test('countPulseSinks counts module-null-sink lines, and is 0 when pactl fails or hangs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pactl-'));
  try {
    const fake = path.join(dir, 'pactl');
    fs.writeFileSync(
      fake,
      '#!/bin/sh\nprintf "0\\tmodule-device-restore\\t\\t\\n' +
        '7\\tmodule-null-sink\\tsink_name=EG_a rate=48000\\t\\n' +
        '9\\tmodule-null-sink\\tsink_name=EG_b\\t\\n' +
        '10\\tmodule-null-sink-extra\\t\\t\\n"\n',
      { mode: 0o755 },
    );
    assert.equal(await countPulseSinks({ pactl: fake }), 2);

    const failing = path.join(dir, 'pactl-fail');
    fs.writeFileSync(failing, '#!/bin/sh\necho "Connection failure" >&2\nexit 1\n', { mode: 0o755 });
    assert.equal(await countPulseSinks({ pactl: failing }), 0);

    const hanging = path.join(dir, 'pactl-hang');
    fs.writeFileSync(hanging, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const t0 = Date.now();
    assert.equal(await countPulseSinks({ pactl: hanging, timeoutMs: 200 }), 0);
    assert.ok(Date.now() - t0 < 2000, 'bounded by the timeout');

    assert.equal(await countPulseSinks({ pactl: path.join(dir, 'missing') }), 0);
    const real = await countPulseSinks();
    assert.ok(Number.isInteger(real) && real >= 0, 'the real pactl (or its absence) gives a count');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
