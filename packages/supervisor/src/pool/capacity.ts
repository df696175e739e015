import os from 'node:os';
import { REQUEST_KINDS, type CpuCostConfig, type RequestKind } from '@egress/shared';

export { REQUEST_KINDS, type RequestKind };

/** How long an admission's configured cost holds before measured CPU alone counts (upstream cpuHoldDuration). */
export const CPU_HOLD_MS = 15_000;
/** PulseAudio clients held per Chrome start still inside the hold (upstream pulseClientHold). */
export const PULSE_CLIENTS_PER_CHROME = 4;
/** Memory admission keeps this much free beyond the request's memory_cost (upstream memoryHeadroomGB). */
export const MEMORY_HEADROOM_GB = 1;

const GB = 1024 ** 3;

/**
 * Kinds that launch Chrome and so use PulseAudio clients: web sources and template room composites, audio-only or
 * not. An audio-only room composite with no layout and no custom_base_url runs on the SDK (`sdk_audio_room_composite`).
 */
const CHROME_KINDS: ReadonlySet<RequestKind> = new Set<RequestKind>([
  'room_composite',
  'audio_room_composite',
  'web',
  'audio_web',
]);

export function usesChrome(kind: RequestKind): boolean {
  return CHROME_KINDS.has(kind);
}

export interface AdmitOptions {
  /** `estimated_cpu` from the request: when > 0 it replaces the configured cost in the CPU check. */
  estimatedCpu?: number;
}

/** One admitted egress as OverloadWatch wants it. */
export interface EgressLoad {
  egressId: string;
  kind: RequestKind;
  /** The configured cost of its kind: measured CPU above this makes it a candidate for the overload stop. */
  allowedCost: number;
  /** Last measured CPU of its process group, in cores (0 until the first updateMeasured). */
  cpu: number;
}

export interface LoadRatio {
  /** Node CPU load over max_cpu_utilization. */
  cpu: number;
  /** Measured memory over max_memory (0 when max_memory is 0). */
  memory: number;
  /** Live PulseAudio clients over max_pulse_clients. */
  pulse: number;
}

interface Admitted {
  kind: RequestKind;
  cpuCost: number;
  memoryCostGB: number;
  chrome: boolean;
  admittedAt: number;
  measured: number;
}

/**
 * Upstream admission (`pkg/stats/monitor.go`), without timers or /proc: the owner feeds measured inputs each tick
 * (`updateMeasured`, `updatePulseClients`, `updateMemory`, `updateNodeLoad`) and passes `now` (ms) to the
 * time-dependent calls.
 *
 * - CPU: an idle node (nothing admitted) offers all its cores and takes any request, even one costlier than its
 *   cores. Otherwise `available = cores × max_cpu_utilization − Σ max(cost while within 15 s of admission, measured
 *   CPU)`, and a request needs `available ≥ cost` (or its `estimated_cpu` when > 0).
 * - PulseAudio (Chrome kinds): `clients + 4 × Chrome starts within 15 s + 4 ≤ max_pulse_clients`.
 * - Memory (when max_memory > 0): `used + Σ memory_cost within 15 s + memory_cost + 1 GB ≥ max_memory` rejects.
 */
export class Capacity {
  private readonly admitted = new Map<string, Admitted>();
  private pulseClients = 0;
  private memoryUsedBytes = 0;
  private nodeLoad = 0;

  constructor(
    private readonly costs: Readonly<CpuCostConfig>,
    readonly cores = os.availableParallelism(),
  ) {}

  /** The configured CPU cost of a kind, in cores. */
  costOf(kind: RequestKind): number {
    // Every kind has a `<kind>_cpu_cost` key, as in upstream's config.
    return this.costs[`${kind}_cpu_cost`];
  }

  /** The configured memory cost of a kind, in GB. */
  memoryCostOf(kind: RequestKind): number {
    return kind === 'sdk_audio_room_composite'
      ? this.costs.sdk_audio_room_composite_memory_cost
      : this.costs.memory_cost;
  }

  // ---- measured inputs ----

  /** CPU of the egress's process group over the last tick, in cores. Unknown ids are ignored. */
  updateMeasured(egressId: string, cores: number): void {
    const a = this.admitted.get(egressId);
    if (a) a.measured = Math.max(0, cores);
  }

  /** Live PulseAudio client count. */
  updatePulseClients(n: number): void {
    this.pulseClients = Math.max(0, n);
  }

  /** Memory in use as max_memory counts it (summed RSS of the recorders, or the cgroup's usage), in bytes. */
  updateMemory(usedBytes: number): void {
    this.memoryUsedBytes = Math.max(0, usedBytes);
  }

  /** Fraction of all cores busy, 0..1 (CpuMonitor.nodeLoad); only loadRatio uses it. */
  updateNodeLoad(load: number): void {
    this.nodeLoad = Math.max(0, load);
  }

  // ---- admission ----

  /** CPU still free for new work, in cores: all cores when idle, else the ceiling minus what admitted work holds. */
  available(now = Date.now()): number {
    if (this.admitted.size === 0) return this.cores;
    return this.ceiling() - this.committed(now);
  }

  canAccept(kind: RequestKind, now = Date.now(), opts: AdmitOptions = {}): boolean {
    return this.explainReject(kind, now, opts) === undefined;
  }

  /**
   * Why `kind` would be refused now, in one line naming the resource and the numbers; undefined if it fits.
   * Checked in upstream's order: memory, PulseAudio, CPU.
   */
  explainReject(kind: RequestKind, now = Date.now(), opts: AdmitOptions = {}): string | undefined {
    const c = this.costs;
    if (c.max_memory > 0) {
      const used = this.memoryUsedBytes / GB;
      const pending = this.pendingMemoryGB(now);
      const cost = this.memoryCostOf(kind);
      if (used + pending + cost + MEMORY_HEADROOM_GB >= c.max_memory) {
        return (
          `memory: ${fmt(used)} GB used + ${fmt(pending)} GB pending + ${fmt(cost)} GB for ${kind} + ` +
          `${MEMORY_HEADROOM_GB} GB headroom would reach max_memory ${fmt(c.max_memory)} GB`
        );
      }
    }
    if (usesChrome(kind)) {
      const pending = PULSE_CLIENTS_PER_CHROME * this.pendingChromeStarts(now);
      if (this.pulseClients + pending + PULSE_CLIENTS_PER_CHROME > c.max_pulse_clients) {
        const held = pending > 0 ? ` + ${pending} pending` : '';
        return (
          `pulse clients: ${this.pulseClients}${held} + ${PULSE_CLIENTS_PER_CHROME} ` +
          `would exceed max_pulse_clients ${c.max_pulse_clients}`
        );
      }
    }
    if (this.admitted.size === 0) return undefined; // idle: take anything (see the class comment)
    const estimated = opts.estimatedCpu ?? 0;
    const required = estimated > 0 ? estimated : this.costOf(kind);
    const available = this.available(now);
    if (available >= required) return undefined;
    return (
      `not enough CPU: ${fmt(available)} of ${fmt(this.ceiling())} cores free, ` +
      `${kind} needs ${fmt(required)}${estimated > 0 ? ' (estimated_cpu)' : ''}`
    );
  }

  /**
   * Admits `egressId`: its configured cost (and memory cost, and for Chrome kinds 4 PulseAudio clients) is held for
   * 15 s from `now`. Does not check; call canAccept first. Throws if the id is already admitted.
   */
  reserve(egressId: string, kind: RequestKind, now = Date.now()): void {
    if (this.admitted.has(egressId)) throw new Error(`egress ${egressId} is already admitted`);
    this.admitted.set(egressId, {
      kind,
      cpuCost: this.costOf(kind),
      memoryCostGB: this.memoryCostOf(kind),
      chrome: usesChrome(kind),
      admittedAt: now,
      measured: 0,
    });
  }

  /** Forgets an egress (ended, aborted or failed to start). Returns whether it was admitted. */
  release(egressId: string): boolean {
    return this.admitted.delete(egressId);
  }

  get activeCount(): number {
    return this.admitted.size;
  }

  /** Every admitted egress with its allowed cost and last measured CPU (the input OverloadWatch.tick wants). */
  egresses(): EgressLoad[] {
    return [...this.admitted].map(([egressId, a]) => ({
      egressId,
      kind: a.kind,
      allowedCost: a.cpuCost,
      cpu: a.measured,
    }));
  }

  /** Utilisation per resource for `livekit_load_ratio{type}`, each clamped to 0..1 (upstream lets it pass 1). */
  loadRatio(): LoadRatio {
    const c = this.costs;
    return {
      cpu: clamp01(c.max_cpu_utilization > 0 ? this.nodeLoad / c.max_cpu_utilization : 0),
      memory: clamp01(c.max_memory > 0 ? this.memoryUsedBytes / GB / c.max_memory : 0),
      pulse: clamp01(c.max_pulse_clients > 0 ? this.pulseClients / c.max_pulse_clients : 0),
    };
  }

  // ---- internals ----

  private ceiling(): number {
    return this.cores * this.costs.max_cpu_utilization;
  }

  private held(a: Admitted, now: number): boolean {
    return now - a.admittedAt < CPU_HOLD_MS;
  }

  /** Σ over admitted egresses of max(cost while held, measured). */
  private committed(now: number): number {
    let sum = 0;
    for (const a of this.admitted.values()) sum += Math.max(this.held(a, now) ? a.cpuCost : 0, a.measured);
    return sum;
  }

  private pendingChromeStarts(now: number): number {
    let n = 0;
    for (const a of this.admitted.values()) if (a.chrome && this.held(a, now)) n++;
    return n;
  }

  private pendingMemoryGB(now: number): number {
    let sum = 0;
    for (const a of this.admitted.values()) if (this.held(a, now)) sum += a.memoryCostGB;
    return sum;
  }
}

/** At most two decimals, no trailing zeros: 1.6, 0.25, 4. */
export function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

function clamp01(n: number): number {
  return n < 0 ? 0 : n > 1 ? 1 : n;
}
