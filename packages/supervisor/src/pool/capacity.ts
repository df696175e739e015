import os from 'node:os';

/** The cpu_cost keys this node knows how to run, with their configured costs. */
export interface CpuCosts {
  max_cpu_utilization: number;
  web_cpu_cost: number;
  audio_web_cpu_cost: number;
}

export type RequestKind = 'web' | 'audio_web';

/**
 * CPU admission as upstream does it: an idle node takes anything it can run; a busy node takes a request
 * only while the configured costs of what it runs leave room under max_cpu_utilization.
 */
export class Capacity {
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly costs: CpuCosts,
    private readonly cpus = os.availableParallelism(),
  ) {}

  costOf(kind: RequestKind): number {
    return kind === 'audio_web' ? this.costs.audio_web_cpu_cost : this.costs.web_cpu_cost;
  }

  /** CPU still free for new work, in cores. */
  available(): number {
    if (this.reserved.size === 0) return this.cpus;
    let used = 0;
    for (const c of this.reserved.values()) used += c;
    return this.cpus * this.costs.max_cpu_utilization - used;
  }

  canAccept(kind: RequestKind): boolean {
    return this.reserved.size === 0 || this.available() >= this.costOf(kind);
  }

  get activeCount(): number {
    return this.reserved.size;
  }

  reserve(egressId: string, kind: RequestKind): void {
    this.reserved.set(egressId, this.costOf(kind));
  }

  release(egressId: string): void {
    this.reserved.delete(egressId);
  }
}
