import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OverloadWatch, type OverloadDecision, type OverloadEgress } from './overload-watch.js';

const conf = { max_cpu_utilization: 0.8, cpu_kill_grace_sec: 30 };
const t0 = 1_000_000;

/** A is the heaviest in cores but under its cost; B and C are over theirs, B by more CPU. */
const three: OverloadEgress[] = [
  { egressId: 'EG_a', cpu: 6, allowedCost: 8 },
  { egressId: 'EG_b', cpu: 5, allowedCost: 4 },
  { egressId: 'EG_c', cpu: 1.5, allowedCost: 1 },
];

/** Feeds `loads` one tick a second starting at `start`; returns every decision. */
function run(w: OverloadWatch, loads: number[], egresses: OverloadEgress[], start: number): OverloadDecision[] {
  return loads.map((nodeLoad, i) => w.tick({ nodeLoad, egresses, now: start + i * 1000 }));
}

const acted = (ds: OverloadDecision[]) => ds.filter((d) => d.stop || d.kill);
const times = (n: number, v: number) => Array<number>(n).fill(v);

describe('OverloadWatch', () => {
  test('kill threshold is 0.95, or halfway to 1 when max_cpu_utilization reaches it', () => {
    assert.equal(new OverloadWatch(conf).threshold, 0.95);
    assert.equal(new OverloadWatch({ ...conf, max_cpu_utilization: 0.94 }).threshold, 0.95);
    assert.equal(new OverloadWatch({ ...conf, max_cpu_utilization: 0.95 }).threshold, 0.975);
    assert.equal(new OverloadWatch({ ...conf, max_cpu_utilization: 1 }).threshold, 1);
  });

  test('10 high ticks stop the egress with the highest CPU above its allowed cost', () => {
    const w = new OverloadWatch(conf);
    const ds = run(w, times(10, 0.97), three, t0);
    assert.deepEqual(acted(ds.slice(0, 9)), []);
    assert.ok(ds.every((d) => d.high));
    assert.deepEqual(ds[9], {
      high: true,
      stop: 'EG_b',
      cpu: 5,
      reason: 'CPU exhausted: node CPU load 0.97 above 0.95 for 10 ticks; EG_b uses 5 cores (allowed 4)',
    });
    assert.equal(w.pendingStop, 'EG_b');
  });

  test('a load equal to the threshold is a low tick', () => {
    const w = new OverloadWatch(conf);
    assert.deepEqual(acted(run(w, times(20, 0.95), three, t0)), []);
    assert.equal(w.tick({ nodeLoad: 0.95, egresses: three, now: t0 }).high, false);
  });

  test('5 consecutive low ticks reset the count; 4 do not', () => {
    const w = new OverloadWatch(conf);
    const reset = run(w, [...times(9, 0.99), ...times(5, 0.5), ...times(9, 0.99)], three, t0);
    assert.deepEqual(acted(reset), []);
    assert.equal(w.tick({ nodeLoad: 0.99, egresses: three, now: t0 + 23_000 }).stop, 'EG_b'); // 10th since reset

    const w2 = new OverloadWatch(conf);
    const ds = run(w2, [...times(9, 0.99), ...times(4, 0.5), 0.99], three, t0);
    assert.deepEqual(
      acted(ds).map((d) => d.stop),
      ['EG_b'],
    );
    assert.equal(ds.length - 1, ds.indexOf(acted(ds)[0]!)); // on the 10th high tick, after only 4 low ones
  });

  test('still high cpu_kill_grace_sec after the stop → kill that egress', () => {
    const w = new OverloadWatch(conf);
    const first = run(w, times(10, 0.97), three, t0); // stop at t0+9s
    assert.equal(first[9]?.stop, 'EG_b');
    const stopAt = t0 + 9000;
    const during = run(w, times(29, 0.98), three, stopAt + 1000); // up to stopAt+29s
    assert.deepEqual(acted(during), []);
    const heavier = three.map((e) => (e.egressId === 'EG_b' ? { ...e, cpu: 5.25 } : e));
    const kill = w.tick({ nodeLoad: 0.98, egresses: heavier, now: stopAt + 30_000 });
    assert.deepEqual(kill, {
      high: true,
      kill: 'EG_b',
      cpu: 5.25,
      reason:
        'CPU exhausted: node CPU load 0.98 above 0.95 30 s after the graceful stop of EG_b ' +
        '(cpu_kill_grace_sec 30); it uses 5.25 cores',
    });
    assert.equal(w.pendingStop, undefined);
    // the count restarts from zero after the kill
    assert.deepEqual(acted(run(w, times(9, 0.98), heavier, stopAt + 31_000)), []);
    assert.equal(w.tick({ nodeLoad: 0.98, egresses: heavier, now: stopAt + 40_000 }).stop, 'EG_b');
  });

  test('the kill waits for a high tick, and low ticks do not cancel a pending stop', () => {
    const w = new OverloadWatch(conf);
    run(w, times(10, 0.97), three, t0);
    const stopAt = t0 + 9000;
    assert.deepEqual(acted(run(w, times(40, 0.5), three, stopAt + 1000)), []);
    assert.equal(w.pendingStop, 'EG_b');
    assert.equal(w.tick({ nodeLoad: 0.97, egresses: three, now: stopAt + 41_000 }).kill, 'EG_b');
  });

  test('no kill when the stopped egress has ended', () => {
    const w = new OverloadWatch(conf);
    run(w, times(10, 0.97), three, t0);
    const rest = three.filter((e) => e.egressId !== 'EG_b');
    assert.deepEqual(w.tick({ nodeLoad: 0.97, egresses: rest, now: t0 + 10_000 }), { high: true });
    assert.equal(w.pendingStop, undefined);
    // past EG_b's grace: nothing to kill; the count restarted at the stop, so the 10th high tick stops EG_c
    const ds = run(w, times(35, 0.97), rest, t0 + 11_000); // until t0+45s
    assert.deepEqual(
      acted(ds).map((d) => d.kill ?? d.stop),
      ['EG_c'],
    );
    assert.equal(
      ds.findIndex((d) => d.stop),
      8,
    );
  });

  test('a single egress is never stopped, and single-egress ticks do not count', () => {
    const w = new OverloadWatch(conf);
    const one = [{ egressId: 'EG_a', cpu: 8, allowedCost: 4 }];
    const ds = run(w, times(100, 1), one, t0);
    assert.deepEqual(acted(ds), []);
    assert.ok(ds.every((d) => d.high));
    const two = [...one, { egressId: 'EG_b', cpu: 0.1, allowedCost: 1 }];
    assert.deepEqual(acted(run(w, times(9, 1), two, t0 + 100_000)), []);
    assert.equal(w.tick({ nodeLoad: 1, egresses: two, now: t0 + 109_000 }).stop, 'EG_a');
  });

  test('nothing above its allowed cost → no stop until one is, then at once', () => {
    const w = new OverloadWatch(conf);
    const within = [
      { egressId: 'EG_a', cpu: 3.9, allowedCost: 4 },
      { egressId: 'EG_b', cpu: 1, allowedCost: 1 },
    ];
    assert.deepEqual(acted(run(w, times(15, 0.99), within, t0)), []);
    const over = [within[0]!, { egressId: 'EG_b', cpu: 1.2, allowedCost: 1 }];
    const d = w.tick({ nodeLoad: 0.99, egresses: over, now: t0 + 15_000 });
    assert.equal(d.stop, 'EG_b');
    assert.equal(
      d.reason,
      'CPU exhausted: node CPU load 0.99 above 0.95 for 10 ticks; EG_b uses 1.2 cores (allowed 1)',
    );
  });
});
