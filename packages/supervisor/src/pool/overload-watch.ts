import type { CpuCostConfig } from '@egress/shared';
import { fmt } from './capacity.js';

/** Kill threshold unless max_cpu_utilization reaches it (upstream defaultKillThreshold). */
export const DEFAULT_KILL_THRESHOLD = 0.95;
/** Consecutive high ticks before the graceful stop (upstream minKillDuration). */
export const HIGH_TICKS_TO_STOP = 10;
/** Consecutive low ticks that clear the high count (upstream lowCPUResetDuration). */
export const LOW_TICKS_TO_RESET = 5;

export interface OverloadEgress {
  egressId: string;
  /** CPU of its process group over the last tick, in cores. */
  cpu: number;
  /** The configured cost of its kind, in cores. */
  allowedCost: number;
}

export interface OverloadTick {
  /** Fraction of all cores busy over the last tick, 0..1. */
  nodeLoad: number;
  /** Every egress this node runs (admitted ones not yet measured with cpu 0): their count is "requests". */
  egresses: readonly OverloadEgress[];
  /** Clock in ms. */
  now: number;
}

export interface OverloadDecision {
  /** Stop this egress gracefully (EOS, end reason "CPU exhausted", result stopped_cpu). */
  stop?: string;
  /** Kill this egress (its graceful stop did not relieve the node; result killed_cpu). */
  kill?: string;
  /** With stop or kill: why, naming the numbers. */
  reason?: string;
  /** With stop or kill: the egress's CPU this tick, in cores (upstream's `CPU exhausted: %.2f cores used`). */
  cpu?: number;
  /** The load was above the threshold this tick (upstream logs "high cpu usage" then). */
  high: boolean;
}

/**
 * Upstream's sustained-overload rule (`checkCPUKill` in `pkg/stats/monitor.go`) as a state machine fed once per
 * CPU tick. Load above the threshold for 10 consecutive ticks with more than one egress running → stop the egress
 * using the most CPU above its allowed cost. From then on, the first high tick (with more than one egress running)
 * at least cpu_kill_grace_sec after the stop request kills that egress if it still runs. 5 consecutive low ticks
 * clear the high count (but not a pending stop, as upstream); the stopped egress leaving clears the pending stop.
 */
export class OverloadWatch {
  readonly threshold: number;
  private readonly graceMs: number;
  private highTicks = 0;
  private lowTicks = 0;
  private stopping: { egressId: string; at: number } | undefined;

  constructor(costs: Pick<CpuCostConfig, 'max_cpu_utilization' | 'cpu_kill_grace_sec'>) {
    this.threshold =
      DEFAULT_KILL_THRESHOLD <= costs.max_cpu_utilization
        ? (1 + costs.max_cpu_utilization) / 2
        : DEFAULT_KILL_THRESHOLD;
    this.graceMs = costs.cpu_kill_grace_sec * 1000;
  }

  /** The egress a graceful stop was requested for and not yet resolved, if any. */
  get pendingStop(): string | undefined {
    return this.stopping?.egressId;
  }

  tick({ nodeLoad, egresses, now }: OverloadTick): OverloadDecision {
    if (this.stopping && !egresses.some((e) => e.egressId === this.stopping?.egressId)) this.stopping = undefined;

    if (nodeLoad <= this.threshold) {
      this.lowTicks++;
      if (this.lowTicks >= LOW_TICKS_TO_RESET) this.highTicks = 0;
      return { high: false };
    }
    this.lowTicks = 0;
    if (egresses.length <= 1) return { high: true };

    const load = `node CPU load ${fmt(nodeLoad)} above ${fmt(this.threshold)}`;
    if (!this.stopping) {
      this.highTicks++;
      const heaviest = heaviestOverCost(egresses);
      if (this.highTicks < HIGH_TICKS_TO_STOP || !heaviest) return { high: true };
      this.stopping = { egressId: heaviest.egressId, at: now };
      this.highTicks = 0;
      return {
        high: true,
        stop: heaviest.egressId,
        cpu: heaviest.cpu,
        reason:
          `CPU exhausted: ${load} for ${HIGH_TICKS_TO_STOP} ticks; ${heaviest.egressId} uses ` +
          `${fmt(heaviest.cpu)} cores (allowed ${fmt(heaviest.allowedCost)})`,
      };
    }

    const elapsedMs = now - this.stopping.at;
    if (elapsedMs < this.graceMs) return { high: true };
    const id = this.stopping.egressId;
    const target = egresses.find((e) => e.egressId === id);
    this.stopping = undefined;
    const cpu = target?.cpu ?? 0;
    return {
      high: true,
      kill: id,
      cpu,
      reason:
        `CPU exhausted: ${load} ${fmt(elapsedMs / 1000)} s after the graceful stop of ${id} ` +
        `(cpu_kill_grace_sec ${fmt(this.graceMs / 1000)}); it uses ${fmt(cpu)} cores`,
    };
  }
}

/** The egress with the highest CPU among those above their allowed cost (first wins a tie). */
function heaviestOverCost(egresses: readonly OverloadEgress[]): OverloadEgress | undefined {
  let best: OverloadEgress | undefined;
  for (const e of egresses) if (e.cpu > e.allowedCost && e.cpu > (best?.cpu ?? 0)) best = e;
  return best;
}
