import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CpuCostConfig } from '@egress/shared';
import { Capacity, CPU_HOLD_MS, REQUEST_KINDS, usesChrome } from './capacity.js';

/** Upstream code defaults (schema.ts DEFAULT_CPU_COST), spelled out so every number below is visible. */
const costs: CpuCostConfig = {
  max_cpu_utilization: 0.8,
  room_composite_cpu_cost: 4,
  audio_room_composite_cpu_cost: 1,
  sdk_audio_room_composite_cpu_cost: 1,
  sdk_audio_room_composite_memory_cost: 0,
  web_cpu_cost: 4,
  audio_web_cpu_cost: 1,
  participant_cpu_cost: 2,
  track_composite_cpu_cost: 1,
  track_cpu_cost: 0.5,
  max_memory: 0,
  memory_cost: 0,
  max_pulse_clients: 60,
  memory_source: 'proc_rss',
  memory_kill_grace_sec: 0,
  cpu_kill_grace_sec: 30,
};
const GB = 1024 ** 3;
const t0 = 1_000_000;

describe('Capacity: CPU', () => {
  test('an idle node accepts a request costlier than its cores', () => {
    const c = new Capacity(costs, 2);
    assert.equal(c.canAccept('web'), true);
    assert.equal(c.available(), 2);
    assert.equal(c.explainReject('room_composite'), undefined);
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

  test('each kind costs what cpu_cost says', () => {
    const c = new Capacity(
      {
        ...costs,
        room_composite_cpu_cost: 3.5,
        audio_room_composite_cpu_cost: 1.25,
        sdk_audio_room_composite_cpu_cost: 0.75,
        web_cpu_cost: 3,
        audio_web_cpu_cost: 0.9,
        participant_cpu_cost: 2.5,
        track_composite_cpu_cost: 1.5,
        track_cpu_cost: 0.3,
      },
      4,
    );
    assert.deepEqual(Object.fromEntries(REQUEST_KINDS.map((k) => [k, c.costOf(k)])), {
      room_composite: 3.5,
      audio_room_composite: 1.25,
      sdk_audio_room_composite: 0.75,
      web: 3,
      audio_web: 0.9,
      participant: 2.5,
      track_composite: 1.5,
      track: 0.3,
    });
    assert.deepEqual(
      REQUEST_KINDS.filter((k) => usesChrome(k)),
      ['room_composite', 'audio_room_composite', 'web', 'audio_web'],
    );
  });

  test('the idle exception ends with the first admission, and the wording names the numbers', () => {
    const c = new Capacity(costs, 2);
    c.reserve('EG_a', 'audio_web', t0);
    assert.equal(c.available(t0), 1.6 - 1);
    assert.equal(c.canAccept('web', t0), false);
    assert.equal(c.explainReject('web', t0), 'not enough CPU: 0.6 of 1.6 cores free, web needs 4');
    assert.equal(c.canAccept('track', t0), true); // 0.5 ≤ 0.6
    // after the hold, with nothing measured, the node is still busy: 1.6, not 2
    assert.equal(c.available(t0 + CPU_HOLD_MS), 1.6);
    assert.equal(c.explainReject('web', t0 + CPU_HOLD_MS), 'not enough CPU: 1.6 of 1.6 cores free, web needs 4');
    assert.equal(c.release('EG_a'), true);
    assert.equal(c.available(t0), 2);
    assert.equal(c.canAccept('web', t0), true);
  });

  test('a reservation holds its cost for 15 s, then the measured CPU alone counts', () => {
    const c = new Capacity(costs, 8); // ceiling 6.4
    c.reserve('EG_a', 'web', t0);
    c.updateMeasured('EG_a', 1.5);
    assert.equal(c.available(t0 + 1000), 6.4 - 4); // max(4, 1.5)
    assert.equal(c.available(t0 + 14_999), 6.4 - 4);
    assert.equal(c.available(t0 + 15_000), 6.4 - 1.5);
    c.updateMeasured('EG_a', 5); // measured above the cost counts even inside the hold
    assert.equal(c.available(t0 + 1000), 6.4 - 5);
    c.reserve('EG_b', 'participant', t0 + 10_000);
    // at t0+20s: EG_a measured 5 (hold over), EG_b still held at 2 with 0.5 measured
    c.updateMeasured('EG_b', 0.5);
    assert.equal(c.available(t0 + 20_000), 6.4 - (5 + 2));
    assert.equal(c.available(t0 + 25_000), 6.4 - (5 + 0.5));
    assert.equal(
      c.explainReject('track_composite', t0 + 20_000),
      'not enough CPU: -0.6 of 6.4 cores free, track_composite needs 1',
    );
  });

  test('estimated_cpu > 0 replaces the configured cost', () => {
    const c = new Capacity(costs, 8);
    c.reserve('EG_a', 'web', t0); // 2.4 free
    assert.equal(c.canAccept('audio_web', t0), true);
    assert.equal(c.canAccept('audio_web', t0, { estimatedCpu: 3 }), false);
    assert.equal(
      c.explainReject('audio_web', t0, { estimatedCpu: 3 }),
      'not enough CPU: 2.4 of 6.4 cores free, audio_web needs 3 (estimated_cpu)',
    );
    assert.equal(c.canAccept('web', t0, { estimatedCpu: 2 }), true);
    assert.equal(c.canAccept('web', t0, { estimatedCpu: 0 }), false);
  });

  test('egresses() lists allowed cost and measured CPU; ids are unique', () => {
    const c = new Capacity(costs, 8);
    c.reserve('EG_a', 'web', t0);
    c.reserve('EG_b', 'track', t0);
    c.updateMeasured('EG_a', 4.5);
    c.updateMeasured('EG_unknown', 3);
    assert.deepEqual(c.egresses(), [
      { egressId: 'EG_a', kind: 'web', allowedCost: 4, cpu: 4.5 },
      { egressId: 'EG_b', kind: 'track', allowedCost: 0.5, cpu: 0 },
    ]);
    assert.throws(() => c.reserve('EG_a', 'web', t0), /already admitted/);
    assert.equal(c.release('EG_unknown'), false);
    assert.equal(c.activeCount, 2);
  });
});

describe('Capacity: PulseAudio clients', () => {
  test('a Chrome start needs clients + 4 ≤ max_pulse_clients, even on an idle node', () => {
    const c = new Capacity(costs, 72);
    c.updatePulseClients(56);
    assert.equal(c.canAccept('web', t0), true); // 56 + 4 = 60
    c.updatePulseClients(58);
    assert.equal(c.canAccept('web', t0), false);
    assert.equal(c.explainReject('web', t0), 'pulse clients: 58 + 4 would exceed max_pulse_clients 60');
    assert.equal(c.canAccept('room_composite', t0), false);
    assert.equal(c.canAccept('audio_room_composite', t0), false);
    assert.equal(c.canAccept('audio_web', t0), false);
    for (const k of ['sdk_audio_room_composite', 'participant', 'track_composite', 'track'] as const) {
      assert.equal(c.canAccept(k, t0), true, k);
    }
  });

  test('Chrome starts within 15 s hold 4 clients each', () => {
    const c = new Capacity(costs, 64);
    c.updatePulseClients(48);
    c.reserve('EG_a', 'web', t0);
    c.reserve('EG_b', 'audio_web', t0 + 1000);
    c.reserve('EG_c', 'track', t0 + 1000); // no Chrome, holds no clients
    assert.equal(c.canAccept('web', t0 + 2000), true); // 48 + 8 + 4 = 60
    c.reserve('EG_d', 'room_composite', t0 + 2000);
    assert.equal(
      c.explainReject('web', t0 + 3000),
      'pulse clients: 48 + 12 pending + 4 would exceed max_pulse_clients 60',
    );
    // EG_a's hold ends at t0+15s: 48 + 8 + 4
    assert.equal(c.canAccept('web', t0 + 15_000), true);
    c.release('EG_b');
    assert.equal(c.explainReject('web', t0 + 3000), undefined); // 48 + 8 + 4
  });
});

describe('Capacity: memory', () => {
  const mem = { ...costs, max_memory: 8, memory_cost: 1, sdk_audio_room_composite_memory_cost: 0.25 };

  test('used + pending + memory_cost + 1 GB headroom reaching max_memory rejects', () => {
    const c = new Capacity(mem, 16);
    c.updateMemory(5 * GB);
    assert.equal(c.canAccept('track', t0), true); // 5 + 0 + 1 + 1 = 7 < 8
    c.reserve('EG_a', 'track', t0);
    assert.equal(c.canAccept('track', t0 + 1000), false); // 5 + 1 + 1 + 1 = 8
    assert.equal(
      c.explainReject('track', t0 + 1000),
      'memory: 5 GB used + 1 GB pending + 1 GB for track + 1 GB headroom would reach max_memory 8 GB',
    );
    assert.equal(c.canAccept('sdk_audio_room_composite', t0 + 1000), true); // 5 + 1 + 0.25 + 1 = 7.25
    assert.equal(c.canAccept('track', t0 + CPU_HOLD_MS), true); // pending released
    c.updateMemory(6.5 * GB);
    assert.equal(
      c.explainReject('web', t0 + CPU_HOLD_MS),
      'memory: 6.5 GB used + 0 GB pending + 1 GB for web + 1 GB headroom would reach max_memory 8 GB',
    );
  });

  test('max_memory 0 disables memory admission', () => {
    const c = new Capacity({ ...costs, memory_cost: 4 }, 16);
    c.updateMemory(1000 * GB);
    assert.equal(c.canAccept('web', t0), true);
  });

  test('checks run in upstream order: memory, then pulse clients, then CPU', () => {
    const c = new Capacity(mem, 2);
    c.reserve('EG_a', 'audio_web', t0);
    c.updateMemory(7 * GB);
    c.updatePulseClients(60);
    assert.match(c.explainReject('web', t0 + CPU_HOLD_MS) ?? '', /^memory: /);
    c.updateMemory(0);
    assert.match(c.explainReject('web', t0 + CPU_HOLD_MS) ?? '', /^pulse clients: /);
    c.updatePulseClients(0);
    assert.match(c.explainReject('web', t0 + CPU_HOLD_MS) ?? '', /^not enough CPU: /);
  });
});

describe('Capacity: loadRatio', () => {
  test('node load over max_cpu_utilization, memory over max_memory, clients over max_pulse_clients', () => {
    const c = new Capacity({ ...costs, max_memory: 8 }, 4);
    assert.deepEqual(c.loadRatio(), { cpu: 0, memory: 0, pulse: 0 });
    c.updateNodeLoad(0.4);
    c.updateMemory(2 * GB);
    c.updatePulseClients(15);
    assert.deepEqual(c.loadRatio(), { cpu: 0.5, memory: 0.25, pulse: 0.25 });
    c.updateNodeLoad(0.9);
    c.updateMemory(12 * GB);
    c.updatePulseClients(75);
    assert.deepEqual(c.loadRatio(), { cpu: 1, memory: 1, pulse: 1 });
  });

  test('memory ratio is 0 when max_memory is 0', () => {
    const c = new Capacity(costs, 4);
    c.updateMemory(3 * GB);
    assert.equal(c.loadRatio().memory, 0);
  });
});
